"""Per-account token buckets kept in memory (return code 16 when empty)."""

from __future__ import annotations

import time
from collections.abc import Callable

BURST_SECONDS = 1.0  # a bucket holds this many seconds' worth of requests
MAX_BUCKETS = 100_000  # beyond this many callers the buckets start afresh (memory stays bounded)


class RateLimiter:
    """``allow(account_id, rate)`` takes one token from the account's bucket if it has one."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic):
        self._monotonic = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # account -> (tokens, last refill)

    def allow(self, account_id: str, rate: float) -> bool:
        capacity = max(1.0, rate * BURST_SECONDS)
        now = self._monotonic()
        if len(self._buckets) >= MAX_BUCKETS and account_id not in self._buckets:
            self._buckets.clear()
        tokens, last = self._buckets.get(account_id, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[account_id] = (tokens, now)
            return False
        self._buckets[account_id] = (tokens - 1.0, now)
        return True

    def forget(self, account_id: str) -> None:
        self._buckets.pop(account_id, None)
