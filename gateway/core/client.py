"""Outbound HTTP: the one place that creates aiohttp client sessions.

The forwarder pools one session per node process (source address = the node's own host, so IP-bound
tokens at the neighbour see the right peer); the CLI and launcher use short-lived ones.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import aiohttp

from gateway.core.protocol import loads


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


class SessionOwner:
    """Base of the clients that hold one pooled session for the span of an ``async with``.

    A subclass says how to open its session (``_open_session``); a session handed in before
    ``__aenter__`` (shared between clients) is used and left open.
    """

    _session: aiohttp.ClientSession | None = None
    _owned = False

    def _open_session(self) -> aiohttp.ClientSession:
        raise NotImplementedError

    def _not_open(self) -> Exception:
        return RuntimeError(f"use {type(self).__name__} as an async context manager")

    async def __aenter__(self) -> Self:
        if self._session is None:
            self._session, self._owned = self._open_session(), True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._owned and self._session is not None:
            await self._session.close()
            self._session, self._owned = None, False

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise self._not_open()
        return self._session
