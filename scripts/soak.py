#!/usr/bin/env python3
"""Soak: many concurrent cross-region callers for a while, with catalog churn (issue #13).

Starts the demo network on fresh loopback addresses in a temporary state directory, waits until
its catalogs have settled, then for ``--seconds`` runs ``--callers`` concurrent business
applications (each from its own address, at a city, asking a certificate held in the other
province) while ``--churn`` certificates a second are issued at cities. It prints the calls
made, every answer that was not status 0 (there must be none), p50/p99 latency, and each node's
resident memory after settling, after a warm-up of load (connection pools and caches filled)
and at the end (target: growth from warm-up to end at most 5%). Stops everything it
started. ``scripts/soak.py --seconds 60 --callers 200`` is the figure in the README.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.control.admin_client import AdminClient
from gateway.control.app_client import AppCaller
from gateway.control.cli.demo import certificates_by_node
from gateway.control.launcher import Launcher
from gateway.control.relocate import write_relocated
from gateway.control.settle import wait_settled
from gateway.core.topology import load_topology

DEMO = Path(__file__).resolve().parents[1] / "topology.yaml"
ROUTES = (("hlj-harbin", "jl-changchun"), ("jl-jilin", "hlj-qiqihar"), ("hlj-daqing", "jl-jilin"))


def rss_kib(pid: int | None) -> int:
    if pid is None:
        return 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory(launcher: Launcher) -> dict[str, int]:
    return {node.id: rss_kib(launcher.node_pid(node.id)) for node in launcher.topology.nodes}


async def caller_loop(
    app: AppCaller, certificate_ids: list[str], until: float, latencies: list[float],
    outcomes: Counter[str],
) -> None:  # fmt: skip
    turn = 0
    while time.monotonic() < until:
        certificate_id = certificate_ids[turn % len(certificate_ids)]
        turn += 1
        result = await app.call(
            "GetCertificateDataByCertificateID",
            {"CertificateID": certificate_id, "UseFor": "soak"},
        )
        latencies.append(result.elapsed_ms)
        outcomes[str(result.status)] += 1


async def churn_loop(launcher: Launcher, per_second: float, until: float) -> int:
    """Issue new certificates at a city, copies of its own (each an increment that travels up)."""
    issued = 0
    listed, _ = await certificates_by_node(launcher)
    cities = [node.id for node in launcher.topology.nodes if node.tier == "city"]
    async with AdminClient(launcher.topology, launcher.state, cities[0]) as admin:
        records = [r["CertificateID"] for r in listed[cities[0]]]
        while time.monotonic() < until and records:
            certificate_id = records[issued % len(records)]
            record = await admin.request("GET", f"/admin/certificates/{certificate_id}")
            record.pop("CertificateID", None)
            await admin.request("POST", "/admin/certificates", json=record)
            issued += 1
            await asyncio.sleep(1 / per_second)
    return issued


async def soak(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="ecert-soak-") as temp:
        path = write_relocated(load_topology(DEMO), Path(temp) / "topology.yaml")
        launcher = Launcher(path, Path(temp) / "state", seed=2836, per_node=20)
        try:
            await launcher.up()
            await wait_settled(launcher, within=120)
            return await measure(launcher, args)
        finally:
            await launcher.down()


async def measure(launcher: Launcher, args: argparse.Namespace) -> int:
    _, usable = await certificates_by_node(launcher)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    before = memory(launcher)
    apps: list[AppCaller] = []
    try:
        for index in range(args.callers):
            entry = ROUTES[index % len(ROUTES)][0]
            ip = f"127.0.{10 + index // 250}.{1 + index % 250}"
            app = AppCaller(launcher.topology, launcher.state, entry, from_ip=ip,
                            name=f"soak-{index}", rate_limit=10_000)  # fmt: skip
            apps.append(await app.__aenter__())
            await app.token()
        started = time.monotonic()
        until = started + args.warmup + args.seconds
        loops: list[Any] = [
            caller_loop(app, [r["CertificateID"] for r in usable[ROUTES[i % 3][1]]], until,
                        latencies, outcomes)
            for i, app in enumerate(apps)
        ]  # fmt: skip
        warm = asyncio.create_task(warm_memory(launcher, args.warmup))
        results = await asyncio.gather(churn_loop(launcher, args.churn, until), *loops)
        took = time.monotonic() - started
        warmed = await warm
    finally:
        for app in apps:
            await app.__aexit__(None, None, None)
    after = memory(launcher)
    report(latencies, outcomes, results[0], took)
    show_memory(before, warmed, after)
    errors = sum(count for status, count in outcomes.items() if status != "0")
    return 1 if errors else 0


async def warm_memory(launcher: Launcher, after: float) -> dict[str, int]:
    """Each node's memory once the load has run ``after`` seconds (pools and caches filled)."""
    await asyncio.sleep(after)
    return memory(launcher)


def report(latencies: list[float], outcomes: Counter[str], churned: int, took: float) -> None:
    calls = len(latencies)
    cuts = statistics.quantiles(latencies, n=100) if calls > 1 else [0.0] * 99
    print(f"calls: {calls} in {took:.1f} s ({calls / took:.0f}/s); catalog changes: {churned}")
    print(f"answers: {dict(outcomes)}; errors (status other than 0): "
          f"{sum(c for s, c in outcomes.items() if s != '0')}")  # fmt: skip
    print(f"latency: p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms")


def show_memory(settled: dict[str, int], warm: dict[str, int], end: dict[str, int]) -> None:
    """Resident memory per node; growth is from the end of the warm-up to the end."""
    print(f"{'node':<14} {'settled':>9} {'warm':>9} {'end':>9} {'growth':>7}")
    for node_id, start in settled.items():
        then, last = warm.get(node_id, 0), end.get(node_id, 0)
        growth = (last - then) / then * 100 if then else 0.0
        print(f"{node_id:<14} {start / 1024:>7.1f}MB {then / 1024:>7.1f}MB {last / 1024:>7.1f}MB"
              f" {growth:>6.1f}%")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured, after the warm-up")
    parser.add_argument("--warmup", type=float, default=10.0, help="load before memory is read")
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--churn", type=float, default=5.0, help="catalog changes a second")
    return asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
