"""Fault specs as users write them, where they go in a network, and the book of those in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.control.errors import FaultInvalid
from gateway.control.faults import FaultKind, FaultRecord, FaultSpec, parse_duration
from gateway.control.faults.book import FaultBook
from gateway.control.faults.plan import check_spec, node_rules
from gateway.control.state import KEEPER, StateDir
from gateway.core.faults import RuleKind, Side
from gateway.core.topology import parse_topology

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


def spec(**fields: Any) -> FaultSpec:
    return FaultSpec.parse(fields)


# -- durations ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        ("30s", "s", 30.0),
        ("200ms", "s", 0.2),
        ("1.5m", "s", 90.0),
        ("2h", "s", 7200.0),
        ("-1d", "s", -86400.0),
        ("45", "s", 45.0),
        ("200ms", "ms", 200.0),
        ("2s", "ms", 2000.0),
        ("250", "ms", 250.0),
        (12, "ms", 12.0),
    ],
)
def test_durations_are_read_with_their_unit(text: str | int, unit: str, value: float) -> None:
    assert parse_duration(text, unit=unit) == pytest.approx(value)


@pytest.mark.parametrize("text", ["soon", "5 parsecs", "1w", "", True])
def test_a_duration_that_is_not_one_is_refused(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


# -- specs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"kind": "kill"}, "kill needs --node"),
        ({"kind": "kill", "node": "hlj", "peer": "national"}, "kill takes no --peer"),
        ({"kind": "pause", "node": "hlj", "from_ip": "127.0.9.5"}, "pause takes no --from-ip"),
        ({"kind": "latency", "node": "hlj", "peer": "national"}, "latency needs --latency"),
        ({"kind": "slow", "node": "hlj"}, "slow needs --delay"),
        ({"kind": "skew", "node": "hlj"}, "skew needs --skew"),
        ({"kind": "skew", "node": "hlj", "skew_seconds": 60, "fraction": 0.5}, "--fraction"),
        ({"kind": "cut", "node": "hlj", "direction": "out"}, "--direction is the link's"),
        ({"kind": "error", "node": "hlj", "peer": "national", "direction": "in"}, "--direction"),
        ({"kind": "drop", "node": "hlj", "latency_ms": 5}, "drop takes no --latency"),
        ({"kind": "broker-restart", "for_seconds": 5}, "over at once"),
        ({"kind": "broker-down", "node": "hlj"}, "broker-down takes no --node"),
        ({"kind": "cut", "node": "hlj", "peer": "hlj"}, "another node"),
        ({"kind": "cut", "node": "hlj", "from_ip": "over there"}, "not an IP address"),
        ({"kind": "error", "node": "hlj", "fraction": 1.5}, "--fraction"),
        ({"kind": "error", "node": "hlj", "for_seconds": "eventually"}, "--for"),
        ({"kind": "teleport", "node": "hlj"}, "kind"),
        ({"kind": "cut", "node": "hlj", "colour": "red"}, "colour"),
    ],
)
def test_a_spec_that_does_not_fit_its_kind_is_refused_in_one_line(
    fields: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(FaultInvalid, match="invalid fault") as refused:
        spec(**fields)
    assert complaint in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_spec_takes_durations_as_text() -> None:
    latency = spec(kind="latency", node="hlj", peer="national", latency_ms="0.2s", jitter_ms="20ms")
    assert (latency.latency_ms, latency.jitter_ms) == (200.0, 20.0)
    assert spec(kind="kill", node="hlj", for_seconds="1m").for_seconds == 60.0
    assert spec(kind="skew", node="hlj", skew_seconds="-1d").skew_seconds == -86400.0


@pytest.mark.parametrize(
    ("fields", "described"),
    [
        (
            {"kind": "latency", "node": "hlj", "peer": "national", "latency_ms": 200},
            "latency 200 ms on hlj ↔ national",
        ),
        (
            {"kind": "cut", "node": "hlj", "peer": "national", "direction": "out"},
            "cut on hlj → national",
        ),
        (
            {"kind": "drop", "node": "hlj", "fraction": 0.25, "from_ip": "127.0.9.5"},
            "drop requests to hlj, 25% of requests, application 127.0.9.5 only",
        ),
        ({"kind": "error", "node": "hlj", "peer": "national"}, "hlj answers 99 to requests from"),
        ({"kind": "skew", "node": "hlj", "skew_seconds": 3600}, "hlj's clock +3600 s"),
        ({"kind": "broker-down"}, "broker down"),
    ],
)
def test_a_spec_describes_itself(fields: dict[str, Any], described: str) -> None:
    assert spec(**fields).describe().startswith(described)


# -- where a fault goes ---------------------------------------------------------------------------
def test_a_link_fault_is_held_by_the_sender_of_each_direction() -> None:
    both = spec(kind="cut", node="hlj-harbin", peer="hlj", from_ip="127.0.9.5")
    rules = node_rules(TOPOLOGY, both, "f1")
    assert [(node, rule.side, rule.peer) for node, rule in rules] == [
        ("hlj-harbin", Side.OUTBOUND, "hlj"),
        ("hlj", Side.OUTBOUND, "hlj-harbin"),
    ]
    assert {rule.from_ip for _, rule in rules} == {"127.0.9.5"}
    inward = spec(kind="drop", node="hlj-harbin", peer="hlj", direction="in", fraction=0.5)
    [(node, rule)] = node_rules(TOPOLOGY, inward, "f2")
    assert (node, rule.peer, rule.kind, rule.fraction) == ("hlj", "hlj-harbin", RuleKind.DROP, 0.5)


def test_a_nodes_own_faults_are_its_inbound_rules() -> None:
    [(node, rule)] = node_rules(TOPOLOGY, spec(kind="slow", node="hlj", delay_ms=50), "f3")
    assert (node, rule.side, rule.delay_ms) == ("hlj", Side.INBOUND, 50.0)
    [(node, rule)] = node_rules(TOPOLOGY, spec(kind="skew", node="hlj", skew_seconds=9), "f4")
    assert (node, rule.kind, rule.skew_seconds, rule.id) == ("hlj", RuleKind.SKEW, 9.0, "f4")


def test_process_faults_are_held_by_no_node() -> None:
    assert node_rules(TOPOLOGY, spec(kind="kill", node="hlj"), "f5") == []


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"kind": "cut", "node": "hlj-harbin", "peer": "national"}, "are not neighbours"),
        ({"kind": "kill", "node": "jl"}, "unknown node 'jl'"),
        ({"kind": "cut", "node": "hlj", "peer": "jl"}, "unknown node 'jl'"),
        ({"kind": "error", "node": "hlj", "peer": "hlj-harbin"}, "shares its host"),
    ],
)
def test_a_fault_the_network_cannot_have_is_refused(fields: dict[str, Any], complaint: str) -> None:
    with pytest.raises(FaultInvalid, match=complaint):
        check_spec(TOPOLOGY, spec(**fields), embedded_broker=True)


def test_an_external_broker_is_not_ours_to_stop() -> None:
    with pytest.raises(FaultInvalid, match="not one ecert starts"):
        check_spec(TOPOLOGY, spec(kind="broker-down"), embedded_broker=False)


def test_a_link_fault_between_hosts_shared_is_still_possible() -> None:
    """Outbound rules name the neighbour called, so a shared host does not matter to them."""
    check_spec(TOPOLOGY, spec(kind="cut", node="hlj", peer="hlj-harbin"), embedded_broker=True)


# -- the book -------------------------------------------------------------------------------------
def record(fault_id: str, **fields: Any) -> FaultRecord:
    now = datetime.now(UTC)
    expires = fields.pop("expires_in", None)
    return FaultRecord(
        id=fault_id,
        spec=spec(**fields),
        applied_at=now,
        expires_at=None if expires is None else now + timedelta(seconds=expires),
    )


def test_the_book_hands_out_ids_and_gives_each_fault_to_one_taker(tmp_path: Path) -> None:
    book = FaultBook(StateDir(tmp_path))
    assert [book.allocate(), book.allocate()] == ["f1", "f2"]
    book.put(record("f1", kind="kill", node="hlj"))
    book.put(record("f2", kind="error", node="hlj"))
    assert [r.id for r in FaultBook(StateDir(tmp_path)).records()] == ["f1", "f2"]
    taken = book.take("f1")
    assert taken is not None
    assert taken.spec.kind is FaultKind.KILL
    assert book.take("f1") is None  # healed once
    assert [r.id for r in book.drop_over(lambda r: r.id == "f2")] == ["f2"]
    assert book.records() == []
    assert book.allocate() == "f3"


def test_the_keeper_stays_while_a_timed_process_fault_waits(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    book = FaultBook(state)
    state.write_pid(KEEPER, 4242)
    book.put(record("f1", kind="error", node="hlj", expires_in=60))  # healed by the node
    book.put(record("f2", kind="pause", node="hlj"))  # waits for a clear
    assert book.keeper_due() == []
    book.put(record("f3", kind="kill", node="hlj", expires_in=60))
    assert [fault_id for fault_id, _ in book.keeper_due()] == ["f3"]
    assert not book.retire_keeper(4242)
    book.take("f3")
    assert book.retire_keeper(4242)
    assert state.read_pid(KEEPER) is None


def test_discarding_the_book_leaves_nothing_for_the_next_up(tmp_path: Path) -> None:
    book = FaultBook(StateDir(tmp_path))
    book.allocate()
    book.put(record("f1", kind="kill", node="hlj"))
    assert [r.id for r in book.discard()] == ["f1"]
    assert not book.path.exists()
    assert book.records() == []
    assert book.allocate() == "f1"


def test_a_damaged_book_reads_as_empty(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.run_dir.mkdir(parents=True)
    state.faults_path.write_text("{not json", encoding="utf-8")
    assert FaultBook(state).records() == []
