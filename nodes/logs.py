"""A node process logs structlog JSON to stderr, one line per event, with the node id bound
(in a host of several nodes, each line carries the id of the node it is about).

What aiohttp's parser refuses is answered and logged by ``nodes.http.listener`` (one line, no
traceback), so nothing of aiohttp's own error logging needs reshaping here.
"""

from __future__ import annotations

import logging

from gateway.core.logs import configure_json_logging


def configure_logging(node_id: str | None, *, level: int = logging.INFO) -> None:
    """JSON logs for a node process; ``node_id`` is bound process-wide for a process of one node
    (a host of several binds each node's id in that node's own context, ``nodes.host``)."""
    configure_json_logging(level=level, **({} if node_id is None else {"node": node_id}))
