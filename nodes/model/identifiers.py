"""Identifiers and their check characters (SPEC §2.5).

- 证照标识 CertificateID, GB/T 36904, ISO/IEC 7064 MOD 37,36 check character;
- 统一社会信用代码 USCC, GB 32100;
- 公民身份号码, GB 11643.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

ALNUM36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CERTIFICATE_ID_ROOT = "1.2.156.3005.2"

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CITIZEN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CITIZEN_ID_CHECK = "10X98765432"

_CERTIFICATE_ID = re.compile(
    r"^1\.2\.156\.3005\.2\.(?P<type>[0-9A-Z]{21})\.(?P<issuer>[0-9A-Z]{6,18})"
    r"\.(?P<serial>[0-9A-Z]{1,32})\.(?P<version>\d{3})\.(?P<check>[0-9A-Z])$"
)
_USCC = re.compile(rf"^[{USCC_CHARSET}]{{18}}$")
_CITIZEN_ID = re.compile(r"^\d{17}[\dX]$")


def _mod37_36_steps() -> dict[str, tuple[int, ...]]:
    """For each character, the next state of the MOD 37,36 recurrence from every state 0..36."""
    steps: dict[str, tuple[int, ...]] = {}
    for value, ch in enumerate(ALNUM36):
        steps[ch] = tuple((((p + value) % 36 or 36) * 2) % 37 for p in range(37))
    return steps


_MOD37_36_STEPS = MappingProxyType(_mod37_36_steps())


def mod37_36_check(payload: str) -> str:
    """ISO/IEC 7064 MOD 37,36 check character over upper-case letters and digits.

    ``p = 36; for each ch: s = (p + value(ch)) % 36 or 36; p = (s * 2) % 37`` — computed through a
    precomputed step table, since aggregation checks every CertificateID it ingests.
    """
    p = 36
    steps = _MOD37_36_STEPS
    try:
        for ch in payload:
            p = steps[ch][p]
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not an upper-case letter or digit") from None
    return ALNUM36[(37 - p) % 36]


@dataclass(frozen=True, slots=True)
class CertificateIdParts:
    type_code: str
    issuer_code: str
    serial: str
    version: str
    check: str


def parse_certificate_id(value: str) -> CertificateIdParts:
    """Split a CertificateID; raise ValueError naming what is wrong."""
    match = _CERTIFICATE_ID.match(value)
    if match is None:
        raise ValueError(
            "CertificateID must read 1.2.156.3005.2.<21-char type code>.<issuer code>"
            ".<serial>.<3-digit version>.<check character>"
        )
    parts = CertificateIdParts(*match.group("type", "issuer", "serial", "version", "check"))
    expected = mod37_36_check(parts.type_code + parts.issuer_code + parts.serial + parts.version)
    if parts.check != expected:
        raise ValueError(f"CertificateID check character is {parts.check}, expected {expected}")
    return parts


def make_certificate_id(type_code: str, issuer_code: str, serial: str, version: int = 1) -> str:
    check = mod37_36_check(f"{type_code}{issuer_code}{serial}{version:03d}")
    return f"{CERTIFICATE_ID_ROOT}.{type_code}.{issuer_code}.{serial}.{version:03d}.{check}"


def is_certificate_id(value: str) -> bool:
    try:
        parse_certificate_id(value)
    except ValueError:
        return False
    return True


def uscc_check(first17: str) -> str:
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def is_uscc(value: str) -> bool:
    """统一社会信用代码 (GB 32100): 18 characters of the charset, valid check character."""
    return bool(_USCC.match(value)) and uscc_check(value[:17]) == value[17]


def make_uscc(first17: str) -> str:
    return first17 + uscc_check(first17)


def citizen_id_check(first17: str) -> str:
    total = sum(int(ch) * w for ch, w in zip(first17, CITIZEN_ID_WEIGHTS, strict=True))
    return CITIZEN_ID_CHECK[total % 11]


def is_citizen_id(value: str) -> bool:
    """公民身份号码 (GB 11643): 17 digits, a valid birth date, valid check character."""
    if not _CITIZEN_ID.match(value):
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return citizen_id_check(value[:17]) == value[17]


def make_citizen_id(area_code: str, birth: date, sequence: int) -> str:
    first17 = f"{area_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + citizen_id_check(first17)
