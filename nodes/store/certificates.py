"""Certificates held by this node (信息库)."""

from __future__ import annotations

import orjson

from nodes.model.certificate import Certificate
from nodes.store.db import Database, Row, Transaction, where_equal


def _certificate(row: Row) -> Certificate:
    return Certificate.model_validate(orjson.loads(row["record"]))


class CertificateRepo:
    def __init__(self, db: Database):
        self.db = db

    async def get(self, certificate_id: str) -> Certificate | None:
        row = await self.db.fetchone(
            "SELECT record FROM certificate WHERE certificate_id = ?", (certificate_id,)
        )
        return None if row is None else _certificate(row)

    async def by_holder(
        self, holder_code: str, type_code: str | None = None, number: str | None = None
    ) -> list[Certificate]:
        where, params = where_equal(
            [("holder_code", holder_code)], [("type_code", type_code), ("number", number)]
        )
        sql = f"SELECT record FROM certificate{where} ORDER BY certificate_id"
        rows = await self.db.fetchall(sql, params)
        return [_certificate(row) for row in rows]

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
