"""Outbound HTTP: the one place that creates aiohttp client sessions.

The forwarder pools one session per node process (source address = the node's own host, so IP-bound
tokens at the neighbour see the right peer); the CLI and launcher use short-lived ones.
"""

from __future__ import annotations

import aiohttp

from gateway.protocol import loads


def client_session(
    *,
    local_host: str | None = None,
    limit: int = 256,
    total_timeout: float | None = None,
) -> aiohttp.ClientSession:
    """A pooled keep-alive session; ``local_host`` binds the source address of every connection."""
    connector = aiohttp.TCPConnector(
        limit=limit,
        limit_per_host=limit,
        local_addr=(local_host, 0) if local_host else None,
        keepalive_timeout=60,
        enable_cleanup_closed=False,
    )
    timeout = aiohttp.ClientTimeout(total=total_timeout)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, raise_for_status=False)


async def read_json(response: aiohttp.ClientResponse) -> object:
    return loads(await response.read())
