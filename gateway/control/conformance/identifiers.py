"""Identifiers, check characters and code forms as SPEC §2.4–§2.5 define them (pure).

The kit implements them itself, from the SPEC text, so that it judges a system (ours included)
without trusting that system's own code:

- 证照标识 CertificateID, GB/T 36904: ISO/IEC 7064 MOD 37,36 over type + issuer + serial + version;
- 统一社会信用代码 USCC, GB 32100: weighted sum mod 31 over its own 31-character charset;
- 公民身份号码, GB 11643: weighted sum mod 11, check ``10X98765432``;
- A.2 持证主体代码类型, A.4 证照类型代码 and the wire date ``YYYY-MM-DD``.

Every ``*_problem`` function answers ``None`` for a valid value, else one line saying what is wrong.
"""

from __future__ import annotations

import re
import secrets
from datetime import date

ALNUM36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CERTIFICATE_ID_ROOT = "1.2.156.3005.2"
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CITIZEN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CITIZEN_ID_CHECKS = "10X98765432"

# A.2 持证主体代码类型 (SPEC §2.4)
HOLDER_TYPES = frozenset(
    {"001", "099", "111", "114", "115", "118", "119", "120", "122", "411", "412", "413", "414"}
    | {"511", "516", "999"}
)
USCC_HOLDER, CITIZEN_HOLDER = "001", "111"

_CERTIFICATE_ID = re.compile(
    r"^1\.2\.156\.3005\.2\.(?P<type>[0-9A-Z]{21})\.(?P<issuer>[0-9A-Z]{6,18})"
    r"\.(?P<serial>[0-9A-Z]{1,32})\.(?P<version>\d{3})\.(?P<check>[0-9A-Z])$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- check characters --------------------------------------------------------------------------
def mod37_36_check(payload: str) -> str:
    """ISO/IEC 7064 MOD 37,36 check character of ``payload`` (upper-case letters and digits)."""
    p = 36
    for ch in payload:
        value = ALNUM36.index(ch)
        s = (p + value) % 36 or 36
        p = (s * 2) % 37
    return ALNUM36[(37 - p) % 36]


def uscc_check(first17: str) -> str:
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def citizen_id_check(first17: str) -> str:
    total = sum(int(ch) * w for ch, w in zip(first17, CITIZEN_ID_WEIGHTS, strict=True))
    return CITIZEN_ID_CHECKS[total % 11]


# -- validation --------------------------------------------------------------------------------
def certificate_id_problem(value: object) -> str | None:
    """GB/T 36904: the form ``1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>``."""
    if not isinstance(value, str):
        return f"{value!r} is not a string"
    match = _CERTIFICATE_ID.match(value)
    if match is None:
        return (
            f"{value!r} does not read 1.2.156.3005.2.<21-char type code>.<issuer code>"
            ".<serial>.<3-digit version>.<check character>"
        )
    type_code, issuer, serial, version, check = match.group(
        "type", "issuer", "serial", "version", "check"
    )
    expected = mod37_36_check(type_code + issuer + serial + version)
    if check != expected:
        return f"{value}: check character {check}, MOD 37,36 gives {expected}"
    return type_code_problem(type_code)


def uscc_problem(value: object) -> str | None:
    """GB 32100: 18 characters of the USCC charset, the last the check character."""
    if not isinstance(value, str):
        return f"{value!r} is not a string"
    if len(value) != 18 or any(ch not in USCC_CHARSET for ch in value):
        return f"{value!r} is not 18 characters of {USCC_CHARSET}"
    expected = uscc_check(value[:17])
    if value[17] != expected:
        return f"{value}: check character {value[17]}, GB 32100 gives {expected}"
    return None


def citizen_id_problem(value: object) -> str | None:
    """GB 11643: 17 digits (with a real birth date) and the check character."""
    if not isinstance(value, str):
        return f"{value!r} is not a string"
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return f"{value!r} is not 17 digits and a check character"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return f"{value}: {value[6:14]} is not a birth date"
    expected = citizen_id_check(value[:17])
    if value[17] != expected:
        return f"{value}: check character {value[17]}, GB 11643 gives {expected}"
    return None


def type_code_problem(value: object) -> str | None:
    """A.4: the defining authority's USCC and a 3-digit sequence (21 characters)."""
    if not isinstance(value, str) or len(value) != 21 or not value[18:].isdigit():
        return f"{value!r} is not a 21-character CertificateTypeCode (USCC + 3 digits)"
    problem = uscc_problem(value[:18])
    return None if problem is None else f"CertificateTypeCode {value}: {problem}"


def is_type_code_form(value: object) -> bool:
    """A.4's form alone: 18 characters of the USCC charset and 3 digits (no check character)."""
    return (
        isinstance(value, str)
        and len(value) == 21
        and value[18:].isdigit()
        and all(ch in USCC_CHARSET for ch in value[:18])
    )


def holder_code_problem(holder_type: object, code: object) -> str | None:
    """A holder code checked as its A.2 type asks (001: GB 32100, 111: GB 11643)."""
    if holder_type == USCC_HOLDER:
        return uscc_problem(code)
    if holder_type == CITIZEN_HOLDER:
        return citizen_id_problem(code)
    return None


def date_problem(value: object, *, optional: bool = False) -> str | None:
    """A wire date ``YYYY-MM-DD`` (SPEC §2.1); ``""`` is allowed where ``optional`` (长期)."""
    if optional and value == "":
        return None
    if not isinstance(value, str) or not _DATE.match(value):
        return f"{value!r} is not a date of the form YYYY-MM-DD"
    try:
        date.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a calendar date"
    return None


def type_code_of(certificate_id: str) -> str:
    """The CertificateTypeCode inside a CertificateID (its sixth dotted part)."""
    parts = certificate_id.split(".")
    return parts[5] if len(parts) > 5 else ""


# -- identifiers the kit makes up ------------------------------------------------------------
# Real, valid values from SPEC §2.5: well-formed requests that no system is likely to hold.
SAMPLE_TYPE_CODE = "11100000000013338W032"
SAMPLE_ISSUER = "11220000013544541J"
SAMPLE_CITIZEN_ID = "11010519491231002X"


def make_certificate_id(type_code: str, issuer: str, serial: str, version: str = "001") -> str:
    check = mod37_36_check(type_code + issuer + serial + version)
    return f"{CERTIFICATE_ID_ROOT}.{type_code}.{issuer}.{serial}.{version}.{check}"


def unknown_certificate_id(type_code: str = SAMPLE_TYPE_CODE) -> str:
    """A well-formed CertificateID with a random serial (``ZZ`` + 14 hex digits, upper case)."""
    return make_certificate_id(type_code, SAMPLE_ISSUER, "ZZ" + secrets.token_hex(7).upper())


def unknown_citizen_id() -> str:
    """A valid 公民身份号码 of a random person born 1900-01-01 (no living holder)."""
    first17 = f"110105190001019{secrets.randbelow(100):02d}"
    return first17 + citizen_id_check(first17)


def unknown_uscc() -> str:
    first17 = "91" + "".join(secrets.choice("0123456789") for _ in range(15))
    return first17 + uscc_check(first17)


def unknown_type_code(published: set[str]) -> str:
    """A well-formed A.4 code (a valid USCC and ``999``) that is not in ``published``."""
    while True:
        code = unknown_uscc() + "999"
        if code not in published:
            return code


def wrong_check(value: str, charset: str) -> str:
    """``value`` with its last (check) character replaced by another one of ``charset``."""
    replacement = next(ch for ch in charset if ch != value[-1])
    return value[:-1] + replacement
