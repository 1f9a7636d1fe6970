"""Waiting on a condition in a test: poll until it holds, fail naming it after a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, *, within: float, every: float = 0.05
) -> None:
    """Poll ``check`` every ``every`` seconds until it holds; AssertionError naming ``what``
    after ``within`` seconds (the deadline bounds the wait, never decides the outcome)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(every)
