"""A node process logs structlog JSON to stderr, one line per event, with the node id bound.

What aiohttp's parser refuses is answered and logged by ``nodes.http.listener`` (one line, no
traceback), so nothing of aiohttp's own error logging needs reshaping here.
"""

from __future__ import annotations

import logging

from gateway.core.logs import configure_json_logging


def configure_logging(node_id: str, *, level: int = logging.INFO) -> None:
    configure_json_logging(level=level, node=node_id)
