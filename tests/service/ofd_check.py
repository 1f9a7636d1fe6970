"""An OFD seal check written from the standards, independent of the product's code: it reads
the package with zipfile and ElementTree, hashes with OpenSSL's SM3 (hashlib), decodes
SignedValue.dat with pyasn1's generic DER decoder and verifies the SM2 signature with GmSSL
(gmssl-pyx) and with the pure-Python ``gmssl`` package — two SM2 implementations, neither the
product's module."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from xml.etree import ElementTree as ET

from gmssl import sm2 as pure_sm2
from gmssl_pyx import sm2_verify
from pyasn1.codec.der.decoder import decode
from pyasn1.error import PyAsn1Error

NS = {"ofd": "http://www.ofdspec.org/2016"}
SM3_OID = "1.2.156.10197.1.401"


class CheckFailed(Exception):
    pass


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def entries(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def with_byte_flipped(package: bytes, name: str, where: int | bytes) -> bytes:
    """The package again, one bit of one byte of entry ``name`` flipped: at offset ``where``, or
    in the last byte of the first occurrence of ``where`` (bytes)."""
    files = entries(package)
    data = bytearray(files[name])
    offset = where if isinstance(where, int) else data.index(where) + len(where) - 1
    data[offset % len(data)] ^= 0x01
    files[name] = bytes(data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, content in files.items():
            archive.writestr(entry, content)
    return buffer.getvalue()


def first_element(der: bytes) -> bytes:
    """The raw bytes (tag, length, value) of the first element inside a DER SEQUENCE."""

    def header(at: int) -> tuple[int, int]:  # (offset of the value, its length)
        first = der[at + 1]
        if first < 0x80:
            return at + 2, first
        count = first & 0x7F
        return at + 2 + count, int.from_bytes(der[at + 2 : at + 2 + count], "big")

    inner, _ = header(0)
    start, length = header(inner)
    return der[inner : start + length]


def r_s_hex(signature: bytes) -> str:
    """A DER SM2 signature as gmssl's r || s hex."""
    decoded, _ = decode(signature)
    return f"{int(decoded[0]):064x}{int(decoded[1]):064x}"


def check_seal(package: bytes, public_key: bytes) -> list[str]:
    """The protected files' names when the seal holds for ``public_key``; CheckFailed if not."""
    try:
        return _check(package, public_key)
    except (ET.ParseError, KeyError, PyAsn1Error, ValueError, IndexError, TypeError) as exc:
        raise CheckFailed(f"unreadable: {exc!r}") from exc


def _check(package: bytes, public_key: bytes) -> list[str]:
    files = entries(package)
    ofd = ET.fromstring(files["OFD.xml"])
    signatures_path = ofd.findtext("ofd:DocBody/ofd:Signatures", namespaces=NS)
    if not signatures_path:
        raise CheckFailed("OFD.xml names no Signatures")
    signatures = ET.fromstring(files[signatures_path.lstrip("/")])
    signature_path = signatures.find("ofd:Signature", NS).get("BaseLoc").lstrip("/")  # type: ignore[union-attr]
    signature_xml = files[signature_path]
    signature = ET.fromstring(signature_xml)
    references = signature.find("ofd:SignedInfo/ofd:References", NS)
    if references is None or references.get("CheckMethod") != SM3_OID:
        raise CheckFailed("References are not checked with SM3")
    protected = []
    for reference in references.findall("ofd:Reference", NS):
        name = reference.get("FileRef", "").lstrip("/")
        check_value = base64.b64decode(reference.findtext("ofd:CheckValue", "", NS))
        if sm3(files[name]) != check_value:
            raise CheckFailed(f"the SM3 digest of {name} does not match")
        protected.append(name)
    signed_value = files[signature.findtext("ofd:SignedValue", "", NS).lstrip("/")]
    ses, _ = decode(signed_value)
    to_sign, cert, algorithm, value = ses[0], ses[1], ses[2], ses[3]
    if str(algorithm) != "1.2.156.10197.1.501" or bytes(cert) != b"\x04" + public_key:
        raise CheckFailed("not an SM2-with-SM3 signature by this public key")
    if to_sign[3].asOctets() != sm3(signature_xml):
        raise CheckFailed("dataHash is not the SM3 of Signature.xml")
    signed, sig = first_element(signed_value), value.asOctets()
    by_gmssl = bool(sm2_verify(public_key, signed, sig))
    by_pure = pure_sm2.CryptSM2(private_key="", public_key=public_key.hex()).verify_with_sm3(
        r_s_hex(sig), signed
    )
    if not (by_gmssl and by_pure):
        raise CheckFailed(f"the SM2 signature does not verify ({by_gmssl=}, {by_pure=})")
    return protected
