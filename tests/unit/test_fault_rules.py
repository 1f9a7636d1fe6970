"""Fault rules (gateway.core.faults) and a node's fault table (nodes.faults): matching, expiry."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.core.faults import (
    FaultConflict,
    FaultRule,
    FaultTable,
    RuleKind,
    Side,
    caller_address,
)
from gateway.core.topology import parse_topology
from nodes.clock import Clock
from nodes.faults import FaultRefused, NodeFaults

APP = "127.0.9.5"
OTHER_APP = "127.0.9.6"


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, event: str, /, at: float | None = None, **fields: Any) -> None:
        self.events.append((event, fields))


def rule(**fields: Any) -> FaultRule:
    return FaultRule.model_validate({"id": "f1", **fields})


def table(*rules: FaultRule, seed: int = 1) -> tuple[FaultTable, FakeMonotonic]:
    clock = FakeMonotonic()
    faults = FaultTable(monotonic=clock, rng=random.Random(seed))
    for each in rules:
        faults.add(each)
    return faults, clock


# -- the rule model -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"kind": "skew", "skew_seconds": 60, "peer": "hlj"}, "whole node"),
        ({"kind": "skew"}, "skew needs skew_seconds"),
        ({"kind": "error", "side": "outbound", "peer": "hlj"}, "inbound only"),
        ({"kind": "cut", "side": "outbound"}, "names the neighbour"),
        ({"kind": "latency"}, "latency needs latency_ms"),
        ({"kind": "slow"}, "slow needs delay_ms"),
        ({"kind": "drop", "latency_ms": 5}, "drop takes no latency_ms"),
        ({"kind": "cut", "from_ip": "nowhere"}, "not an IP address"),
        ({"kind": "drop", "fraction": 0}, "greater than 0"),
        ({"kind": "error", "for_seconds": -1}, "greater than 0"),
        ({"kind": "cut", "colour": "red"}, "Extra inputs"),
    ],
)
def test_a_rule_that_cannot_hold_is_refused_saying_why(
    fields: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        rule(**fields)


def test_a_rule_describes_itself_in_one_line() -> None:
    described = rule(
        kind="latency", latency_ms=200, jitter_ms=50, side="outbound", peer="hlj", from_ip=APP
    ).describe()
    assert described == "latency 200 ms ± 50 ms, outbound to hlj, application 127.0.9.5"


def test_the_caller_header_names_the_applications_address() -> None:
    assert caller_address("acc123@127.0.9.5") == "127.0.9.5"
    assert caller_address("acc123") is None
    assert caller_address(None) is None


# -- matching -------------------------------------------------------------------------------------
def test_an_empty_table_matches_nothing() -> None:
    faults, _ = table()
    assert faults.empty
    assert faults.inbound(peer=None, addresses=(APP,)) is None
    assert faults.outbound("hlj", addresses=()) is None


def test_a_source_ip_rule_hits_one_application_and_spares_another() -> None:
    faults, _ = table(rule(kind="error", from_ip=APP))
    hit = faults.inbound(peer=None, addresses=(APP,))
    assert hit is not None
    assert hit.error
    assert hit.faults == ("f1",)
    assert faults.inbound(peer=None, addresses=(OTHER_APP,)) is None


def test_an_outbound_rule_holds_for_its_neighbour_only() -> None:
    faults, _ = table(rule(kind="cut", side="outbound", peer="hlj"))
    cut = faults.outbound("hlj", addresses=())
    assert cut is not None
    assert cut.cut
    assert faults.outbound("national", addresses=()) is None
    assert faults.inbound(peer="hlj", addresses=(APP,)) is None  # not an inbound rule


def test_an_outbound_rule_for_one_application_matches_its_calls_only() -> None:
    faults, _ = table(rule(kind="drop", side="outbound", peer="hlj", from_ip=APP))
    assert faults.outbound("hlj", addresses=(OTHER_APP,)) is None
    dropped = faults.outbound("hlj", addresses=(APP,))
    assert dropped is not None
    assert dropped.drop


def test_an_inbound_rule_for_a_neighbour_matches_requests_from_it_only() -> None:
    faults, _ = table(rule(kind="slow", delay_ms=300, peer="national"))
    slow = faults.inbound(peer="national", addresses=("127.0.2.1",))
    assert slow is not None
    assert slow.delay_s == pytest.approx(0.3)
    assert faults.inbound(peer="hlj-harbin", addresses=("127.0.2.2",)) is None
    assert faults.inbound(peer=None, addresses=(APP,)) is None


def test_latency_waits_within_its_jitter_and_delays_add_up() -> None:
    faults, _ = table(
        rule(id="f1", kind="latency", latency_ms=100, jitter_ms=20),
        rule(id="f2", kind="slow", delay_ms=50),
    )
    for _ in range(200):
        hit = faults.inbound(peer=None, addresses=(APP,))
        assert hit is not None
        assert hit.faults == ("f1", "f2")
        assert 0.130 <= hit.delay_s <= 0.170


def test_a_fraction_of_requests_is_hit() -> None:
    faults, _ = table(rule(kind="drop", fraction=0.25), seed=7)
    hits = sum(faults.inbound(peer=None, addresses=(APP,)) is not None for _ in range(4000))
    assert 800 < hits < 1200


def test_a_skew_is_held_but_matches_no_request() -> None:
    faults, _ = table(rule(kind="skew", skew_seconds=86400))
    assert faults.empty
    assert [held.rule.id for held in faults.held()] == ["f1"]


def test_an_id_is_held_once() -> None:
    faults, _ = table(rule(kind="cut"))
    with pytest.raises(FaultConflict):
        faults.add(rule(kind="error"))


# -- expiry ---------------------------------------------------------------------------------------
def test_a_timed_rule_stops_matching_when_its_time_is_up() -> None:
    faults, clock = table(rule(kind="error", for_seconds=30))
    assert faults.next_expiry() == clock.now + 30
    clock.now += 29.9
    assert faults.inbound(peer=None, addresses=(APP,)) is not None
    assert faults.held()[0].remaining(clock.now) == pytest.approx(0.1)
    clock.now += 0.1
    assert faults.inbound(peer=None, addresses=(APP,)) is None
    assert faults.held() == []
    assert [held.rule.id for held in faults.expire()] == ["f1"]
    assert faults.expire() == []
    assert faults.empty


def test_an_untimed_rule_holds_until_removed() -> None:
    faults, clock = table(rule(kind="cut"))
    clock.now += 10**7
    assert faults.expire() == []
    assert faults.remove("f1") is not None
    assert faults.remove("f1") is None
    assert faults.empty


# -- a node's faults ------------------------------------------------------------------------------
TOPOLOGY = parse_topology(
    """
