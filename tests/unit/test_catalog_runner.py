"""What a node subscribes to, which messages it refuses, and who approves a type."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.core.topology import parse_topology
from nodes.catalog.ingest import Incoming
from nodes.catalog.pipeline import GROUP_BATCHES, WORKER_BYTES, IngestPipeline
from nodes.catalog.place import Place, subscriptions
from nodes.catalog.types import approver_of
from nodes.context import NodeContext
from tests.unit.test_catalog_support import make_row, node_context, topology

TOPO = topology("unit")


async def _unpublished(topic: str, message: dict[str, Any] | bytes) -> None:
    raise AssertionError(f"nothing is published here: {topic}")


def pipeline(ctx: NodeContext, publish: Any = _unpublished) -> IngestPipeline:
    return IngestPipeline(ctx, Place.of(ctx.topology, ctx.node_id), publish)


def test_each_node_subscribes_to_what_its_place_in_the_tree_needs() -> None:
    assert subscriptions(TOPO, "national") == [
        "ecert/unit/catalog/national",
        "ecert/unit/types/national",
    ]
    assert subscriptions(TOPO, "hlj-daqing") == [
        "ecert/unit/ack/hlj-daqing",
        "ecert/unit/anomaly/hlj-daqing",
    ]
    assert subscriptions(TOPO, "hlj-harbin") == [
        "ecert/unit/catalog/hlj-harbin",
        "ecert/unit/types/hlj-harbin",
        "ecert/unit/ack/hlj-harbin",
        "ecert/unit/anomaly/hlj-harbin",
    ]


def test_a_lone_node_subscribes_to_nothing() -> None:
    lone = parse_topology(
        "network: solo\nnodes:\n  - {id: national, tier: national, name: n, port: 0}\n"
    )
    assert subscriptions(lone, "national") == []


@pytest.mark.parametrize(
    "payload",
    [
        {"from": "hlj-daqing", "cd_batch": "hlj-daqing-1", "rows": []},  # not hlj-harbin's child
        {"from": "hlj-harbin-amr", "cd_batch": "hlj-daqing-1", "rows": []},  # another's batch id
        {"from": "hlj-harbin-amr", "cd_batch": "hlj-harbin-amr-1", "rows": "x"},  # rows not a list
        {"from": "hlj-harbin-amr", "rows": []},  # no cd_batch
    ],
)
async def test_catalog_messages_not_from_a_child_are_refused(
    tmp_path: Path, payload: dict[str, object]
) -> None:
    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        ingest = pipeline(ctx)
        await ingest.on_catalog(payload)
        assert ingest.inbox.empty()


async def test_a_childs_batch_is_queued_for_ingest(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        ingest = pipeline(ctx)
        rows = [make_row(1, data_source="011")]
        message = {"from": "hlj-harbin-amr", "cd_batch": "hlj-harbin-amr-9", "rows": rows}
        await ingest.on_catalog(message)
        queued: Incoming = ingest.inbox.get_nowait()
        assert (queued.sender.node_id, queued.cd_batch, queued.rows) == (
            "hlj-harbin-amr",
            "hlj-harbin-amr-9",
            rows,
        )


async def test_only_big_catalog_messages_are_taken_undecoded(tmp_path: Path) -> None:
    """Big catalog bodies go to the inbox as they came (the worker decodes them); small ones,
    and big messages of other kinds, are left to be decoded here."""
    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        ingest = pipeline(ctx)
        big = b"x" * WORKER_BYTES
        assert await ingest.take_body("ecert/unit/catalog/hlj-harbin", big)
        assert ingest.inbox.get_nowait() == big
        assert not await ingest.take_body("ecert/unit/catalog/hlj-harbin", big[:-1])
        assert not await ingest.take_body("ecert/unit/anomaly/hlj-harbin", big)
        assert ingest.inbox.empty()


async def test_a_backlog_is_committed_once_and_answered_in_the_order_it_came(
    tmp_path: Path,
) -> None:
    """Big bodies (validated in the worker process) and small decoded batches, mixed, more
    than fit one commit: every batch is stored once and acknowledged in arrival order."""
    child, rows_each, messages = "hlj-harbin-amr", 200, 3 * GROUP_BATCHES + 1
    answers: list[tuple[str, dict[str, Any]]] = []
    all_answered = asyncio.Event()

    async def publish(topic: str, message: dict[str, Any] | bytes) -> None:
        assert isinstance(message, dict)
        answers.append((topic, message))
        if len(answers) >= messages:
            all_answered.set()

    async with node_context(tmp_path, TOPO, "hlj-harbin") as ctx:
        ingest = pipeline(ctx, publish)
        sent = [f"{child}-{i}" for i in range(messages)]
        topic = "ecert/unit/catalog/hlj-harbin"

        async def feed() -> None:
            for i, cd_batch in enumerate(sent):
                size = 2 if i % 7 == 3 else rows_each
                first = i * rows_each
                rows = [make_row(first + k, data_source="011") for k in range(size)]
                message = {"from": child, "cd_batch": cd_batch, "rows": rows}
                body = orjson.dumps(message)
                if not await ingest.take_body(topic, body):
                    await ingest.on_catalog(message)

        async with asyncio.timeout(60), asyncio.TaskGroup() as tasks:
            loops = [
                tasks.create_task(ingest.validation_loop(tasks)),
                tasks.create_task(ingest.ingest_loop()),
            ]
            tasks.create_task(feed())
            await all_answered.wait()
            for loop in loops:
                loop.cancel()
        ingest.validation.close()

        assert [message["cd_batch"] for _, message in answers] == sent
        assert all(topic == "ecert/unit/ack/hlj-harbin-amr" for topic, _ in answers)
        assert await ctx.store.batches.count() == messages
        small = sum(1 for i in range(messages) if i % 7 == 3)
        expected_rows = (messages - small) * rows_each + small * 2
        assert await ctx.store.catalog.count() == expected_rows


def test_the_province_approves_types_of_its_subtree_and_national_the_rest() -> None:
    assert approver_of(TOPO, "hlj-harbin-amr") == "hlj"
    assert approver_of(TOPO, "hlj") == "hlj"
    assert approver_of(TOPO, "mot") == "national"
    assert approver_of(TOPO, "national") == "national"
