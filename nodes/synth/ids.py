"""Codes the generator makes up: organisation codes, USCCs of authorities and companies.

A USCC (GB 32100) reads: 1 char registration authority, 1 char organisation type, the 6-digit
GB/T 2260 area code, the 9-char organisation code (GB 11714: 8 characters and a check character)
and the check character of the whole. Authorities are ``11`` (机构编制, 机关); companies ``91``
(市场监管, 企业).
"""

from __future__ import annotations

import zlib

from nodes.model.identifiers import make_uscc

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
NATIONAL_AREA = "100000"  # positions 3-8 of a central authority's USCC


def organization_code(body: str) -> str:
    """GB 11714 组织机构代码: 8 digits/letters and the check character (``X`` for 10)."""
    total = sum(int(ch, 36) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def authority_uscc(area_code: str, body: str) -> str:
    """A government authority (``11``) registered in ``area_code``."""
    return make_uscc(f"11{area_code}{organization_code(body)}")


def company_uscc(area_code: str, number: int) -> str:
    """An enterprise (``91``) registered in ``area_code``; ``number`` < 10**8 picks the org code."""
    return make_uscc(f"91{area_code}{organization_code(f'{number % 10**8:08d}')}")


def stable_body(*parts: str) -> str:
    """An 8-digit organisation-code body that depends only on ``parts`` (never on ``hash()``)."""
    return f"{zlib.crc32('/'.join(parts).encode()) % 10**8:08d}"
