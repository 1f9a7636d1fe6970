"""Per-link keys: what proves a call or an exchange message comes from a neighbour node.

A peer account (``peer-<node>``) is bound to the neighbour's address, and an application on that
same address could ask for its token. So every forwarded call also carries
``X-Ecert-Link-Signature``: HMAC-SHA256, under the key that only the two ends of the link hold,
over the method, the trace headers as sent and a digest of the body. Only a call that verifies is
a peer's: trace headers trusted, rate limits skipped, the lighter parameter checks.

Exchange messages (catalog batches, types, acknowledgements, anomalies) are signed the same way
(``sign_message``): the JSON object gets three last members, ``"link_from"`` (the signer's node
id), ``"body_sha256"`` (hex SHA-256 of the object as it was before these three were added) and
``"link_sig"``: HMAC-SHA256 under the link's key over the topic, the signer and that digest. The
broker is not trusted: a message that does not verify is never applied (``open_message``).

Keys are derived by the launcher from one network secret (``link_key``) and handed to each node
for its own links only, in a 0600 file; a node never sees the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

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


# the members a signed exchange message ends with; a node id never needs escaping in JSON
_TRAILER = re.compile(
    rb'(,?)"link_from":"([A-Za-z0-9_-]{1,64})","body_sha256":"([0-9a-f]{64})",'
    rb'"link_sig":"([0-9a-f]{64})"}\Z'
)
_TRAILER_MAX = 256  # bytes: longer than any trailer


def link_mac(key: bytes, head: str, fields: Sequence[str], body_digest: bytes) -> str:
    """HMAC-SHA256 over ``head``, each of ``fields`` and the body's SHA-256, one per line: the
    one signature of the links, for HTTP calls and exchange messages alike."""
    mac = hmac.new(key, head.encode(), hashlib.sha256)
    for value in fields:
        mac.update(b"\n" + value.encode())
    mac.update(b"\n" + body_digest)
    return mac.hexdigest()


def sign(key: bytes, method: str, headers: Mapping[str, str], body: bytes) -> str:
    """The signature of one call as sent: ``method``, the SIGNED_HEADERS' values, the body."""
    fields = [headers.get(name, "") for name in SIGNED_HEADERS]
    return link_mac(key, method, fields, hashlib.sha256(body).digest())


def verify(key: bytes, method: str, headers: Mapping[str, str], body: bytes) -> bool:
    given = headers.get(HEADER_LINK_SIGNATURE, "")
    return bool(given) and hmac.compare_digest(given, sign(key, method, headers, body))


# -- exchange messages ----------------------------------------------------------------------------


class LinkSignatureError(ValueError):
    """An exchange message that is unsigned, or not signed by a neighbour with its link's key."""

    def __init__(self, reason: str, *, link_from: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.link_from = link_from


@dataclass(frozen=True, slots=True)
class OpenedMessage:
    link_from: str  # the neighbour whose key signed it
    body_sha256: str  # hex digest of the message as it was signed (without the trailer)


def sign_message(key: bytes, topic: str, sender: str, body: bytes) -> bytes:
    """``body`` (a JSON object) with the signature members of ``sender`` appended."""
    if not body.endswith(b"}"):
        raise ValueError("only a JSON object can be signed")
    digest = hashlib.sha256(body)
    signature = link_mac(key, topic, [sender], digest.digest())
    trailer = b'"link_from":"%s","body_sha256":"%s","link_sig":"%s"}' % (
        sender.encode(),
        digest.hexdigest().encode(),
        signature.encode(),
    )
    return body[:-1] + (trailer if body.rstrip(b"{} \t\r\n") == b"" else b"," + trailer)


def open_message(keys: LinkKeys, topic: str, body: bytes) -> OpenedMessage:
    """Check an exchange message's signature; LinkSignatureError says why it fails."""
    tail_at = max(0, len(body) - _TRAILER_MAX)  # only the tail is searched: cheap on big bodies
    found = _TRAILER.search(body, tail_at)
    if found is None:
        raise LinkSignatureError("unsigned")
    link_from = found.group(2).decode()
    key = keys.get(link_from)
    if key is None:
        raise LinkSignatureError("signed by no neighbour", link_from=link_from)
    digest = hashlib.sha256(memoryview(body)[: found.start()])
    digest.update(b"}")
    if not hmac.compare_digest(digest.hexdigest().encode(), found.group(3)):
        raise LinkSignatureError("body does not match its digest", link_from=link_from)
    expected = link_mac(key, topic, [link_from], digest.digest())
    if not hmac.compare_digest(expected.encode(), found.group(4)):
        raise LinkSignatureError("wrong signature", link_from=link_from)
    return OpenedMessage(link_from, digest.hexdigest())
