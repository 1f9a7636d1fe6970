"""Faults that nodes hold, on real processes: each kind's effect and its healing, timed and by
clear; faults kept to one application's address, hitting it and sparing another at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.control.errors import FaultNotFound
from gateway.control.faults import FaultSpec
from tests.e2e.fault_support import (
    APP,
    CROSS_ROUTE,
    ENTRY,
    OTHER_APP,
    OWNER,
    Lab,
    start_lab_network,
)
from tests.e2e.harness import Network


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    yield from start_lab_network(tmp_path_factory)


@pytest.fixture
async def lab(network: Network) -> AsyncIterator[Lab]:
    lab = await Lab.of(network)
    try:
        yield lab
    finally:
        await lab.restore()


async def forwarded(lab: Lab, request_id: str, count: int = 4) -> list[dict[str, object]]:
    """The request.forwarded events of a call (four on the cross-province route)."""
    return await lab.events_of(request_id, "request.forwarded", count)


# -- cut ------------------------------------------------------------------------------------------
async def test_a_cut_link_answers_30_until_it_heals_by_itself(lab: Lab) -> None:
    assert (await lab.lookup()).status == 0
    cut = await lab.add(kind="cut", node="p2", peer=OWNER, for_seconds=2)
    assert set(cut.nodes) == {"p2", OWNER}  # both directions: each sender holds its half
    failed = await lab.lookup()
    assert failed.status == 30, failed.envelope
    assert OWNER in failed.envelope["head"]["message"]
    assert cut.id in await lab.in_force()
    healed = await lab.healed(cut)
    assert {event["reason"] for event in healed} == {"expired"}
    assert (await lab.lookup()).status == 0
    assert cut.id not in await lab.in_force()


async def test_a_cut_in_one_direction_leaves_the_other_open(lab: Lab) -> None:
    inward = await lab.add(kind="cut", node="p2", peer=OWNER, direction="in")  # p2-c2 → p2 only
    assert inward.nodes == (OWNER,)
    assert (await lab.lookup()).status == 0  # p2 → p2-c2 still works
    await lab.faults.clear(inward.id)
    outward = await lab.add(kind="cut", node="p2", peer=OWNER, direction="out")
    assert (await lab.lookup()).status == 30
    await lab.faults.clear(outward.id)
    assert (await lab.lookup()).status == 0


# -- latency --------------------------------------------------------------------------------------
async def test_latency_on_a_link_delays_each_call_until_cleared(lab: Lab) -> None:
    slow_link = await lab.add(kind="latency", node=ENTRY, peer="p1", latency_ms=300, jitter_ms=20)
    result = await lab.lookup()
    assert result.status == 0
    assert result.route == CROSS_ROUTE
    assert dict(result.timings)[ENTRY] >= 280  # the entry waited before forwarding
    [first_hop] = [e for e in await forwarded(lab, result.request_id) if e["node"] == ENTRY]
    assert first_hop["fault"] == slow_link.id
    await lab.faults.clear(slow_link.id)
    again = await lab.lookup()
    assert [e.get("fault") for e in await forwarded(lab, again.request_id)] == [None] * 4


async def test_latency_heals_by_itself(lab: Lab) -> None:
    spec = {"kind": "latency", "node": "national", "peer": "p2", "latency_ms": 200}
    slow_link = await lab.add(**spec, for_seconds=1.5)
    result = await lab.lookup()
    assert dict(result.timings)["national"] >= 200
    await lab.healed(slow_link)
    again = await lab.lookup()
    assert [e.get("fault") for e in await forwarded(lab, again.request_id)] == [None] * 4


# -- drop -----------------------------------------------------------------------------------------
async def test_dropped_requests_wait_out_their_deadline_then_answer_30(lab: Lab) -> None:
    dropping = await lab.add(kind="drop", node="p2", peer=OWNER, direction="out", for_seconds=3)
    failed = await lab.lookup(deadline_ms=1200)
    assert failed.status == 30
    assert "no answer within" in failed.envelope["head"]["message"]
    [lost] = [e for e in await forwarded(lab, failed.request_id, 3) if e["node"] == "p2"]
    assert (lost["outcome"], lost["fault"]) == ("unreachable", dropping.id)
    await lab.healed(dropping)
    assert (await lab.lookup(deadline_ms=1200)).status == 0


async def test_dropping_is_cleared_on_demand(lab: Lab) -> None:
    dropping = await lab.add(kind="drop", node="national", peer="p2", direction="out")
    assert (await lab.lookup(deadline_ms=1200)).status == 30
    await lab.faults.clear(dropping.id)
    assert (await lab.lookup(deadline_ms=1200)).status == 0


# -- error and slow -------------------------------------------------------------------------------
async def test_a_node_answering_99_is_relayed_until_cleared(lab: Lab) -> None:
    async with lab.faults.applied(FaultSpec(kind="error", node=OWNER)) as erring:
        failed = await lab.lookup()
        assert failed.status == 99
        assert failed.route == CROSS_ROUTE
    assert erring.id not in await lab.in_force()
    assert (await lab.lookup()).status == 0


async def test_a_node_answering_99_heals_by_itself(lab: Lab) -> None:
    erring = await lab.add(kind="error", node=OWNER, for_seconds=1)
    assert (await lab.lookup()).status == 99
    await lab.healed(erring)
    assert (await lab.lookup()).status == 0
    with pytest.raises(FaultNotFound, match="had healed already"):
        await lab.faults.clear(erring.id)


async def test_a_slow_node_misses_a_short_deadline_until_cleared(lab: Lab) -> None:
    slow = await lab.add(kind="slow", node=OWNER, delay_ms=1500)
    assert (await lab.lookup(deadline_ms=700)).status == 30
    await lab.faults.clear(slow.id)
    assert (await lab.lookup(deadline_ms=700)).status == 0


async def test_a_slow_node_heals_by_itself(lab: Lab) -> None:
    slow = await lab.add(kind="slow", node=OWNER, delay_ms=400, for_seconds=2)
    result = await lab.lookup()
    assert result.status == 0
    assert dict(result.timings)["p2"] >= 400  # p2 waited for its slow child
    await lab.healed(slow)
    assert (await lab.lookup()).status == 0


# -- skew -----------------------------------------------------------------------------------------
async def test_a_skewed_clock_voids_todays_tokens_until_it_heals(lab: Lab) -> None:
    async with lab.caller(ENTRY, APP) as app:
        assert (await lab.lookup(caller=app)).status == 0  # the token of today is cached
        ahead = await lab.add(kind="skew", node=ENTRY, skew_seconds="1d", for_seconds=2)
        assert (await lab.lookup(caller=app)).status == 11
        await lab.healed(ahead)
        assert (await lab.lookup(caller=app)).status == 0
        behind = await lab.add(kind="skew", node=ENTRY, skew_seconds="-1d")
        assert (await lab.lookup(caller=app)).status == 11
        await lab.faults.clear(behind.id)
        assert (await lab.lookup(caller=app)).status == 0


# -- scoped to one application --------------------------------------------------------------------
async def test_a_fault_on_a_link_for_one_application_spares_another_at_the_same_time(
    lab: Lab,
) -> None:
    cut = await lab.add(kind="cut", node=ENTRY, peer="p1", direction="out", from_ip=APP)
    hit, spared = await asyncio.gather(lab.lookup(from_ip=APP), lab.lookup(from_ip=OTHER_APP))
    assert (hit.status, spared.status) == (30, 0)
    assert spared.route == CROSS_ROUTE
    await lab.faults.clear(cut.id)
    assert (await lab.lookup(from_ip=APP)).status == 0


async def test_99_and_latency_for_one_application_at_its_node_spare_another(lab: Lab) -> None:
    addresses = (APP, OTHER_APP, "127.0.9.7")
    async with (
        lab.caller(ENTRY, addresses[0]) as first,
        lab.caller(ENTRY, addresses[1]) as second,
        lab.caller(ENTRY, addresses[2]) as third,
    ):
        for app in (first, second, third):
            await app.token()  # today's token, before the faults
        erring = await lab.add(kind="error", node=ENTRY, from_ip=APP)
        slow = await lab.add(kind="latency", node=ENTRY, from_ip=OTHER_APP, latency_ms=250)
        results = await asyncio.gather(*(lab.lookup(caller=app) for app in (first, second, third)))
        assert [result.status for result in results] == [99, 0, 0]
        handled = {
            event["peer_ip"]: event.get("fault")
            for result in results[1:]
            for event in await lab.events_of(result.request_id, "request.handled", 5)
            if event["node"] == ENTRY
        }
        assert handled == {OTHER_APP: slow.id, "127.0.9.7": None}
        await lab.faults.clear(erring.id)
        await lab.faults.clear(slow.id)
        assert (await lab.lookup(caller=first)).status == 0


async def test_99_for_one_application_beyond_its_entry_node(lab: Lab) -> None:
    """At national, the application is known by the address its entry node recorded."""
    await lab.add(kind="error", node="national", from_ip=APP)
    hit, spared = await asyncio.gather(lab.lookup(from_ip=APP), lab.lookup(from_ip=OTHER_APP))
    assert (hit.status, spared.status) == (99, 0)
