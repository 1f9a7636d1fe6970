"""SM2 signatures with SM3 (GB/T 32918.2, GM/T 0009-2012): the only module importing gmssl-pyx.

Chosen by measurement on these machines (2 cores, Python 3.11): gmssl-pyx 2.1.0 (a binding to the
GmSSL C library, manylinux wheels on PyPI) verifies in ~0.5 ms and signs an SM3 digest in
~0.5 ms; pure-Python gmssl 3.2.2 signs in ~8 ms and verifies in ~12.7 ms.

The signed digest is ``e = SM3(Z || M)`` with ``Z = SM3(ENTL || ID || a || b || xG || yG || xA ||
yA)`` and the standard default ID ``1234567812345678``: computed here with OpenSSL's SM3
(``hashlib``), then signed with ``sm2_sign_sm3_digest`` (gmssl-pyx's own ``sm2_sign`` computes the
same Z but took ~6 ms a signature here). Signatures are DER ``SEQUENCE {r, s}``; public keys the
64 bytes ``x || y``, private keys 32 bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

from gmssl_pyx import GmsslInnerError, sm2_key_generate, sm2_sign_sm3_digest, sm2_verify_sm3_digest

from nodes.errors import SealError

DEFAULT_ID = b"1234567812345678"
# The SM2 curve parameters (GB/T 32918.5): a, b and the base point G.
_CURVE = bytes.fromhex(
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)
PUBLIC_KEY_BYTES, PRIVATE_KEY_BYTES = 64, 32


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def z_value(public_key: bytes, signer_id: bytes = DEFAULT_ID) -> bytes:
    """Z_A of GB/T 32918.2 §5.5 for this public key and signer ID."""
    entl = (len(signer_id) * 8).to_bytes(2, "big")
    return sm3(entl + signer_id + _CURVE + public_key)


def digest(public_key: bytes, message: bytes) -> bytes:
    """``e = SM3(Z_A || M)``: what an SM2 signature of ``message`` signs."""
    return sm3(z_value(public_key) + message)


def generate_key_pair() -> tuple[bytes, bytes]:
    """(public key, private key)."""
    try:
        public_key, private_key = sm2_key_generate()
    except GmsslInnerError as exc:
        raise SealError(f"cannot generate an SM2 key pair: {exc}") from exc
    return public_key, private_key


def sign(private_key: bytes, public_key: bytes, message: bytes) -> bytes:
    """The DER SM2 signature of ``message`` (SM3 with Z_A of ``public_key``)."""
    try:
        signature: bytes = sm2_sign_sm3_digest(private_key, digest(public_key, message))
    except GmsslInnerError as exc:
        raise SealError(f"cannot sign: {exc}") from exc
    return signature


@contextmanager
def _c_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 points at /dev/null for the block: GmSSL's C code prints two bare lines
    to stderr for every signature that does not verify, and a node's stderr is its JSON log.
    The event loop's thread is the only one that logs, and it is busy here (~10 µs)."""
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is the SM2 signature of ``message`` by ``public_key``'s owner;
    False for any malformed key or signature."""
    if len(public_key) != PUBLIC_KEY_BYTES or not signature:
        return False
    try:
        with _c_stderr_silenced():
            return bool(sm2_verify_sm3_digest(public_key, digest(public_key, message), signature))
    except GmsslInnerError:
        return False
