"""Typed application keys."""

from __future__ import annotations

from aiohttp import web

from nodes.context import NodeContext, Resolver

CONTEXT = web.AppKey("ecert.context", NodeContext)
RESOLVER: web.AppKey[Resolver] = web.AppKey("ecert.resolver")
