"""QR verification tokens (§8.4.2 on-site checks): what a QR code on a handed-out file carries.

A token names one certificate version and commits to its data, so any node can check it by
looking the certificate up by ID along the cascade (SPEC §5) and comparing:

    token  = base32(RFC 4648, upper case, no padding) of
             FORMAT (1 byte, 0x01) | digest (10 bytes) | CertificateID (ASCII) | check (4 bytes)
    digest = SM3 of the canonical data, first 10 bytes
    check  = SM3 of everything before it, first 4 bytes

The canonical data is the eleven CertificateData keys of Table 11 (``CANONICAL_KEYS``), one
``key=value`` line each in that order, values as the data item gives them (dates
``YYYY-MM-DD``, an empty end date for 长期), joined by ``\\n`` and encoded UTF-8. The check
catches a mistyped or altered token before any lookup (one changed character always changes it);
the digest catches data that is not the certificate's (a token made for other data); the lookup
itself answers whether the certificate exists and is current. The token needs no key: it proves
nothing by itself, the owning node's answer does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nodes.model.identifiers import parse_certificate_id
from nodes.sharing.items import DATA_ITEM_SOURCES

FORMAT = 1
DIGEST_BYTES = 10
CHECK_BYTES = 4
MAX_TOKEN_CHARS = 400  # a CertificateID is at most ~120 characters; anything longer is not one
CANONICAL_KEYS: tuple[str, ...] = tuple(key for key, _ in DATA_ITEM_SOURCES)  # Table 11's 11 keys


class TokenInvalid(ValueError):
    """The token is not one: not base32, wrong format or length, or its check fails."""


@dataclass(frozen=True, slots=True)
class QrToken:
    certificate_id: str
    digest: bytes  # DIGEST_BYTES of SM3 over the canonical data


def _sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def canonical_data(item: Mapping[str, Any]) -> bytes:
    """The canonical data of a data item (Table 8) or CertificateData (Table 11)."""
    lines = []
    for key in CANONICAL_KEYS:
        value = item.get(key)
        lines.append(f"{key}={'' if value is None else value}")
    return "\n".join(lines).encode()


def data_digest(item: Mapping[str, Any]) -> bytes:
    return _sm3(canonical_data(item))[:DIGEST_BYTES]


def make_token(certificate_id: str, item: Mapping[str, Any]) -> str:
    """The token of the certificate ``certificate_id`` whose data item is ``item``."""
    body = bytes([FORMAT]) + data_digest(item) + certificate_id.encode("ascii")
    raw = body + _sm3(body)[:CHECK_BYTES]
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def read_token(text: str) -> QrToken:
    """The certificate and digest a token names; TokenInvalid says why it is not a token."""
    token = text.strip().upper()
    if not token:
        raise TokenInvalid("the token is empty")
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenInvalid(f"the token is longer than {MAX_TOKEN_CHARS} characters")
    try:
        raw = base64.b32decode(token + "=" * (-len(token) % 8))
    except (binascii.Error, ValueError):
        raise TokenInvalid("the token is not base32 (A-Z, 2-7)") from None
    if base64.b32encode(raw).decode("ascii").rstrip("=") != token:  # unused bits of the last one
        raise TokenInvalid("the token's check does not match: it was altered or mistyped")
    if len(raw) <= 1 + DIGEST_BYTES + CHECK_BYTES or raw[0] != FORMAT:
        raise TokenInvalid("the token is not a format-1 verification token")
    body, check = raw[:-CHECK_BYTES], raw[-CHECK_BYTES:]
    if not hmac.compare_digest(_sm3(body)[:CHECK_BYTES], check):
        raise TokenInvalid("the token's check does not match: it was altered or mistyped")
    try:
        certificate_id = body[1 + DIGEST_BYTES :].decode("ascii")
        parse_certificate_id(certificate_id)
    except ValueError as exc:
        raise TokenInvalid(f"the token names no valid CertificateID: {exc}") from None
    return QrToken(certificate_id, body[1 : 1 + DIGEST_BYTES])
