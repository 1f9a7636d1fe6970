"""Node metrics without sockets: forwards counted by neighbour and outcome, own time less waits,
and two nodes in one process sharing nothing."""

from __future__ import annotations

import pytest

from gateway.core.errors import NeighbourUnreachable
from gateway.core.forwarder import FetchedFile, Reply
from nodes.metrics import NodeMetrics


class FakeNeighbours:
    """Answers ``hlj`` with code 0 and fails to reach anyone else."""

    async def forward(
        self, neighbour_id: str, method: str, params: dict[str, str], **_: object
    ) -> Reply:
        if neighbour_id != "hlj":
            raise NeighbourUnreachable("no answer", node_id=neighbour_id)
        return Reply(neighbour_id, {"head": {"status": "0", "message": "ok"}, "data": None})

    async def fetch_file(self, url: str, *, node_id: str, deadline_ms: float) -> FetchedFile:
        raise NeighbourUnreachable("no files here", node_id=node_id)


def sample(metrics: NodeMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def forward(metrics: NodeMetrics, neighbour: str) -> Reply:
    return await metrics.metered(FakeNeighbours()).forward(
        neighbour, "Retrieval", {}, request_id="r", route=["c"], hops=5, deadline_ms=100, caller="a"
    )


async def test_forwards_are_counted_by_neighbour_and_outcome() -> None:
    metrics = NodeMetrics("harbin", ["hlj"])
    await forward(metrics, "hlj")
    with pytest.raises(NeighbourUnreachable):
        await forward(metrics, "national")
    assert sample(metrics, "ecert_forwards_total", neighbour="hlj", outcome="0") == 1
    assert sample(metrics, "ecert_forwards_total", neighbour="national", outcome="unreachable") == 1
    assert sample(metrics, "ecert_forward_duration_seconds_count", neighbour="hlj") == 1


def test_own_time_is_the_total_less_the_longest_neighbour_wait() -> None:
    metrics = NodeMetrics("hlj", ["national", "harbin", "daqing"])
    # 0.5 s in all; harbin took 300 ms and daqing 400 ms at once; national is not in this answer
    timings = [("hlj", 500.0), ("harbin", 300.0), ("daqing", 400.0), ("far", 450.0)]
    metrics.requested("Retrieval", 0, 0.5, timings)
    own_sum = sample(metrics, "ecert_request_own_duration_seconds_sum", method="Retrieval")
    assert own_sum == pytest.approx(0.1)
    assert sample(metrics, "ecert_request_duration_seconds_sum", method="Retrieval") == 0.5


def test_two_nodes_in_one_process_count_apart() -> None:
    first, second = NodeMetrics("a", []), NodeMetrics("b", [])
    first.requested("Token", 0, 0.001, [])
    assert sample(first, "ecert_requests_total", method="Token", code="0") == 1
    assert sample(second, "ecert_requests_total", method="Token", code="0") == 0
