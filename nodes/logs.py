"""A node process logs structlog JSON to stderr, one line per event, with the node id bound.

aiohttp logs every request its parser refuses (a 10 KB path, a bad chunk, a broken header) as an
error with a traceback; those are the caller's faults, answered 400, so they are kept as one
warning line naming the reason instead.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

from gateway.core.logs import configure_json_logging


class _ParserRejection(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.exc_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "request.rejected_by_parser: %s", (error.message,)
        return True


def configure_logging(node_id: str, *, level: int = logging.INFO) -> None:
    configure_json_logging(level=level, node=node_id)
    logging.getLogger("aiohttp.server").addFilter(_ParserRejection())
