"""The parent's ingest transaction against a real SQLite file: exactly once, newest wins,
routing pointers, forwarding up the tree (SPEC §6.2 c, §6.3)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from nodes.catalog import validate as v
from nodes.catalog.ingest import (
    Incoming,
    Prepared,
    commit_batches,
    incoming_of,
    ingest_batch,
    ingest_batches,
    prepare_batch,
    prepare_batches,
)
from nodes.catalog.push import batch_message, form_batch
from nodes.catalog.worker import ValidationWorker
from nodes.context import NodeContext
from nodes.store.batches import LAST_EXCHANGE_AT
from nodes.store.schema import MESSAGE_COLUMNS
from tests.unit.test_catalog_support import DAQING_PSB, make_row, node_context, topology

TOPO = topology()
HARBIN = v.sender_of(TOPO, "hlj-harbin")
DAQING = v.sender_of(TOPO, "hlj-daqing")
LATER = "2025-06-02T10:00:00.000000+08:00"
EARLIER = "2025-05-01T10:00:00.000000+08:00"


async def catalog_of(ctx: NodeContext) -> list[dict[str, str]]:
    return await ctx.store.catalog.find(limit=100_000)


async def test_a_batch_applied_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj") as ctx:
        rows = [make_row(serial) for serial in range(50)] + [make_row(99, data_source="106")]
        first = await ingest_batch(ctx, HARBIN, "hlj-harbin-1", rows)
        before = await catalog_of(ctx)
        again = await ingest_batch(ctx, HARBIN, "hlj-harbin-1", rows)
        assert (first.accepted, len(first.anomalies), first.repeated) == (50, 1, False)
        assert (again.accepted, again.anomalies, again.repeated) == (50, first.anomalies, True)
        assert await catalog_of(ctx) == before
        assert len(before) == 50
        assert await ctx.store.batches.count() == 1
        assert await ctx.store.outbox.pending() == 50  # forwarded once, not twice


async def test_a_batch_delivered_twice_in_one_group_is_applied_once(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj") as ctx:
        rows = [make_row(serial) for serial in range(5)]
        first = Incoming(HARBIN, "hlj-harbin-1", rows)
        again = Incoming(HARBIN, "hlj-harbin-1", [dict(row) for row in rows])
        other = Incoming(DAQING, "hlj-daqing-1", [make_row(9, area="230602", data_source="106")])
        outcomes = await ingest_batches(ctx, [first, again, other])
        assert [(o.accepted, o.repeated) for o in outcomes] == [(5, False), (5, True), (1, False)]
        assert await ctx.store.batches.count() == 2
        assert await ctx.store.outbox.pending() == 6


async def test_valid_rows_record_the_child_as_routing_pointer(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj") as ctx:
        row = make_row(1)
        await ingest_batch(ctx, HARBIN, "hlj-harbin-1", [row])
        assert await ctx.store.catalog.via_of(row["certificate_source_id"]) == "hlj-harbin"
        assert (await catalog_of(ctx))[0]["cd_batch"] == "hlj-harbin-1"
        assert await ctx.store.state.get(LAST_EXCHANGE_AT) is not None


async def test_an_older_cd_time_changes_nothing(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj") as ctx:
        await ingest_batch(ctx, HARBIN, "hlj-harbin-1", [make_row(1, cd_time=LATER, holder="新")])
        stale = make_row(1, operation="U", cd_time=EARLIER, holder="旧")
        outcome = await ingest_batch(ctx, HARBIN, "hlj-harbin-2", [stale])
        assert (outcome.accepted, outcome.anomalies) == (1, [])
        [entry] = await catalog_of(ctx)
        assert (entry["certificate_holder"], entry["cd_time"]) == ("新", LATER)
        assert await ctx.store.outbox.pending() == 1  # the stale row is not forwarded


async def test_rows_of_one_id_in_one_batch_apply_in_order(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj") as ctx:
        rows = [make_row(1, holder="甲"), make_row(1, operation="U", cd_time=LATER, holder="乙")]
        await ingest_batch(ctx, HARBIN, "hlj-harbin-1", rows)
        [entry] = await catalog_of(ctx)
        assert (entry["certificate_holder"], entry["cd_operation"]) == ("乙", "U")


async def test_an_id_another_subtree_owns_is_an_anomaly(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj") as ctx:
        owned = make_row(1, issuer=DAQING_PSB, area="230602", data_source="106")
        await ingest_batch(ctx, DAQING, "hlj-daqing-1", [owned])
        claim = make_row(1, issuer=DAQING_PSB, area="230102", cd_time=LATER)
        outcome = await ingest_batch(ctx, HARBIN, "hlj-harbin-1", [claim, make_row(2)])
        assert outcome.accepted == 1
        assert [a["error_remark"] for a in outcome.anomalies] == [v.OWNED_ELSEWHERE]
        assert await ctx.store.catalog.via_of(owned["certificate_source_id"]) == "hlj-daqing"


async def test_a_cancelled_row_stays_and_still_routes(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj") as ctx:
        row = make_row(1)
        await ingest_batch(ctx, HARBIN, "hlj-harbin-1", [row])
        await ingest_batch(
            ctx, HARBIN, "hlj-harbin-2", [{**row, "cd_operation": "D", "cd_time": LATER}]
        )
        [entry] = await catalog_of(ctx)
        assert (entry["cd_operation"], entry["via_node"]) == ("D", "hlj-harbin")
        # once cancelled, another subtree may take the id over
        takeover = make_row(
            1, area="230602", data_source="106", cd_time="2025-07-01T00:00:00.000000+08:00"
        )
        outcome = await ingest_batch(ctx, DAQING, "hlj-daqing-1", [takeover])
        assert outcome.anomalies == []
        assert await ctx.store.catalog.via_of(row["certificate_source_id"]) == "hlj-daqing"


async def test_a_province_forwards_rows_as_received_and_national_keeps_them(
    tmp_path: Path,
) -> None:
    async with node_context(tmp_path, TOPO, "hlj") as province:
        rows = [make_row(1), make_row(2, data_source="011")]  # the city's and its department's
        await ingest_batch(province, HARBIN, "hlj-harbin-1", rows)
        outbox = province.store.outbox
        await _form(province)
        [batch] = await outbox.batches()
        forwarded = await outbox.batch_rows(batch.cd_batch)
        assert [r["data_source"] for r in forwarded] == ["101", "011"]
        assert [r["cd_time"] for r in forwarded] == [r["cd_time"] for r in rows]
    async with node_context(tmp_path, TOPO, "national") as national:
        outcome = await ingest_batch(national, v.sender_of(TOPO, "hlj"), batch.cd_batch, forwarded)
        assert (outcome.accepted, outcome.anomalies) == (2, [])
        assert {e["via_node"] for e in await catalog_of(national)} == {"hlj"}
        assert await national.store.outbox.pending() == 0  # the root forwards nothing


async def prepared_by(how: str, rows: list[dict[str, str]], today: str) -> Prepared:
    """The batch ``hlj-harbin-2`` of ``rows`` validated in the worker process, or inline with or
    without the bundle the worker makes."""
    if how != "worker":
        data = [dict(row) for row in rows]
        return prepare_batch(HARBIN, "hlj-harbin-2", data, today=today, forward=how == "validation")
    worker = ValidationWorker("hlj", {"hlj-harbin": HARBIN}, forward=True)
    try:
        body = {"cd_batch": "hlj-harbin-2", "from": "hlj-harbin", "rows": rows}
        [prepared] = await worker.prepare([orjson.dumps(body)], today)
    finally:
        worker.close()
    assert isinstance(prepared, Prepared)
    return prepared


@pytest.mark.parametrize("bundled_by", ["worker", "validation", "commit"])
async def test_what_a_batch_changed_is_forwarded_in_one_message_as_received(
    tmp_path: Path, bundled_by: str
) -> None:
    """The rows a province applied go up as the child sent them, cd_batch the province's own:
    encoded with their validation (in the worker process, or inline) or, without that, by the
    commit; a row not applied (older than the stored one) is not forwarded either way."""
    async with node_context(tmp_path, TOPO, "hlj") as province:
        await ingest_batch(province, HARBIN, "hlj-harbin-1", [make_row(3, cd_time=LATER)])
        await ingest_batch(province, HARBIN, "hlj-harbin-1", [])  # nothing new
        first_batch = await form_batch(province)
        rows = [make_row(1), make_row(2, data_source="011"), make_row(3, cd_time=EARLIER)]
        today = province.clock.today().isoformat()
        [outcome] = await commit_batches(province, [await prepared_by(bundled_by, rows, today)])
        assert outcome.accepted == 3  # the stale row too: known, just not newer
        stored = await province.store.catalog.find(limit=10)
        assert {row["certificate_source_id"]: row["cd_time"] for row in stored} == {
            row["certificate_source_id"]: LATER if row is rows[2] else row["cd_time"]
            for row in rows
        }
        cd_batch = await form_batch(province)
        assert cd_batch is not None
        assert cd_batch != first_batch
        message = await batch_message(province, cd_batch)
    assert message is not None
    sent = orjson.loads(message.body)
    assert (sent["cd_batch"], sent["from"], message.rows) == (cd_batch, "hlj", 2)
    assert sent["columns"] == list(MESSAGE_COLUMNS)
    assert [dict(zip(MESSAGE_COLUMNS, values, strict=True)) for values in sent["rows"]] == [
        {column: row[column] for column in MESSAGE_COLUMNS} for row in rows[:2]
    ]


async def _form(ctx: NodeContext) -> None:
    assert await form_batch(ctx) is not None


def test_a_message_is_read_by_its_header() -> None:
    """Rows come as arrays in the order the message's header names (any order), or as E.1
    objects; under a header that is not a list of names no row is a row."""
    row = make_row(1)
    stored = [row[column] for column in MESSAGE_COLUMNS]
    reordered = list(reversed(MESSAGE_COLUMNS))

    def judged(**message: object) -> tuple[list[list[str]], list[str]]:
        payload = {"from": "hlj-harbin", "cd_batch": "hlj-harbin-1", **message}
        incoming = incoming_of(payload, {"hlj-harbin": HARBIN})
        assert incoming is not None
        [prepared] = prepare_batches([incoming], today="2026-01-01")
        valid = [list(values[: len(MESSAGE_COLUMNS)]) for values in prepared.valid]
        return valid, [anomaly["error_remark"] for anomaly in prepared.anomalies]

    assert judged(columns=list(MESSAGE_COLUMNS), rows=[stored]) == ([stored], [])
    assert judged(rows=[dict(row)]) == ([stored], [])
    assert judged(columns=reordered, rows=[stored[::-1]]) == ([stored], [])
    valid, remarks = judged(columns=reordered, rows=[stored])  # read by name, not by place
    assert (valid, remarks[0]) == ([], v.BAD_CERTIFICATE_ID)
    assert judged(columns="nonsense", rows=[stored]) == ([], [v.MALFORMED_ROW])
