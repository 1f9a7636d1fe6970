"""Access control of the sharing interface (SPEC §4, §7.2.2): accounts bound to an IP, day
tokens, and a per-account rate limit. ``Access`` is what the HTTP layer asks."""

from nodes.access.guard import Access
from nodes.access.ratelimit import RateLimiter

__all__ = ("Access", "RateLimiter")
