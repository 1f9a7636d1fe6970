"""Expiry reminders at one node (§8.3.4): the usable certificates expiring within N days, soonest
first, through the admin API; the job publishes at once and again at every wake-up."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.core.topology import Topology
from nodes.lifecycle import apply
from nodes.model.lifecycle import Transition
from nodes.reminders import PUBLISHED_AT, publish_once, reminders_loop
from tests.service.certs import issue, make_certificate
from tests.service.conftest import Node, start_node
from tests.service.test_admin import admin

pytestmark = pytest.mark.asyncio


def days_from_today(node: Node, days: int) -> str:
    return (node.clock.today() + timedelta(days=days)).isoformat()


async def seeded(node: Node) -> dict[int, str]:
    """Certificates expiring in 5, 40 and 3 days (the last one cancelled), and one 长期."""
    soon, later, cancelled = (
        make_certificate(serial, expiring=days_from_today(node, days))
        for serial, days in ((801, 5), (802, 40), (803, 3))
    )
    await issue(node.ctx, soon, later, cancelled, make_certificate(804, expiring=""))
    await apply(node.ctx, cancelled.CertificateID, Transition.CANCEL, reason="注销")
    return {5: soon.CertificateID, 40: later.CertificateID, 3: cancelled.CertificateID}


async def ours(node: Node, ids: dict[int, str], query: str = "") -> list[tuple[str, int]]:
    status, answer = await admin(node, "GET", f"/admin/reminders{query}")
    assert status == 200, answer
    wanted = set(ids.values())
    return [
        (r["certificateID"], r["daysLeft"])
        for r in answer["reminders"]
        if r["certificateID"] in wanted
    ]


async def test_only_usable_certificates_expiring_within_the_window_are_listed(node: Node) -> None:
    ids = await seeded(node)
    assert await ours(node, ids) == [(ids[5], 5)]  # 30 days by default
    assert await ours(node, ids, "?within=60") == [(ids[5], 5), (ids[40], 40)]


@pytest.mark.parametrize("query", ["?within=x", "?within=-1", "?within=99999"])
async def test_a_bad_window_is_400(node: Node, query: str) -> None:
    status, answer = await admin(node, "GET", f"/admin/reminders{query}")
    assert status == 400
    assert "within" in answer["error"]


async def test_the_job_publishes_at_once_and_at_every_wake_up(node: Node) -> None:
    ids = await seeded(node)
    published: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    woken = asyncio.Event()

    async def wake() -> None:
        await woken.wait()
        woken.clear()

    async with asyncio.TaskGroup() as tasks:
        job = tasks.create_task(reminders_loop(node.ctx, published.put, wake))
        first = await published.get()
        assert ids[5] in {r["certificateID"] for r in first["reminders"]}
        assert (first["node"], first["within_days"]) == ("hlj-harbin", 30)
        new = make_certificate(805, expiring=days_from_today(node, 1))
        await issue(node.ctx, new)
        woken.set()
        second = await published.get()
        assert new.CertificateID not in {r["certificateID"] for r in first["reminders"]}
        listed = [(r["certificateID"], r["daysLeft"]) for r in second["reminders"]]
        assert (new.CertificateID, 1) in listed
        assert [days for _, days in listed] == sorted(days for _, days in listed)  # soonest first
        job.cancel()
    assert await node.ctx.store.state.get(PUBLISHED_AT)


async def test_publish_now_wakes_the_job(node: Node) -> None:
    status, answer = await admin(node, "POST", "/admin/reminders/publish")
    assert (status, answer["publish"]) == (202, "requested")
    assert node.ctx.wakeups.reminders.is_set()


async def test_a_node_with_nothing_to_remind_of_publishes_nothing(
    aiohttp_server: Any, topology: Topology, tmp_path: Path
) -> None:
    """A China-scale network's 431 empty messages at the broker held its catalogs back."""
    published: list[dict[str, Any]] = []

    async def publish(payload: dict[str, Any]) -> None:
        published.append(payload)

    async for empty in start_node(aiohttp_server, topology, tmp_path, seed=None):
        assert await publish_once(empty.ctx, publish) == 0
        assert published == []
        assert (await empty.ctx.store.state.get(PUBLISHED_AT) or "").endswith("(0)")
        await issue(empty.ctx, make_certificate(806, expiring=days_from_today(empty, 2)))
        assert await publish_once(empty.ctx, publish) == 1
        assert [len(p["reminders"]) for p in published] == [1]
