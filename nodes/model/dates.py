"""Dates on the wire are ``YYYY-MM-DD`` (SPEC §2.1); ``1995年3月1日`` is accepted and normalised."""

from __future__ import annotations

import re
from datetime import date

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_CHINESE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
LONG_TERM = frozenset({"", "长期", "長期"})


def parse_date(value: str) -> date:
    """Parse ``2024-03-01``, ``2024-3-1``, ``20240301`` or ``2024年3月1日``; raise ValueError."""
    text = value.strip()
    for pattern in (_ISO, _CHINESE, _COMPACT):
        match = pattern.match(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a calendar date") from exc
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD or YYYY年M月D日)")


def normalise_date(value: str) -> str:
    return parse_date(value).isoformat()


def normalise_optional_date(value: str | None) -> str:
    """An empty expiring date means 长期 (no expiry) and is kept as ``""``."""
    if value is None or value.strip() in LONG_TERM:
        return ""
    return normalise_date(value)
