"""Structured logs for every process of a network: structlog JSON lines on stderr.

Libraries that log through the standard library (aiohttp's server, amqtt, paho via aiomqtt) and
Python warnings go through the same renderer, so a process's log is JSON from its first line to
its last; a traceback is one ``exception`` field of one line, never lines of its own.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

# what stdlib records get before rendering: the same fields as structlog's own events
_FOREIGN: tuple[Any, ...] = (
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
)


def configure_json_logging(*, level: int = logging.INFO, **bound: str) -> None:
    """structlog and the standard library render JSON lines to stderr; ``bound`` (e.g. the node
    id) is in every line of this process. Library records below WARNING are dropped."""
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=list(_FOREIGN),
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(**bound)
