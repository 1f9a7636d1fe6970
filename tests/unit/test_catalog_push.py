"""The child's side against a real SQLite file: batches, acknowledgements, anomalies and their
automatic correction (SPEC §6.2 a, d, e; §6.3)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson

from nodes.catalog import validate as v
from nodes.catalog.anomalies import receive_anomalies
from nodes.catalog.push import (
    BATCH_ROWS,
    acknowledge,
    batch_message,
    due,
    form_batch,
    next_due_in,
)
from nodes.context import NodeContext
from nodes.issuing import record_changes
from nodes.model.codes import CdOperation
from nodes.store.batches import LAST_EXCHANGE_AT
from nodes.store.db import Database
from nodes.store.outbox import Bundle, OutboxRepo, PendingBatch
from nodes.store.schema import MESSAGE_COLUMNS
from tests.unit.test_catalog_support import make_certificate, make_row, node_context, topology

TOPO = topology()


def bundle_of(rows: list[dict[str, str]]) -> Bundle:
    """What a province forwards of a child's batch: the rows' values, as a message carries them."""
    return Bundle(orjson.dumps([[row[c] for c in MESSAGE_COLUMNS] for row in rows]), len(rows))


async def queue(ctx: NodeContext, rows: list[dict[str, str]]) -> None:
    async with ctx.store.db.transaction() as tx:
        await OutboxRepo.append_rows(tx, rows)


def e2(row: dict[str, str], cd_batch: str, remark: str) -> dict[str, str]:
    return {**row, "cd_batch": cd_batch, "error_remark": remark}


async def test_batches_are_numbered_per_node_monotonic_and_persisted(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        await queue(ctx, [make_row(serial) for serial in range(BATCH_ROWS + 5)])
        first, second = await form_batch(ctx), await form_batch(ctx)
        assert await form_batch(ctx) is None  # nothing unbatched is left
        batches = await ctx.store.outbox.batches()
    assert [b.cd_batch for b in batches] == [first, second]
    assert [b.rows for b in batches] == [BATCH_ROWS, 5]
    assert first is not None
    assert second is not None
    assert first.startswith("hlj-harbin-")
    assert int(second.rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1
    async with node_context(tmp_path, TOPO, "hlj-harbin") as reopened:
        await queue(reopened, [make_row(9999)])
        third = await form_batch(reopened)
    assert third is not None
    assert int(third.rsplit("-", 1)[1]) == int(second.rsplit("-", 1)[1]) + 1


async def test_bundles_count_as_their_rows_in_a_batch(tmp_path: Path) -> None:
    """Forwarded bundles fill a batch up to BATCH_ROWS rows, own rows between them in order; a
    bundle bigger than a batch still goes, alone."""
    async with node_context(tmp_path, TOPO, "hlj") as ctx:
        serials = iter(range(10_000))

        def bundle(rows: int) -> Bundle:
            return bundle_of([make_row(next(serials)) for _ in range(rows)])

        async with ctx.store.db.transaction() as tx:
            await OutboxRepo.append_bundles(tx, [bundle(600), bundle(300)])
            await OutboxRepo.append_rows(tx, [make_row(next(serials))])
            await OutboxRepo.append_bundles(tx, [bundle(200), bundle(BATCH_ROWS + 1), bundle(1)])
        formed = [await form_batch(ctx) for _ in range(4)]
        assert await form_batch(ctx) is None
        batches = await ctx.store.outbox.batches()
        assert [b.rows for b in batches] == [901, 200, BATCH_ROWS + 1, 1]
        assert [b.cd_batch for b in batches] == formed
        assert await ctx.store.outbox.pending() == 901 + 200 + BATCH_ROWS + 2
        rows = await ctx.store.outbox.batch_rows(batches[0].cd_batch)
        assert [r["cd_batch"] for r in rows] == [batches[0].cd_batch] * 901
        assert [r["certificate_source_id"] for r in rows] == [
            make_row(serial)["certificate_source_id"] for serial in range(901)
        ]


async def test_a_bundle_queued_as_e1_objects_goes_out_as_arrays(tmp_path: Path) -> None:
    """A bundle an earlier version queued (E.1 objects, ``"cd_batch":""`` in each) is sent in
    today's message form, its rows in order, next to one queued now."""
    async with node_context(tmp_path, TOPO, "hlj") as ctx:
        old = [{**make_row(serial), "cd_batch": ""} for serial in (1, 2)]
        async with ctx.store.db.transaction() as tx:
            await OutboxRepo.append_bundles(tx, [Bundle(orjson.dumps(old), 2)])
            await OutboxRepo.append_bundles(tx, [bundle_of([make_row(3)])])
        cd_batch = await form_batch(ctx)
        assert cd_batch is not None
        message = await batch_message(ctx, cd_batch)
    assert message is not None
    sent = orjson.loads(message.body)
    assert (sent["columns"], message.rows) == (list(MESSAGE_COLUMNS), 3)
    assert sent["rows"] == [[make_row(s)[c] for c in MESSAGE_COLUMNS] for s in (1, 2, 3)]


