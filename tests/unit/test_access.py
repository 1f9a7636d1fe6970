"""Pieces of access control that need no socket: the token bucket and address comparison."""

from __future__ import annotations

from nodes.access.guard import same_ip
from nodes.access.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refuses_then_refills() -> None:
    time = FakeTime()
    limiter = RateLimiter(monotonic=time)
    assert [limiter.allow("a", 5) for _ in range(6)] == [True] * 5 + [False]
    time.now += 0.2  # one request's worth at 5/s
    assert limiter.allow("a", 5)
    assert not limiter.allow("a", 5)
    assert limiter.allow("b", 5)  # buckets are per account


def test_a_slow_rate_still_allows_one_request() -> None:
    time = FakeTime()
    limiter = RateLimiter(monotonic=time)
    assert limiter.allow("a", 0.5)
    assert not limiter.allow("a", 0.5)
    time.now += 2
    assert limiter.allow("a", 0.5)


def test_same_ip_understands_ipv4_mapped_addresses() -> None:
    assert same_ip("127.0.2.5", "127.0.2.5")
    assert same_ip("127.0.2.5", "::ffff:127.0.2.5")
    assert not same_ip("127.0.2.5", "127.0.2.6")
    assert not same_ip("127.0.2.5", "")
