"""Typed application keys: the collaborators the app is created with."""

from __future__ import annotations

from aiohttp import web

from nodes.call import Resolver
from nodes.context import NodeContext
from nodes.metrics import NodeMetrics
from nodes.relay import FileRelay

CONTEXT = web.AppKey("ecert.context", NodeContext)
RESOLVER: web.AppKey[Resolver] = web.AppKey("ecert.resolver")
FILE_RELAY = web.AppKey("ecert.file_relay", FileRelay)
METRICS = web.AppKey("ecert.metrics", NodeMetrics)