def test_a_batch_is_due_unsent_or_after_the_ack_timeout() -> None:
    batches = [
        PendingBatch("a-1", None, 1),
        PendingBatch("a-2", 100.0, 1),
        PendingBatch("a-3", 104.0, 1),
    ]
    assert due(batches, now=105.0, ack_timeout=5.0) == ["a-1", "a-2"]
    assert next_due_in(batches[2:], now=105.0, ack_timeout=5.0) == 4.0
    assert next_due_in([], now=105.0, ack_timeout=5.0) is None


async def test_an_ack_removes_the_batch_only_with_all_its_anomalies(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        good, bad = make_row(1), make_row(2, data_source="999")
        await queue(ctx, [good, bad])
        cd_batch = await form_batch(ctx)
        assert cd_batch is not None
        early = await acknowledge(ctx, cd_batch, anomalies=1)
        assert (early.done, early.reason) == (False, "anomalies_missing")
        assert await ctx.store.outbox.pending() == 2
        await receive_anomalies(ctx, cd_batch, [e2(bad, cd_batch, v.FOREIGN_DATA_SOURCE)])
        done = await acknowledge(ctx, cd_batch, anomalies=1)
        assert done.done
        assert await ctx.store.outbox.pending() == 0
        assert await ctx.store.state.get(LAST_EXCHANGE_AT) is not None
        repeated = await acknowledge(ctx, cd_batch, anomalies=1)
        assert (repeated.done, repeated.reason) == (False, "unknown")


async def test_anomalies_received_twice_are_stored_once(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        rows = [e2(make_row(2), "hlj-harbin-1", v.BAD_ISSUER_CODE)]
        assert await receive_anomalies(ctx, "hlj-harbin-1", rows) == 1
        assert await receive_anomalies(ctx, "hlj-harbin-1", rows) == 0
        assert await ctx.store.anomalies.count_of_batch("hlj-harbin-1") == 1


async def test_a_wrong_data_source_is_corrected_from_the_certificate(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        cert = make_certificate(3)
        await record_changes(ctx, [(cert, CdOperation.INSERT)])
        cd_batch = await form_batch(ctx)
        assert cd_batch is not None
        [sent] = await ctx.store.outbox.batch_rows(cd_batch)
        rejected = {**sent, "data_source": "999"}  # as if the row had left with a wrong code
        await receive_anomalies(ctx, cd_batch, [e2(rejected, cd_batch, v.FOREIGN_DATA_SOURCE)])
        await acknowledge(ctx, cd_batch, anomalies=1)
        await _expect_correction(ctx.store.db, cert.CertificateID, data_source="101")


async def test_a_certificate_that_is_itself_wrong_waits_for_the_admin(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        cert = make_certificate(3)
        await record_changes(ctx, [(cert, CdOperation.INSERT)])
        cd_batch = await form_batch(ctx)
        assert cd_batch is not None
        [sent] = await ctx.store.outbox.batch_rows(cd_batch)
        await receive_anomalies(ctx, cd_batch, [e2(sent, cd_batch, v.OWNED_ELSEWHERE)])
        await acknowledge(ctx, cd_batch, anomalies=1)
        assert await ctx.store.outbox.pending() == 0  # nothing to push: the same row again
        assert await ctx.store.anomalies.open_count() == 1


async def test_a_later_clean_ack_resolves_the_anomaly(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        bad = make_row(4, data_source="999")
        await queue(ctx, [bad])
        first = await form_batch(ctx)
        assert first is not None
        await receive_anomalies(ctx, first, [e2(bad, first, v.FOREIGN_DATA_SOURCE)])
        await acknowledge(ctx, first, anomalies=1)
        await queue(ctx, [make_row(4, operation="U"), make_row(5)])
        second = await form_batch(ctx)
        assert second is not None
        await acknowledge(ctx, second, anomalies=0)
        [anomaly] = await ctx.store.anomalies.find()
        assert anomaly["resolved_at"] is not None
        assert await ctx.store.anomalies.open_count() == 0


async def test_a_clean_ack_of_a_forwarded_bundle_resolves_the_anomaly(tmp_path: Path) -> None:
    """At a province: national rejected a row it forwarded; the corrected row comes up from the
    child, is forwarded in a bundle, and national's clean acknowledgement closes the anomaly."""
    async with node_context(tmp_path, TOPO, "hlj") as ctx:
        bad = make_row(4, data_source="999")
        async with ctx.store.db.transaction() as tx:
            await OutboxRepo.append_bundles(tx, [bundle_of([bad])])
        first = await form_batch(ctx)
        assert first is not None
        await receive_anomalies(ctx, first, [e2(bad, first, v.FOREIGN_DATA_SOURCE)])
        await acknowledge(ctx, first, anomalies=1)
        assert await ctx.store.anomalies.open_count() == 1
        fixed = [make_row(serial, operation="U") for serial in (3, 4)]
        async with ctx.store.db.transaction() as tx:
            await OutboxRepo.append_bundles(tx, [bundle_of(fixed)])
        second = await form_batch(ctx)
        assert second is not None
        assert (await acknowledge(ctx, second, anomalies=0)).done
        assert await ctx.store.anomalies.open_count() == 0
        assert await ctx.store.outbox.pending() == 0


async def _expect_correction(db: Database, certificate_id: str, *, data_source: str) -> None:
    outbox = OutboxRepo(db)
    assert await outbox.pending() == 1
    [row] = [r for r in await _unbatched(db) if r["certificate_source_id"] == certificate_id]
    assert row["data_source"] == data_source
    assert row["cd_operation"] == "I"


async def _unbatched(db: Database) -> list[dict[str, str]]:
    return await OutboxRepo(db).batch_rows("")


async def test_an_ack_of_other_content_leaves_the_batch_pending(tmp_path: Path) -> None:
    """An acknowledgement names the digest of the batch message it answers: only the digest of
    the message this node sends for that cd_batch lets the batch go."""
    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        await queue(ctx, [make_row(1)])
        cd_batch = await form_batch(ctx)
        assert cd_batch is not None
        message = await batch_message(ctx, cd_batch)
        assert message is not None
        for other in ("", "0" * 64, hashlib.sha256(message.body + b" ").hexdigest()):
            outcome = await acknowledge(ctx, cd_batch, anomalies=0, batch_sha256=other)
            assert (outcome.done, outcome.reason) == (False, "other_content")
            assert await ctx.store.outbox.pending() == 1
        sent = hashlib.sha256(message.body).hexdigest()
        assert (await acknowledge(ctx, cd_batch, anomalies=0, batch_sha256=sent)).done
        assert await ctx.store.outbox.pending() == 0
