"""Catalog aggregation between in-process nodes over a real broker (SPEC §6.2, §6.3).

Each node is a real SQLite file plus ``aggregation(ctx)``; they talk only through the broker
(the embedded amqtt and Mosquitto, each test once per broker).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

import pytest

from gateway.core.topology import Topology
from nodes.catalog import types
from nodes.catalog import validate as v
from nodes.catalog.lifetime import aggregation
from nodes.context import NodeContext
from nodes.issuing import record_changes
from nodes.model.certificate import Certificate
from nodes.model.codes import CdOperation
from nodes.synth.catalogue import CATALOGUE
from tests import polling
from tests.brokers import (
    BrokerProcess,
    broker_fixture,  # noqa: F401
    embedded_broker_fixture,  # noqa: F401
    mosquitto_broker_fixture,  # noqa: F401
)
from tests.unit.test_catalog_support import make_certificate, node_context, topology

WITHIN = 20.0  # seconds any expected state may take on a slow, shared machine
LEVELS = ("hlj-harbin-amr", "hlj-harbin", "hlj", "national")


class Cascade:
    """In-process nodes of one topology, each with its store and aggregation; stoppable."""

    def __init__(self, tmp_path: Path, topo: Topology):
        self.tmp_path, self.topo = tmp_path, topo
        self.stacks: dict[str, AsyncExitStack] = {}
        self.contexts: dict[str, NodeContext] = {}

    async def start(self, *node_ids: str) -> None:
        for node_id in node_ids:
            stack = AsyncExitStack()
            ctx = await stack.enter_async_context(node_context(self.tmp_path, self.topo, node_id))
            agg = await stack.enter_async_context(aggregation(ctx))
            self.stacks[node_id], self.contexts[node_id] = stack, ctx
            async with asyncio.timeout(WITHIN):
                await agg.exchange.connected.wait()

    async def stop(self, node_id: str) -> None:
        stack = self.stacks.pop(node_id)
        del self.contexts[node_id]
        async with asyncio.timeout(WITHIN):  # a node that does not stop fails, never hangs
            await stack.aclose()

    async def close(self) -> None:
        for node_id in list(self.stacks):
            await self.stop(node_id)

    def __getitem__(self, node_id: str) -> NodeContext:
        return self.contexts[node_id]

    async def issue(self, node_id: str, certs: list[Certificate]) -> None:
        ctx = self.contexts[node_id]
        await record_changes(ctx, [(cert, CdOperation.INSERT) for cert in certs])
        ctx.wakeups.push_now()

    async def ids(self, node_id: str, *, via: str | None = None) -> set[str]:
        rows = await self.contexts[node_id].store.catalog.find(via_node=via, limit=1_000_000)
        return {row["certificate_source_id"] for row in rows}

    async def accepted_from(self, node_id: str, child: str) -> int:
        value = await self.contexts[node_id].store.db.scalar(
            "SELECT coalesce(sum(accepted), 0) FROM ingested_batch WHERE child_node = ?", (child,)
        )
        return int(value)


@pytest.fixture
async def cascade(tmp_path: Path, broker: BrokerProcess) -> AsyncIterator[Cascade]:
    topo = topology(f"t-{uuid.uuid4().hex[:10]}", broker_port=broker.port, interval=0.3)
    running = Cascade(tmp_path, topo)
    try:
        yield running
    finally:
        await running.close()


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await polling.eventually(check, what, within=WITHIN)


def certificates(first: int, count: int, **changes: str) -> list[Certificate]:
    return [make_certificate(serial, **changes) for serial in range(first, first + count)]


async def test_rows_flow_up_every_level_with_the_right_pointer(cascade: Cascade) -> None:
    await cascade.start(*LEVELS)
    department, city = certificates(5000, 5), certificates(1, 1500)  # city: two batches
    await cascade.issue("hlj-harbin-amr", department)
    await cascade.issue("hlj-harbin", city)
    everything = {c.CertificateID for c in department + city}
    await eventually(
        lambda: _equals(cascade.ids("national"), everything), "every row reaches national"
    )
    assert await cascade.ids("national", via="hlj") == everything
    assert await cascade.ids("hlj", via="hlj-harbin") == everything
    assert await cascade.ids("hlj-harbin", via="hlj-harbin-amr") == {
        c.CertificateID for c in department
    }
    for node_id in LEVELS[:-1]:
        await eventually(partial(_outbox_empty, cascade[node_id]), f"{node_id} outbox drains")
    assert await cascade.accepted_from("national", "hlj") == len(everything)  # once each
    department_rows = await cascade["national"].store.catalog.find(
        certificate_id=department[0].CertificateID
    )
    assert department_rows[0]["data_source"] == "011"  # kept as the department sent it


async def test_a_bad_row_comes_back_as_anomaly_and_the_rest_is_accepted(
    cascade: Cascade,
) -> None:
    await cascade.start("hlj-harbin", "hlj")
    good = certificates(1, 9)
    wrong_area = make_certificate(10, CertificateAreaCode="230602")  # Daqing's, not Harbin's
    await cascade.issue("hlj-harbin", [*good, wrong_area])
    city = cascade["hlj-harbin"]
    await eventually(lambda: _open_anomalies(city, 1), "the anomaly reaches the city")
    [anomaly] = await city.store.anomalies.find()
    assert anomaly["certificate_source_id"] == wrong_area.CertificateID
    assert anomaly["error_remark"] == v.OUTSIDE_JURISDICTION
    await eventually(lambda: _outbox_empty(city), "the batch is acknowledged")
    assert await cascade.ids("hlj") == {c.CertificateID for c in good}
    # the administrator corrects the certificate: a U row goes up and is accepted
    corrected = wrong_area.model_copy(update={"CertificateAreaCode": "230102"})
    await record_changes(city, [(corrected, CdOperation.UPDATE)])
    city.wakeups.push_now()
    await eventually(lambda: _open_anomalies(city, 0), "the anomaly is resolved")
    assert wrong_area.CertificateID in await cascade.ids("hlj")


async def test_a_wrong_data_source_is_corrected_without_the_admin(cascade: Cascade) -> None:
    await cascade.start("hlj-harbin", "hlj")
    city = cascade["hlj-harbin"]
    cert = make_certificate(1)
    await record_changes(city, [(cert, CdOperation.INSERT)])
    await city.store.db.execute("UPDATE outbox SET data_source = '106'")  # as if mis-configured
    city.wakeups.push_now()
    await eventually(lambda: _equals(cascade.ids("hlj"), {cert.CertificateID}), "accepted")
    await eventually(lambda: _open_anomalies(city, 0), "the anomaly is resolved")
    [anomaly] = await city.store.anomalies.find()
    assert anomaly["error_remark"] == v.FOREIGN_DATA_SOURCE
    [entry] = await cascade["hlj"].store.catalog.find()
    assert entry["data_source"] == "101"


async def test_what_national_rejects_reaches_the_node_that_sent_the_row(
    cascade: Cascade,
) -> None:
    """The ministry owns an id; a department two levels under hlj sends the same id. hlj and
    Harbin accept it (new to them), national rejects it: the anomaly travels back down through
    hlj and Harbin to the department, the node that holds the certificate."""
    owned = await _owned_by_the_ministry(cascade)
    await cascade.issue("hlj-harbin-amr", [owned])
    department = cascade["hlj-harbin-amr"]
    await eventually(lambda: _open_anomalies(department, 1), "the anomaly reaches the department")
    [anomaly] = await department.store.anomalies.find()
    assert anomaly["certificate_source_id"] == owned.CertificateID
    assert anomaly["error_remark"] == v.OWNED_ELSEWHERE
    assert anomaly["cd_batch"].startswith("hlj-")  # the batch national found it in
    assert (anomaly["status"], anomaly["relay_to"]) == ("open", "")  # the department's own row
    # each level on the way knows it too, and whom it passed it on to
    for node_id, child in (("hlj", "hlj-harbin"), ("hlj-harbin", "hlj-harbin-amr")):
        await eventually(lambda n=node_id: _relays_pending(cascade[n], 0), f"{node_id} confirmed")
        [passed] = await cascade[node_id].store.anomalies.find()
        assert (passed["status"], passed["relay_to"], passed["relay_confirmed"]) == (
            "open",
            child,
            True,
        )
    assert await cascade.ids("national", via="mot") == {owned.CertificateID}  # still the owner's


async def test_a_rejection_reaches_a_node_that_was_offline_when_it_came_back(
    cascade: Cascade,
) -> None:
    """As above, but the department is stopped by the time national rejects the row: Harbin
    keeps passing the anomaly on until the department, started again, confirms it."""
    owned = await _owned_by_the_ministry(cascade)
    await cascade.stop("national")
    await cascade.issue("hlj-harbin-amr", [owned])
    await eventually(lambda: _equals(cascade.ids("hlj"), {owned.CertificateID}), "hlj has it")
    await eventually(partial(_outbox_empty, cascade["hlj-harbin-amr"]), "Harbin acknowledged")
    await cascade.stop("hlj-harbin-amr")
    await cascade.start("national")
    harbin = cascade["hlj-harbin"]
    await eventually(partial(_relayed_to_nobody, harbin), "Harbin passes it on, unconfirmed")
    await cascade.start("hlj-harbin-amr")
    department = cascade["hlj-harbin-amr"]
    await eventually(lambda: _open_anomalies(department, 1), "the anomaly reaches the department")
    [anomaly] = await department.store.anomalies.find()
    assert anomaly["error_remark"] == v.OWNED_ELSEWHERE
    await eventually(lambda: _relays_pending(harbin, 0), "the department confirmed it")
    assert await _relays_pending(cascade["hlj"], 0)


async def test_a_batch_sent_while_the_parent_is_down_arrives_once(cascade: Cascade) -> None:
    await cascade.start("hlj-harbin", "hlj", "national")
    await cascade.stop("hlj")
    city = cascade["hlj-harbin"]
    certs = certificates(1, 20)
    await cascade.issue("hlj-harbin", certs)
    await eventually(lambda: _published(city), "the batch is published to nobody")
    await cascade.start("hlj")
    expected = {c.CertificateID for c in certs}
    await eventually(lambda: _equals(cascade.ids("national"), expected), "delivered after all")
    await eventually(lambda: _outbox_empty(city), "acknowledged")
    assert await cascade.accepted_from("hlj", "hlj-harbin") == len(certs)
    assert await cascade.accepted_from("national", "hlj") == len(certs)


async def test_a_broker_restart_loses_nothing_and_duplicates_nothing(
    cascade: Cascade, broker: BrokerProcess
) -> None:
    await cascade.start("hlj-harbin", "hlj", "national")
    first, second = certificates(1, 1200), certificates(2000, 300)
    await cascade.issue("hlj-harbin", first)
    await asyncio.to_thread(broker.restart)
    await cascade.issue("hlj-harbin", second)
    expected = {c.CertificateID for c in first + second}
    await eventually(lambda: _equals(cascade.ids("national"), expected), "all rows arrive")
    for node_id in ("hlj-harbin", "hlj"):
        await eventually(partial(_outbox_empty, cascade[node_id]), f"{node_id} drains")
    assert await cascade.accepted_from("hlj", "hlj-harbin") == len(expected)
    assert await cascade.accepted_from("national", "hlj") == len(expected)


async def test_a_type_goes_up_unapproved_and_is_approved_by_the_province(
    cascade: Cascade,
) -> None:
    await cascade.start("hlj-harbin", "hlj-daqing", "hlj", "national")
    ctype = CATALOGUE[0].model_copy(
        update={
            "CertificateTypeName": "哈尔滨市养犬登记证",
            "CertificateTypeCode": CATALOGUE[0].CertificateDefineAuthorityCode + "902",
        }
    )
    code = ctype.CertificateTypeCode
    await types.define(cascade["hlj-harbin"], ctype)
    cascade["hlj-harbin"].wakeups.push_now()
    await eventually(lambda: _type_state(cascade["national"], code, False), "national has it")
    assert (await cascade["hlj"].store.types.get(code)) is not None
    with pytest.raises(types.TypeRefused):
        await types.approve(cascade["national"], code)  # not national's to approve
    await types.approve(cascade["hlj"], code)
    cascade["hlj"].wakeups.announce_approval(code)
    for node_id in ("national", "hlj-harbin", "hlj-daqing"):
        await eventually(partial(_type_state, cascade[node_id], code, True), f"{node_id} knows")
    stored = await cascade["national"].store.types.get(code)
    assert stored is not None
    assert (stored.type, stored.defined_at_node) == (ctype, "hlj-harbin")


async def _owned_by_the_ministry(cascade: Cascade) -> Certificate:
    """Start the ministry and the department's line up to national; the ministry issues a
    certificate, and national's catalog has it through mot."""
    await cascade.start("mot", *LEVELS)
    [owned] = certificates(1, 1)
    await cascade.issue("mot", [owned])
    await eventually(
        lambda: _equals(cascade.ids("national", via="mot"), {owned.CertificateID}),
        "the ministry's certificate reaches national",
    )
    return owned


# -- checks ---------------------------------------------------------------------------------------
async def _equals(found: Awaitable[set[str]], expected: set[str]) -> bool:
    return await found == expected


async def _outbox_empty(ctx: NodeContext) -> bool:
    return await ctx.store.outbox.pending() == 0


async def _open_anomalies(ctx: NodeContext, count: int) -> bool:
    return await ctx.store.anomalies.open_count() == count


async def _type_state(ctx: NodeContext, code: str, approved: bool) -> bool:
    stored = await ctx.store.types.get(code)
    return stored is not None and stored.approved is approved


async def _relays_pending(ctx: NodeContext, count: int) -> bool:
    return await ctx.store.anomalies.relays_pending() == count


async def _relayed_to_nobody(ctx: NodeContext) -> bool:
    """An anomaly is waiting to be passed on, and has been sent at least once."""
    value = await ctx.store.db.scalar(
        "SELECT count(*) FROM anomaly WHERE relay_to != '' AND relay_done = 0"
        " AND relay_sent_at IS NOT NULL"
    )
    return int(value) > 0


async def _published(ctx: NodeContext) -> bool:
    return any(batch.sent_at is not None for batch in await ctx.store.outbox.batches())
