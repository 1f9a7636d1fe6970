"""The canonical data of a certificate: what its seal signs (SPEC §7 制证签发 [P]).

``canonical_data(record)`` is the UTF-8 JSON of an object holding exactly the items of
``SIGNED_ITEMS``, keys sorted at every level, no whitespace (``","`` and ``":"``), non-ASCII
characters as themselves (not ``\\u`` escapes) — what Python's
``json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes. An item
missing from the record counts as ``""`` (``[]`` for surface and detail). The list is fixed: a
field added to the model later does not change what earlier signatures cover.

The items: the 16 of B.1, the 3 of B.2 (so a status change is re-sealed and a revived status is
caught), the surface (照面信息) and detail (明细), and ``CertificateSealID`` (the seal that signs,
so a signature cannot be passed off under another seal).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

B1_ITEMS: tuple[str, ...] = (
    "CertificateID",
    "CertificateName",
    "CertificateTypeName",
    "CertificateTypeCode",
    "RelatedItemName",
    "RelatedItemCode",
    "CertificateIssuingAuthorityName",
    "CertificateIssuingAuthorityCode",
    "CertificateAreaCode",
    "CertificateHolderName",
    "CertificateHolderCode",
    "CertificateHolderTypeCode",
    "CertificateNumber",
    "CertificateIssuedDate",
    "CertificateEffectiveDate",
    "CertificateExpiringDate",
)
B2_ITEMS: tuple[str, ...] = (
    "CertificateStatus",
    "CertificateStatusChangeReason",
    "CertificateStatusChangeTime",
)
SEAL_ID, SIGNATURE = "CertificateSealID", "CertificateSignature"
SIGNED_ITEMS: tuple[str, ...] = (*B1_ITEMS, *B2_ITEMS, "surface", "detail", SEAL_ID)
_LISTS = frozenset({"surface", "detail"})


def signed_items(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: record.get(name, [] if name in _LISTS else "") for name in SIGNED_ITEMS}


def canonical_data(record: Mapping[str, Any]) -> bytes:
    """The bytes the seal signs (see the module docstring)."""
    return orjson.dumps(signed_items(record), option=orjson.OPT_SORT_KEYS)
