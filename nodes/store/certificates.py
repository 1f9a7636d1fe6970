"""Certificates held by this node (信息库).

``record`` is the hot path of every by-ID answer: the stored JSON bytes, remembered until the
table changes (``StoreMemo``), parsed by the caller per call so that no answer ever shares
objects with another.
"""

from __future__ import annotations

import orjson

from nodes.model.certificate import Certificate
from nodes.store.db import Database, Row, Transaction, where_equal
from nodes.store.memo import StoreMemo


def _certificate(row: Row) -> Certificate:
    return Certificate.model_validate(orjson.loads(row["record"]))


class CertificateRepo:
    def __init__(self, db: Database):
        self.db = db
        self.memo = StoreMemo(db, "certificate")

    async def record(self, certificate_id: str) -> bytes | None:
        """The stored record's JSON (as stored: a record stored without validation, too)."""
        return await self.memo.get(certificate_id, lambda: self._record(certificate_id))

    async def record_now(self, certificate_id: str) -> bytes | None:
        """The stored record's JSON read now, not remembered (inside a transaction: as written
        by it so far)."""
        return await self._record(certificate_id)

    async def _record(self, certificate_id: str) -> bytes | None:
        row = await self.db.fetchone(
            "SELECT record FROM certificate WHERE certificate_id = ?", (certificate_id,)
        )
        return None if row is None else bytes(row[0])

    async def get(self, certificate_id: str) -> Certificate | None:
        record = await self._record(certificate_id)
        return None if record is None else Certificate.model_validate(orjson.loads(record))

    async def exists(self, certificate_id: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM certificate WHERE certificate_id = ?", (certificate_id,)
        )
        return row is not None

    async def records_of_holder(
        self,
        holder_code: str,
        *,
        type_code: str | None = None,
        number: str | None = None,
        holder_type: str | None = None,
    ) -> list[bytes]:
        """The stored records of a holder's certificates (those given narrow it), by id."""
        where, params = where_equal(
            [("holder_code", holder_code)],
            [("type_code", type_code), ("number", number), ("holder_type", holder_type)],
        )
        sql = f"SELECT record FROM certificate{where} ORDER BY certificate_id"
        return [bytes(row[0]) for row in await self.db.fetchall(sql, params)]

    async def by_holder(
        self, holder_code: str, type_code: str | None = None, number: str | None = None
    ) -> list[Certificate]:
        records = await self.records_of_holder(holder_code, type_code=type_code, number=number)
        return [Certificate.model_validate(orjson.loads(record)) for record in records]

    async def records(self, *, holder_code: str | None = None, limit: int) -> list[bytes]:
        """Stored records by id, at most ``limit``: every holder's, or one holder's."""
        where, params = where_equal([], [("holder_code", holder_code)])
        sql = f"SELECT record FROM certificate{where} ORDER BY certificate_id LIMIT ?"
        return [bytes(row[0]) for row in await self.db.fetchall(sql, [*params, limit])]

    async def all(self) -> list[Certificate]:
        rows = await self.db.fetchall("SELECT record FROM certificate ORDER BY certificate_id")
        return [_certificate(row) for row in rows]

    async def count(self) -> int:
        return int(await self.db.scalar("SELECT count(*) FROM certificate"))

    @staticmethod
    async def save(tx: Transaction, cert: Certificate, *, now: str) -> None:
        await tx.execute(
            "INSERT INTO certificate (certificate_id, type_code, holder_code, holder_type, number,"
            " status, record, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (certificate_id) DO UPDATE SET type_code = excluded.type_code,"
            " holder_code = excluded.holder_code, holder_type = excluded.holder_type,"
            " number = excluded.number, status = excluded.status, record = excluded.record,"
            " updated_at = excluded.updated_at",
            (
                cert.CertificateID,
                cert.CertificateTypeCode,
                cert.CertificateHolderCode,
                cert.CertificateHolderTypeCode,
                cert.CertificateNumber,
                cert.CertificateStatus.value,
                orjson.dumps(cert.to_record()),
                now,
            ),
        )
