"""Batches on both sides of the exchange, and the node_state keys aggregation keeps.

- the parent remembers each batch it committed (``ingested_batch``) with the anomalies it found,
  so a batch delivered twice is answered again without being applied again (SPEC §6.3);
- the child numbers its batches ``<node-id>-<seq>`` from a persisted, monotonic counter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from nodes.store.db import Database, Row, Transaction

LAST_EXCHANGE_AT = "last_exchange_at"  # ISO time a batch was last acknowledged or ingested
BATCH_SEQ = "batch_seq"  # the last cd_batch sequence number this node handed out
TYPES_ACKED_UPTO = "types_acked_upto"  # updated_at of the newest type the parent acknowledged


@dataclass(frozen=True, slots=True)
class IngestedBatch:
    cd_batch: str
    child_node: str
    committed_at: str
    accepted: int
    anomalies: list[dict[str, str]]


class IngestedBatchRepo:
    def __init__(self, db: Database):
        self.db = db

    async def get(self, cd_batch: str) -> IngestedBatch | None:
        row = await self.db.fetchone(
            "SELECT cd_batch, child_node, committed_at, accepted, anomalies FROM ingested_batch"
            " WHERE cd_batch = ?",
            (cd_batch,),
        )
        return None if row is None else _batch(row)

    @staticmethod
    async def outcomes(tx: Transaction, cd_batches: list[str]) -> dict[str, IngestedBatch]:
        """The recorded batches among ``cd_batches`` (inside the caller's transaction)."""
        if not cd_batches:
            return {}
        rows = await tx.fetchall(
            "SELECT cd_batch, child_node, committed_at, accepted, anomalies FROM ingested_batch"
            " WHERE cd_batch IN (SELECT value FROM json_each(?))",
            (orjson.dumps(cd_batches).decode(),),
        )
        return {row["cd_batch"]: _batch(row) for row in rows}

    @staticmethod
    async def record(tx: Transaction, batches: list[IngestedBatch]) -> None:
        await tx.executemany(
            "INSERT INTO ingested_batch (cd_batch, child_node, committed_at, accepted, anomalies)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (b.cd_batch, b.child_node, b.committed_at, b.accepted, orjson.dumps(b.anomalies))
                for b in batches
            ],
        )

    async def count(self, child_node: str | None = None) -> int:
        if child_node is None:
            return int(await self.db.scalar("SELECT count(*) FROM ingested_batch"))
        return int(
            await self.db.scalar(
                "SELECT count(*) FROM ingested_batch WHERE child_node = ?", (child_node,)
            )
        )


def _batch(row: Row) -> IngestedBatch:
    return IngestedBatch(
        cd_batch=row["cd_batch"],
        child_node=row["child_node"],
        committed_at=row["committed_at"],
        accepted=int(row["accepted"]),
        anomalies=orjson.loads(row["anomalies"]),
    )


class NodeState:
    """The ``node_state`` key/value table."""

    def __init__(self, db: Database):
        self.db = db

    async def get(self, key: str) -> str | None:
        value = await self.db.scalar("SELECT value FROM node_state WHERE key = ?", (key,))
        return None if value is None else str(value)

    @staticmethod
    async def put(tx: Transaction, key: str, value: Any) -> None:
        await tx.execute(
            "INSERT INTO node_state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )

    @staticmethod
    async def next_batch_seq(tx: Transaction) -> int:
        """The next cd_batch number, persisted with the caller's transaction.

        The first number is the wall clock in milliseconds, so a node whose store was wiped does
        not reuse numbers its parent has already seen (which would drop its batches as repeats).
        """
        value = await tx.scalar("SELECT value FROM node_state WHERE key = ?", (BATCH_SEQ,))
        seq = int(time.time() * 1000) if value is None else int(value) + 1
        await NodeState.put(tx, BATCH_SEQ, seq)
        return seq
