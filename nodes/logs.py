"""A node process logs structlog JSON to stderr, one line per event, with the node id bound."""

from __future__ import annotations

import logging

from gateway.core.logs import configure_json_logging


def configure_logging(node_id: str, *, level: int = logging.INFO) -> None:
    configure_json_logging(level=level, node=node_id)
