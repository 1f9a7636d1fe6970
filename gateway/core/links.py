"""Per-link keys: what proves a call (and, later, a catalog message) comes from a neighbour node.

A peer account (``peer-<node>``) is bound to the neighbour's address, and an application on that
same address could ask for its token. So every forwarded call also carries
``X-Ecert-Link-Signature``: HMAC-SHA256, under the key that only the two ends of the link hold,
over the method, the trace headers as sent and a digest of the body. Only a call that verifies is
a peer's: trace headers trusted, rate limits skipped, the lighter parameter checks.

Keys are derived by the launcher from one network secret (``link_key``) and handed to each node
for its own links only, in a 0600 file; a node never sees the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

from gateway.core.protocol import (
    HEADER_CALLER,
    HEADER_DEADLINE_MS,
    HEADER_HOPS,
    HEADER_REQUEST_ID,
    HEADER_ROUTE,
)

HEADER_LINK_SIGNATURE = "X-Ecert-Link-Signature"
# the trace headers a signature covers, in this order
SIGNED_HEADERS = (HEADER_REQUEST_ID, HEADER_ROUTE, HEADER_HOPS, HEADER_DEADLINE_MS, HEADER_CALLER)
LinkKeys = Mapping[str, bytes]  # neighbour id → key


def link_key(secret: bytes, a: str, b: str) -> bytes:
    """The key of the link between nodes ``a`` and ``b`` (either order)."""
    low, high = sorted((a, b))
    return hmac.new(secret, f"ecert-link|{low}|{high}".encode(), hashlib.sha256).digest()


def keys_of(secret: bytes, node_id: str, neighbours: Iterable[str]) -> dict[str, bytes]:
    return {other: link_key(secret, node_id, other) for other in neighbours}


def sign(key: bytes, method: str, headers: Mapping[str, str], body: bytes) -> str:
    """The signature of one call as sent: ``method``, the SIGNED_HEADERS' values, the body."""
    mac = hmac.new(key, method.encode(), hashlib.sha256)
    for name in SIGNED_HEADERS:
        mac.update(b"\n" + headers.get(name, "").encode())
    mac.update(b"\n" + hashlib.sha256(body).digest())
    return mac.hexdigest()


def verify(key: bytes, method: str, headers: Mapping[str, str], body: bytes) -> bool:
    given = headers.get(HEADER_LINK_SIGNATURE, "")
    return bool(given) and hmac.compare_digest(given, sign(key, method, headers, body))