network: unit
nodes:
  - {id: national, tier: national, name: n, host: 127.0.2.1, port: 8701}
  - {id: hlj, tier: province, parent: national, name: h, area_code: "230000",
     host: 127.0.2.2, port: 8701}
  - {id: hlj-harbin, tier: city, parent: hlj, name: c, area_code: "230100", data_source: "101",
     host: 127.0.2.3, port: 8701}
  - {id: hlj-daqing, tier: city, parent: hlj, name: d, area_code: "230600", data_source: "102",
     host: 127.0.2.3, port: 8702}
"""
)


def node_faults(node_id: str = "hlj") -> tuple[NodeFaults, FakeMonotonic, Clock, Recorder]:
    clock = Clock(TOPOLOGY.zone)
    events = Recorder()
    faults = NodeFaults(TOPOLOGY, node_id, clock, events)
    monotonic = FakeMonotonic()
    faults.table.monotonic = monotonic
    return faults, monotonic, clock, events


def test_a_skew_moves_the_nodes_clock_until_it_heals() -> None:
    faults, monotonic, clock, events = node_faults()
    before = clock.today()
    faults.add(rule(kind="skew", skew_seconds=86400, for_seconds=60))
    assert clock.today() == before + timedelta(days=1)
    monotonic.now += 60
    faults.heal_expired()
    assert clock.offset == timedelta(0)
    assert [(name, fields.get("reason")) for name, fields in events.events] == [
        ("fault.applied", None),
        ("fault.healed", "expired"),
    ]


def test_turning_the_clock_back_does_not_keep_a_fault_alive() -> None:
    faults, monotonic, clock, _ = node_faults()
    faults.add(rule(id="late", kind="skew", skew_seconds=-86400))
    faults.add(rule(id="error", kind="error", for_seconds=5))
    assert clock.today() < Clock(TOPOLOGY.zone).today()
    monotonic.now += 5
    assert [held.rule.id for held in faults.heal_expired()] == ["error"]
    assert faults.inbound(APP, None) is None


def test_a_rule_for_a_node_that_is_not_a_neighbour_is_refused() -> None:
    faults, *_ = node_faults("hlj-harbin")
    with pytest.raises(FaultRefused, match="national is not a neighbour of hlj-harbin"):
        faults.add(rule(kind="cut", side="outbound", peer="national"))


def test_an_inbound_rule_for_a_neighbour_sharing_a_host_is_refused() -> None:
    faults, *_ = node_faults("hlj")
    with pytest.raises(FaultRefused, match="cannot be told apart"):
        faults.add(rule(kind="error", peer="hlj-harbin"))
    faults.add(rule(kind="cut", side=Side.OUTBOUND, peer="hlj-harbin"))  # outbound is fine


def test_the_caller_header_counts_only_from_a_nodes_address() -> None:
    faults, *_ = node_faults("hlj")
    faults.add(rule(kind="error", from_ip=APP))
    assert faults.inbound("127.0.2.3", f"acc@{APP}") is not None  # forwarded by hlj-harbin
    assert faults.inbound("127.0.9.7", f"acc@{APP}") is None  # an application's own claim
    assert faults.inbound(APP, None) is not None


def test_clearing_heals_every_rule_and_says_so() -> None:
    faults, _, clock, events = node_faults()
    faults.add(rule(id="a", kind=RuleKind.CUT))
    faults.add(rule(id="b", kind=RuleKind.SKEW, skew_seconds=3600))
    assert [held.rule.id for held in faults.clear()] == ["a", "b"]
    assert clock.offset == timedelta(0)
    healed = [fields["fault"] for name, fields in events.events if name == "fault.healed"]
    assert healed == ["a", "b"]
