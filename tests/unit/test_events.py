"""The event stream's records: written by a node's EventLog, read back merged in time order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.control.events import (
    ControlEvents,
    EventFilter,
    EventTail,
    read_events,
    wait_for_events,
)
from gateway.control.state import StateDir
from gateway.core.events import EventLog, encode, node_events_path, timestamp

T0 = 1_790_000_000.0  # an epoch second


class Ticks:
    """A clock that moves one millisecond each time it is read."""

    def __init__(self, start: float = T0):
        self.now = start

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_record_is_one_line_with_its_time_node_and_event_first() -> None:
    line = encode(T0, "hlj", "request.handled", {"status": 0, "fault": None, "ms": 1.23456})
    assert line.endswith(b"\n")
    record = json.loads(line)
    assert list(record) == ["ts", "node", "event", "status", "ms"]  # None is left out
    assert record["ts"] == "2026-09-21T14:13:20.000000+00:00"
    assert record["ms"] == 1.235


def test_trace_headers_captured_as_text_become_lists() -> None:
    fields = {"route": "a,b", "timings": "a;dur=3.50, b;dur=1.25"}
    record = json.loads(encode(T0, "a", "request.handled", fields))
    assert record["route"] == ["a", "b"]
    assert record["timings"] == [{"node": "a", "ms": 3.5}, {"node": "b", "ms": 1.25}]
    pairs = json.loads(encode(T0, "a", "x.y", {"timings": [("a", 2.0)]}))["timings"]
    assert pairs == [{"node": "a", "ms": 2.0}]


def test_timestamps_sort_as_the_times_do() -> None:
    times = [T0 + 0.000001, T0 + 0.5, T0 + 9.99, T0 + 10]
    assert sorted(timestamp(t) for t in reversed(times)) == [timestamp(t) for t in times]


async def test_the_log_writes_what_was_emitted_when_it_closes(tmp_path: Path) -> None:
    path = node_events_path(tmp_path, "hlj")
    async with EventLog(path, node="hlj", interval=60, clock=Ticks()) as events:
        events.emit("node.started", pid=7)
        events.emit("request.handled", at=T0 - 5, request_id="r1")
    records = lines(path)
    assert [(r["event"], r["node"]) for r in records] == [
        ("node.started", "hlj"),
        ("request.handled", "hlj"),
    ]
    assert records[1]["ts"] == timestamp(T0 - 5)  # when it began, as given


async def test_the_log_flushes_while_the_node_runs(tmp_path: Path) -> None:
    path = tmp_path / "events" / "hlj.jsonl"
    async with EventLog(path, node="hlj", interval=60) as events:
        events.emit("node.started")
        assert await events.flush() == 1
        assert [r["event"] for r in lines(path)] == ["node.started"]
        assert await events.flush() == 0


async def test_a_big_file_is_rotated_once(tmp_path: Path) -> None:
    path = tmp_path / "events" / "hlj.jsonl"
    size = len(encode(T0, "hlj", "request.handled", {"request_id": "x" * 150, "number": 0}))
    async with EventLog(path, node="hlj", interval=60, max_bytes=3 * size) as events:
        for number in range(4):  # the third line reaches the size
            events.emit("request.handled", request_id="x" * 150, number=number)
            await events.flush()
    assert [r["number"] for r in lines(path.with_name("hlj.jsonl.1"))] == [0, 1, 2]
    assert [r["number"] for r in lines(path)] == [3]
    assert [r["number"] for r in read_events(StateDir(tmp_path))] == [0, 1, 2, 3]


def test_the_files_are_merged_in_time_order_and_filtered(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.events_dir.mkdir(parents=True)
    (state.events_dir / "b.jsonl").write_bytes(
        encode(T0 + 1, "b", "request.handled", {"request_id": "r1"})
        + encode(T0 + 3, "b", "fault.applied", {"fault": "f1"})
    )
    (state.events_dir / "a.jsonl").write_bytes(
        encode(T0, "a", "request.handled", {"request_id": "r1"})
        + encode(T0 + 2, "a", "request.handled", {"request_id": "r2"})
        + b'{"ts": "cut short'
    )
    ordered = read_events(state)
    assert [(r["node"], r.get("request_id")) for r in ordered] == [
        ("a", "r1"),
        ("b", "r1"),
        ("a", "r2"),
        ("b", None),
    ]
    assert [r["node"] for r in read_events(state, EventFilter(request_id="r1"))] == ["a", "b"]
    assert len(read_events(state, EventFilter(node="a"))) == 2
    assert [r["event"] for r in read_events(state, EventFilter(event="fault."))] == [
        "fault.applied"
    ]
    assert read_events(state, EventFilter(event="fault")) == []  # a name, not a prefix
    assert len(read_events(state, EventFilter(since=timestamp(T0 + 2)))) == 2


def test_the_control_file_names_who_wrote_it(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    ControlEvents(state, by="keeper").emit("fault.healed", node="hlj", fault="f1")
    ControlEvents(state, by="launcher").emit("process.started", process="broker", pid=9)
    records = read_events(state)
    assert [(r.get("node"), r["by"], r["event"]) for r in records] == [
        ("hlj", "keeper", "fault.healed"),
        (None, "launcher", "process.started"),
    ]


def test_a_tail_hands_out_whole_lines_once(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.events_dir.mkdir(parents=True)
    path = state.events_dir / "a.jsonl"
    first, second = encode(T0, "a", "one.done", {}), encode(T0 + 1, "a", "two.done", {})
    tail = EventTail(state)
    path.write_bytes(first + second[:10])
    assert [r["event"] for r in tail.read_new()] == ["one.done"]
    with path.open("ab") as handle:
        handle.write(second[10:])
    assert [r["event"] for r in tail.read_new()] == ["two.done"]
    assert tail.read_new() == []


async def test_waiting_for_events_says_what_it_saw_when_they_do_not_come(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    ControlEvents(state, by="control").emit("fault.applied", fault="f1")
    found = await wait_for_events(state, bool, EventFilter(event="fault.applied"), within=5)
    assert [r["fault"] for r in found] == ["f1"]
    with pytest.raises(TimeoutError, match=r"fault\.applied"):
        await wait_for_events(state, lambda found: len(found) > 1, within=0.2)
