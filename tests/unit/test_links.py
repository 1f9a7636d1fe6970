"""Link signatures: only the two ends of a link can sign a call or an exchange message; anything
changed fails."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import orjson
import pytest

from gateway.core.links import (
    HEADER_LINK_SIGNATURE,
    LinkSignatureError,
    OpenedMessage,
    keys_of,
    link_key,
    open_message,
    sign,
    sign_message,
    verify,
)

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


# -- exchange messages ---------------------------------------------------------------------------

TOPIC = "ecert/demo/ack/hlj-harbin"


def test_a_signed_message_stays_a_json_object_and_names_its_signer() -> None:
    key = link_key(SECRET, "hlj", "hlj-harbin")
    body = b'{"cd_batch":"hlj-harbin-1","anomalies":0}'
    message = sign_message(key, TOPIC, "hlj", body)
    payload = orjson.loads(message)
    assert payload["cd_batch"] == "hlj-harbin-1"
    assert payload["link_from"] == "hlj"
    assert payload["body_sha256"] == hashlib.sha256(body).hexdigest()
    opened = open_message({"hlj": key}, TOPIC, message)
    assert opened == OpenedMessage("hlj", hashlib.sha256(body).hexdigest())
    empty = sign_message(key, TOPIC, "hlj", b"{}")
    assert open_message({"hlj": key}, TOPIC, empty).body_sha256 == hashlib.sha256(b"{}").hexdigest()


@pytest.mark.parametrize(
    ("keys", "topic", "change", "reason"),
    [
        ({"hlj": b"k" * 32}, TOPIC, lambda m: m, "wrong signature"),  # another key
        (None, "ecert/demo/ack/hlj-qiqihar", lambda m: m, "wrong signature"),  # another topic
        (None, TOPIC, lambda m: m.replace(b'"anomalies":0', b'"anomalies":9'), "body does not"),
        (None, TOPIC, lambda m: m.replace(b'"link_from":"hlj"', b'"link_from":"jl"'), "no neigh"),
        (None, TOPIC, lambda m: b'{"cd_batch":"hlj-harbin-1","anomalies":0}', "unsigned"),
        (None, TOPIC, lambda m: m + b" ", "unsigned"),
    ],
)
def test_a_message_changed_or_signed_by_another_fails(
    keys: dict[str, bytes] | None, topic: str, change: Callable[[bytes], bytes], reason: str
) -> None:
    key = link_key(SECRET, "hlj", "hlj-harbin")
    message = change(sign_message(key, TOPIC, "hlj", b'{"cd_batch":"hlj-harbin-1","anomalies":0}'))
    with pytest.raises(LinkSignatureError, match=reason):
        open_message(keys or {"hlj": key}, topic, message)
