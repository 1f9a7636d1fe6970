"""Certificates by their expiry date (§8.3.4 expiry reminders, ``nodes.reminders``)."""

from __future__ import annotations

from nodes.store.db import Database

_EXPIRING = "json_extract(CAST(record AS TEXT), '$.CertificateExpiringDate')"


class ExpiryRepo:
    def __init__(self, db: Database):
        self.db = db

    async def expiring(self, first: str, last: str, *, limit: int) -> list[bytes]:
        """Stored records of usable (status 01) certificates whose CertificateExpiringDate is
        between ``first`` and ``last`` (ISO dates, both included), soonest first."""
        rows = await self.db.fetchall(
            f"SELECT record FROM certificate WHERE status = '01'"
            f" AND {_EXPIRING} BETWEEN ? AND ? ORDER BY {_EXPIRING}, certificate_id LIMIT ?",
            (first, last, limit),
        )
        return [bytes(row[0]) for row in rows]
