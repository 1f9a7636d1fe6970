"""A node process logs structlog JSON to stderr, one line per event, with the node id bound
(in a host of several nodes, each line carries the id of the node it is about).

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


def configure_logging(node_id: str | None, *, level: int = logging.INFO) -> None:
    """JSON logs for a node process; ``node_id`` is bound process-wide for a process of one node
    (a host of several binds each node's id in that node's own context, ``nodes.host``)."""
    configure_json_logging(level=level, **({} if node_id is None else {"node": node_id}))
    logging.getLogger("aiohttp.server").addFilter(_ParserRejection())
