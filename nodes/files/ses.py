"""The electronic seal signature of GB/T 38540-2020 (SES_Signature, version 4), DER-encoded with
pyasn1 (the only module that imports it): what an OFD's ``SignedValue.dat`` holds.

    SES_Signature ::= SEQUENCE {
        toSign          TBS_Sign,
        cert            OCTET STRING,          -- the signer's SM2 public key, 04 || x || y
        signatureAlgID  OBJECT IDENTIFIER,     -- 1.2.156.10197.1.501 SM2 with SM3
        signature       BIT STRING }           -- DER SM2 signature of DER(toSign)
    TBS_Sign ::= SEQUENCE {
        version         INTEGER (4),
        eseal           SESeal,
        timeInfo        GeneralizedTime,
        dataHash        BIT STRING,            -- SM3 of the signed original: Signature.xml
        propertyInfo    IA5String }            -- where that original is in the package
    SESeal ::= SEQUENCE { esealInfo SES_SealInfo }
    SES_SealInfo ::= SEQUENCE {
        header          SEQUENCE { ID IA5String ("ES"), version INTEGER (4), Vid IA5String },
        esID            IA5String,             -- the SealID
        property        SEQUENCE { type INTEGER (1: official seal), name UTF8String,
                                   certListType INTEGER (1), certList SEQUENCE OF OCTET STRING,
                                   createDate, validStart, validEnd GeneralizedTime },
        picture         SEQUENCE { type IA5String ("PNG"), data OCTET STRING,
                                   width INTEGER, height INTEGER } }  -- millimetres

Simplified from the standard: the seal is not itself signed by a seal-making authority
(``SESeal.signInfo`` is left out): the issuing authority's own seal record, which travels with
the type catalogue, stands for it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyasn1.codec.der import encoder
from pyasn1.type import char, namedtype, univ, useful

from nodes.seals.signing import SigningKey

SM2_WITH_SM3 = "1.2.156.10197.1.501"
SES_VERSION = 4
VENDOR = "ecert-cascade"


def _named(*fields: tuple[str, object]) -> namedtype.NamedTypes:
    return namedtype.NamedTypes(*(namedtype.NamedType(name, kind) for name, kind in fields))


class _Header(univ.Sequence):
    componentType = _named(
        ("ID", char.IA5String()), ("version", univ.Integer()), ("Vid", char.IA5String())
    )


class _CertList(univ.SequenceOf):
    componentType = univ.OctetString()


class _Property(univ.Sequence):
    componentType = _named(
        ("type", univ.Integer()),
        ("name", char.UTF8String()),
        ("certListType", univ.Integer()),
        ("certList", _CertList()),
        ("createDate", useful.GeneralizedTime()),
        ("validStart", useful.GeneralizedTime()),
        ("validEnd", useful.GeneralizedTime()),
    )


class _Picture(univ.Sequence):
    componentType = _named(
        ("type", char.IA5String()),
        ("data", univ.OctetString()),
        ("width", univ.Integer()),
        ("height", univ.Integer()),
    )


class _SealInfo(univ.Sequence):
    componentType = _named(
        ("header", _Header()),
        ("esID", char.IA5String()),
        ("property", _Property()),
        ("picture", _Picture()),
    )


class _Seal(univ.Sequence):
    componentType = _named(("esealInfo", _SealInfo()))


class _ToSign(univ.Sequence):
    componentType = _named(
        ("version", univ.Integer()),
        ("eseal", _Seal()),
        ("timeInfo", useful.GeneralizedTime()),
        ("dataHash", univ.BitString()),
        ("propertyInfo", char.IA5String()),
    )


class _Signature(univ.Sequence):
    componentType = _named(
        ("toSign", _ToSign()),
        ("cert", univ.OctetString()),
        ("signatureAlgID", univ.ObjectIdentifier()),
        ("signature", univ.BitString()),
    )


def _time(value: str) -> useful.GeneralizedTime:
    """An ISO date or datetime as GeneralizedTime (UTC when it has an offset)."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return useful.GeneralizedTime(moment.strftime("%Y%m%d%H%M%SZ"))


def _seal_info(key: SigningKey, picture: bytes, size_mm: int) -> _SealInfo:
    seal = key.seal
    info = _SealInfo()
    header = info["header"]
    header["ID"], header["version"], header["Vid"] = "ES", SES_VERSION, VENDOR
    info["esID"] = seal.SealID
    prop = info["property"]
    prop["type"], prop["name"], prop["certListType"] = 1, seal.SealName, 1
    prop["certList"].append(univ.OctetString(b"\x04" + seal.public_key))
    prop["createDate"] = _time(seal.validFrom)
    prop["validStart"] = _time(seal.validFrom)
    prop["validEnd"] = _time(seal.validTo)
    pic = info["picture"]
    pic["type"], pic["data"], pic["width"], pic["height"] = "PNG", picture, size_mm, size_mm
    return info


def ses_signature(
    key: SigningKey,
    *,
    data_hash: bytes,
    property_info: str,
    time_info: str,
    picture: bytes,
    picture_mm: int,
) -> bytes:
    """DER SES_Signature: the seal (with its picture) and the hash of the original, signed."""
    to_sign = _ToSign()
    to_sign["version"] = SES_VERSION
    to_sign["eseal"]["esealInfo"] = _seal_info(key, picture, picture_mm)
    to_sign["timeInfo"] = _time(time_info)
    to_sign["dataHash"] = univ.BitString.fromOctetString(data_hash)
    to_sign["propertyInfo"] = property_info
    signed: bytes = encoder.encode(to_sign)
    whole = _Signature()
    whole["toSign"] = to_sign
    whole["cert"] = b"\x04" + key.seal.public_key
    whole["signatureAlgID"] = univ.ObjectIdentifier(SM2_WITH_SM3)
    whole["signature"] = univ.BitString.fromOctetString(key.sign(signed))
    encoded: bytes = encoder.encode(whole)
    return encoded
