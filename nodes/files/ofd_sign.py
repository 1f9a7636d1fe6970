"""The seal signature of an OFD package (GB/T 33190 §18, GB/T 38540 practice).

``sign_package`` adds::

    Doc_0/Signs/Signatures.xml        MaxSignId and one Signature (Type "Seal", BaseLoc)
    Doc_0/Signs/Sign_0/Signature.xml  SignedInfo: Provider, SignatureMethod (SM2 with SM3,
                                      1.2.156.10197.1.501), SignatureDateTime, References
                                      (CheckMethod SM3, 1.2.156.10197.1.401: one Reference per
                                      protected file, its CheckValue the base64 SM3 digest of
                                      the file's bytes), StampAnnot (the seal's place on the
                                      page); then SignedValue, the path of SignedValue.dat
    Doc_0/Signs/Sign_0/SignedValue.dat  a DER SES_Signature (``nodes.files.ses``): the seal
                                      with its picture, ``dataHash`` = SM3(Signature.xml), and
                                      the SM2 signature of the DER of its ``toSign``

Protected are all files of the package outside ``Doc_0/Signs/``. To check a package: recompute
each Reference's SM3 digest, SM3 of Signature.xml against ``dataHash``, and verify ``signature``
over ``toSign`` with the seal's public key (default signer ID 1234567812345678). One changed
byte in any protected file, in Signature.xml or in the signed part of SignedValue.dat fails it.
"""

from __future__ import annotations

import base64
import hashlib
from xml.etree import ElementTree as ET

from nodes.files.layout import Block, stamp_box
from nodes.files.ofd_xml import OFD_NS, num, sub, tree_bytes
from nodes.files.ses import SM2_WITH_SM3, ses_signature
from nodes.files.stamp import stamp_png
from nodes.model.certificate import CertificateCopy
from nodes.seals.signing import SigningKey

SM3_OID = "1.2.156.10197.1.401"
SIGNS = "Doc_0/Signs"
SIGNATURES = f"{SIGNS}/Signatures.xml"
SIGNATURE = f"{SIGNS}/Sign_0/Signature.xml"
SIGNED_VALUE = f"{SIGNS}/Sign_0/SignedValue.dat"
PROVIDER, PROVIDER_VERSION = "ecert-cascade", "0.1.0"


def _sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def signatures_xml() -> bytes:
    root = ET.Element(f"{{{OFD_NS}}}Signatures")
    sub(root, "MaxSignId", "1")
    sub(root, "Signature", ID="1", Type="Seal", BaseLoc=f"/{SIGNATURE}")
    return tree_bytes(root)


def signature_xml(
    protected: dict[str, bytes], page_id: int, stamp_id: int, box: tuple[float, ...], when: str
) -> bytes:
    root = ET.Element(f"{{{OFD_NS}}}Signature")
    info = sub(root, "SignedInfo")
    sub(info, "Provider", ProviderName=PROVIDER, Version=PROVIDER_VERSION)
    sub(info, "SignatureMethod", SM2_WITH_SM3)
    sub(info, "SignatureDateTime", when)
    references = sub(info, "References", CheckMethod=SM3_OID)
    for path, data in sorted(protected.items()):
        reference = sub(references, "Reference", FileRef=f"/{path}")
        sub(reference, "CheckValue", base64.b64encode(_sm3(data)).decode("ascii"))
    boundary = " ".join(num(v) for v in box)
    sub(info, "StampAnnot", ID=str(stamp_id), PageRef=str(page_id), Boundary=boundary)
    sub(root, "SignedValue", f"/{SIGNED_VALUE}")
    return tree_bytes(root)


def sign_package(
    protected: dict[str, bytes],
    *,
    key: SigningKey,
    pages: list[list[Block]],
    page_ids: list[int],
    stamp_id: int,
    copy: CertificateCopy,
) -> dict[str, bytes]:
    """The ``Signs`` entries that seal ``protected`` (every other file of the package)."""
    page, x, y, width, height = stamp_box(pages)
    moment = copy.CertificateCopyCreationTime
    when = moment.strftime("%Y%m%d%H%M%S")
    signature = signature_xml(protected, page_ids[page], stamp_id, (x, y, width, height), when)
    seal = key.seal
    picture = stamp_png(seal.CertificateIssuingAuthorityName, seal.SealName, seal.SealID)
    signed_value = ses_signature(
        key,
        data_hash=_sm3(signature),
        property_info=f"/{SIGNATURE}",
        time_info=moment.isoformat(),
        picture=picture,
        picture_mm=round(width),
    )
    return {SIGNATURES: signatures_xml(), SIGNATURE: signature, SIGNED_VALUE: signed_value}
