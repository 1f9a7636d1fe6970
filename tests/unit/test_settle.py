"""The settled condition of ``ecert up --wait`` read from fake status counters: the order of the
readings (deepest nodes first, each level after the one below), what lags, and the wait."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from gateway.control.errors import NotSettled
from gateway.control.node_status import BrokerStatus, NodeStatus
from gateway.control.settle import read_lags, wait_settled
from gateway.core.topology import Topology, load_topology

DEMO = load_topology(Path(__file__).resolve().parents[2] / "topology.yaml")


@dataclass
class FakeLauncher:
    """What settle reads of a launcher: the topology, the broker and each node's counters."""

    topology: Topology
    counters: dict[str, NodeStatus]
    broker_alive: bool = True
    readings: list[list[str]] = field(default_factory=list)
    script: list[dict[str, NodeStatus]] = field(default_factory=list)  # one state per reading

    def broker_status(self) -> BrokerStatus:
        return BrokerStatus("mqtt://127.0.0.1:1883", True, 1 if self.broker_alive else None,
                            self.broker_alive)  # fmt: skip

    async def status(self, node_ids: Sequence[str] | None = None) -> list[NodeStatus]:
        ids = list(node_ids or [])
        self.readings.append(ids)
        if "hlj-harbin" in ids and self.script:  # the first level of a reading
            self.counters.update(self.script.pop(0))
        return [self.counters[node_id] for node_id in ids]


def quiet(topology: Topology) -> dict[str, NodeStatus]:
    return {
        node.id: NodeStatus(
            node.id,
            str(node.tier),
            node.url,
            1,
            True,
            True,
            outbox_pending=0,
            anomaly_relays_pending=0,
        )
        for node in topology.nodes
    }


async def test_nodes_are_read_deepest_first_one_level_after_the_other() -> None:
    launcher = FakeLauncher(DEMO, quiet(DEMO))
    assert await read_lags(launcher) == []  # type: ignore[arg-type]
    assert launcher.readings == [
        ["hlj-harbin", "hlj-qiqihar", "hlj-daqing", "hlj-amr", "jl-changchun", "jl-jilin"],
        ["mot", "hlj", "jl"],
        ["national"],
    ]


async def test_lags_name_the_node_and_what_it_lags_by() -> None:
    counters = quiet(DEMO)
    counters["hlj-harbin"] = replace(counters["hlj-harbin"], outbox_pending=40)
    counters["jl"] = replace(counters["jl"], anomaly_relays_pending=2)
    counters["jl-jilin"] = replace(counters["jl-jilin"], healthy=False, error="nothing answers")
    launcher = FakeLauncher(DEMO, counters, broker_alive=False)
    lags = [str(lag) for lag in await read_lags(launcher)]  # type: ignore[arg-type]
    assert lags == [
        "the broker: the embedded broker at mqtt://127.0.0.1:1883 is not running",
        "hlj-harbin: 40 catalog row(s) not yet acknowledged by hlj",
        "jl: 2 anomaly row(s) not yet passed down to a child",
        "jl-jilin: not healthy (nothing answers)",
    ]


async def test_the_wait_needs_two_clean_readings_in_a_row() -> None:
    lagging = quiet(DEMO)
    lagging["jl-jilin"] = replace(lagging["jl-jilin"], outbox_pending=1)
    # clean, then lagging again (a correction queued after a relayed anomaly), then clean twice
    script = [quiet(DEMO), lagging, quiet(DEMO), quiet(DEMO)]
    launcher = FakeLauncher(DEMO, quiet(DEMO), script=script)
    await wait_settled(launcher, within=60)  # type: ignore[arg-type]
    assert len(launcher.readings) == 4 * 3  # four readings of three levels each


async def test_a_network_that_does_not_settle_fails_naming_the_laggards() -> None:
    counters = quiet(DEMO)
    counters["hlj-daqing"] = replace(counters["hlj-daqing"], outbox_pending=3)
    launcher = FakeLauncher(DEMO, counters)
    with pytest.raises(NotSettled) as caught:
        await wait_settled(launcher, within=0.0)  # type: ignore[arg-type]
    assert caught.value.laggards == ("hlj-daqing",)
    assert str(caught.value) == (
        "network demo has not settled within 0 s: "
        "hlj-daqing: 3 catalog row(s) not yet acknowledged by hlj"
    )
