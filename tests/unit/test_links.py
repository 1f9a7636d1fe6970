"""Link signatures: only the two ends of a link can sign a call; anything changed fails."""

from __future__ import annotations

from gateway.core.links import HEADER_LINK_SIGNATURE, keys_of, link_key, sign, verify

SECRET = bytes(range(32))
HEADERS = {
    "X-Ecert-Request-Id": "r1",
    "X-Ecert-Route": "hlj-harbin,hlj",
    "X-Ecert-Hops": "6",
    "X-Ecert-Deadline-Ms": "2800",
    "X-Ecert-Caller": "app@127.0.9.1",
}


def signed(key: bytes, headers: dict[str, str], body: bytes) -> dict[str, str]:
    return {**headers, HEADER_LINK_SIGNATURE: sign(key, "Retrieval", headers, body)}


def test_both_ends_derive_the_same_key_and_other_links_differ() -> None:
    assert link_key(SECRET, "hlj", "national") == link_key(SECRET, "national", "hlj")
    assert link_key(SECRET, "hlj", "national") != link_key(SECRET, "hlj", "hlj-harbin")
    assert keys_of(SECRET, "hlj", ["national"]) == {"national": link_key(SECRET, "national", "hlj")}


def test_a_signed_call_verifies_and_any_change_fails() -> None:
    key, body = link_key(SECRET, "hlj", "national"), b'{"UseFor":"x"}'
    headers = signed(key, HEADERS, body)
    assert verify(key, "Retrieval", headers, body)
    assert not verify(key, "Retrieval", headers, body + b" ")
    assert not verify(key, "GetCertificateType", headers, body)
    assert not verify(key, "Retrieval", {**headers, "X-Ecert-Hops": "64"}, body)
    assert not verify(key, "Retrieval", {**headers, "X-Ecert-Caller": "forged"}, body)
    assert not verify(link_key(SECRET, "hlj", "jl"), "Retrieval", headers, body)
    assert not verify(key, "Retrieval", HEADERS, body)  # no signature at all
