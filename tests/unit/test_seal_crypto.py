"""SM2 over SM3 as the standards define it, and the canonical data a seal signs (README
"Seals"): the product's signatures verify with other SM2 implementations, and the canonical
bytes are what the documented serialisation writes."""

from __future__ import annotations

import json

import pytest
from gmssl import sm2 as pure_sm2
from gmssl_pyx import sm2_sign, sm2_verify
from pyasn1.codec.der.decoder import decode

from nodes.seals import sm2
from nodes.seals.canonical import SIGNED_ITEMS, canonical_data
from tests.service.certs import make_certificate

MESSAGE = '电子证照 1.2.156.3005.2 {"a":1}'.encode()


def r_s_hex(signature: bytes) -> str:
    decoded, _ = decode(signature)
    return f"{int(decoded[0]):064x}{int(decoded[1]):064x}"


def test_a_signature_verifies_with_gmssl_and_with_pure_python_gmssl() -> None:
    public_key, private_key = sm2.generate_key_pair()
    signature = sm2.sign(private_key, public_key, MESSAGE)
    assert sm2_verify(public_key, MESSAGE, signature)  # GmSSL's own Z (ID 1234567812345678)
    pure = pure_sm2.CryptSM2(private_key="", public_key=public_key.hex())
    assert pure.verify_with_sm3(r_s_hex(signature), MESSAGE)
    assert sm2.verify(public_key, MESSAGE, sm2_sign(private_key, public_key, MESSAGE))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda key, msg, sig: (key, msg + b" ", sig),
        lambda key, msg, sig: (sm2.generate_key_pair()[0], msg, sig),
        lambda key, msg, sig: (key, msg, sig[:-1] + bytes([sig[-1] ^ 1])),
        lambda key, msg, sig: (key, msg, b""),
        lambda key, msg, sig: (key[:10], msg, sig),
        lambda key, msg, sig: (key, msg, b"not DER"),
    ],
)
def test_anything_changed_fails_verification_without_raising(tamper: object) -> None:
    public_key, private_key = sm2.generate_key_pair()
    signature = sm2.sign(private_key, public_key, MESSAGE)
    assert sm2.verify(*tamper(public_key, MESSAGE, signature)) is False  # type: ignore[operator]


def test_canonical_data_is_sorted_compact_utf8_json_of_the_fixed_items() -> None:
    record = make_certificate(5).to_record()
    record["CertificateSealID"] = "ES112301007700000159" + "01"
    record["SomethingNew"] = "not signed"
    expected = json.dumps(
        {name: record[name] for name in SIGNED_ITEMS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert canonical_data(record) == expected
    assert "居民身份证".encode() in expected  # UTF-8, not \\u escapes
    assert len(SIGNED_ITEMS) == 16 + 3 + 3  # B.1, B.2, surface, detail, CertificateSealID


def test_a_missing_item_counts_as_empty() -> None:
    record = make_certificate(6).to_record()
    del record["RelatedItemName"], record["detail"]
    assert b'"RelatedItemName":""' in canonical_data(record)
    assert b'"detail":[]' in canonical_data(record)


def test_a_failed_verification_prints_nothing_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """GmSSL's C code reports a failed verification on file descriptor 2: a node's JSON log."""
    public_key, private_key = sm2.generate_key_pair()
    signature = sm2.sign(private_key, public_key, MESSAGE)
    assert sm2.verify(public_key, MESSAGE + b"!", signature) is False
    assert sm2_verify(public_key, MESSAGE + b"!", signature) is False  # the library, as is...
    assert "GmSSL" in capfd.readouterr().err  # ...prints
    assert sm2.verify(public_key, MESSAGE + b"!", signature) is False
    assert capfd.readouterr().err == ""
