"""China-scale networks on one machine: bring up generated trees and print what they cost.

    .venv/bin/python scripts/bench_scale.py                 # the 41- and ~430-node trees
    .venv/bin/python scripts/bench_scale.py --sizes 41,431,3200 --nodes-per-process 0

For each tree (``ecert topology china``: 41 = hlj and jl with their 22 cities and 8 departments
each; 431 = the defaults, all 31 provinces, 333 cities, 4 ministries; 3200 ≈ the defaults with
8 departments per city) the script writes the topology with a free port, starts it with the
real launcher (packed by the launcher's rule unless ``--nodes-per-process`` says otherwise) and
prints: seconds to healthy (``up``), seconds to converged catalogs (``up --wait``), the resident
memory of all its processes, the processes used, ten cross-region by-ID lookups from random
entries with each route checked against the tree, and lookups/s at concurrency 64. It stops the
network before the next tree, and stops a size that does not come up, saying why.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchkit import free_port

from gateway.control.admin_client import AdminClient
from gateway.control.app_client import AppCaller
from gateway.control.china import ChinaTree, china_topology
from gateway.control.errors import GatewayError
from gateway.control.launcher import Launcher
from gateway.control.settle import wait_settled
from gateway.core.topology import Topology

TREES: dict[int, dict[str, Any]] = {
    41: {"provinces": ["hlj", "jl"], "ministries": 0, "departments": 8},
    431: {},
    3200: {"city_departments": 8},
}
APP_IPS = ("127.19.0.9",)  # outside every generated node's address (127.20 and up)
LOOKUPS = 10
CONCURRENCY = 64
RATE_SECONDS = 10.0


def write_tree(size: int, folder: Path) -> Path:
    """The generated tree with free ports (every node shares one; the broker has its own)."""
    document = china_topology(ChinaTree(**TREES[size], interval=1.0))
    port = free_port("127.20.0.1")
    for node in document["nodes"]:
        node["port"] = port
    document["exchange"]["port"] = free_port("127.20.0.254")
    path = folder / f"china-{size}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def resident_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def with_children(pids: set[int]) -> set[int]:
    """These processes and all their descendants (validation workers count too)."""
    found, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                todo += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


def tree_route(topology: Topology, entry: str, owner: str) -> list[str]:
    """The path the tree gives from ``entry`` to ``owner`` (up to their meeting, then down)."""
    up = [entry, *(node.id for node in topology.ancestors(entry))]
    down = [owner, *(node.id for node in topology.ancestors(owner))]
    meeting = next(node for node in up if node in down)
    return up[: up.index(meeting) + 1] + list(reversed(down[: down.index(meeting)]))


async def sample_certificates(launcher: Launcher, rng: random.Random) -> list[tuple[str, str]]:
    """(owner, certificate id) of ``LOOKUPS`` usable certificates (正常, not expired) held by
    random cities."""
    topology = launcher.topology
    today = datetime.now(topology.zone).date().isoformat()
    holders = [node.id for node in topology.nodes if str(node.tier) == "city"]
    found: list[tuple[str, str]] = []
    for owner in rng.sample(holders, min(len(holders), LOOKUPS)):
        async with AdminClient(topology, launcher.state, owner) as admin:
            listed = [c for c in await admin.certificates() if c["CertificateStatus"] == "01"]
            rng.shuffle(listed)
            for summary in listed:
                record = await admin.certificate(str(summary["CertificateID"]))
                if (record.get("CertificateExpiringDate") or "9") >= today:
                    found.append((owner, str(record["CertificateID"])))
                    break
    return found


async def check_routes(
    launcher: Launcher, samples: list[tuple[str, str]], rng: random.Random
) -> tuple[int, list[tuple[str, str, str]]]:
    """Look each sample up from a random entry of another province; (right routes, the pairs)."""
    topology = launcher.topology
    cities = [node.id for node in topology.nodes if str(node.tier) == "city"]
    right, pairs = 0, []
    for owner, certificate_id in samples:
        province = topology.province_of(owner)
        others = [c for c in cities if topology.province_of(c) != province] or cities
        entry = rng.choice(others)
        async with AppCaller(topology, launcher.state, entry, from_ip=APP_IPS[0]) as app:
            params = {"CertificateID": certificate_id, "UseFor": "核验"}
            result = await app.call("GetCertificateDataByCertificateID", params)
        expected = tree_route(topology, entry, owner)
        ok = result.status == 0 and result.route == expected
        right += ok
        pairs.append((entry, certificate_id, owner))
        if not ok:
            print(f"  route {entry} → {owner}: status {result.status}, {result.route}")
    return right, pairs


async def lookup_rate(launcher: Launcher, pairs: list[tuple[str, str, str]]) -> float:
    """By-ID lookups per second, ``CONCURRENCY`` at a time, from the pairs' entries."""
    topology = launcher.topology
    done = 0
    deadline = time.monotonic() + RATE_SECONDS
    callers = {}
    for index, (entry, _, _) in enumerate(pairs):
        if entry not in callers:  # an application of its own at each entry (token limits)
            app_ip = f"127.19.1.{10 + index}"
            callers[entry] = AppCaller(topology, launcher.state, entry, from_ip=app_ip)
            await callers[entry].__aenter__()
            warm = {"CertificateID": pairs[index][1], "UseFor": "核验"}
            await callers[entry].call("GetCertificateDataByCertificateID", warm)  # its token

    async def worker(index: int) -> None:
        nonlocal done
        entry, certificate_id, _ = pairs[index % len(pairs)]
        params = {"CertificateID": certificate_id, "UseFor": "核验"}
        while time.monotonic() < deadline:
            result = await callers[entry].call("GetCertificateDataByCertificateID", params)
            done += result.status == 0

    started = time.monotonic()
    try:
        await asyncio.gather(*(worker(i) for i in range(CONCURRENCY)))
    finally:
        for caller in callers.values():
            await caller.__aexit__(None, None, None)
    return done / (time.monotonic() - started)


async def bench(size: int, folder: Path, nodes_per_process: int | None, within: float) -> None:
    path = write_tree(size, folder)
    launcher = Launcher(path, folder / f"state-{size}", seed=2836, per_node=20,
                        ready_within=within, nodes_per_process=nodes_per_process,
                        die_with_owner=True)  # fmt: skip
    nodes = len(launcher.topology.nodes)
    print(f"== {nodes} nodes ({path.name})", flush=True)
    started = time.monotonic()
    try:
        await launcher.up()
        healthy = time.monotonic() - started
        await wait_settled(launcher, within=within)
        converged = time.monotonic() - started
        pids = set(launcher.running().values())
        everything = with_children(pids)
        memory = sum(resident_kib(pid) for pid in everything) / 1024
        processes = len(pids) - (1 if launcher.broker_pid() else 0)
        print(f"  healthy {healthy:.1f} s, converged {converged:.1f} s", flush=True)
        print(f"  memory {memory:,.0f} MiB in {len(everything)} processes ({processes} node hosts, "
              f"{memory / nodes:.1f} MiB a node)", flush=True)  # fmt: skip
        rng = random.Random(size)
        samples = await sample_certificates(launcher, rng)
        right, pairs = await check_routes(launcher, samples, rng)
        print(f"  cross-region by-ID lookups: {right} of {len(samples)} routes as the tree says")
        rate = await lookup_rate(launcher, pairs)
        print(f"  {rate:,.0f} lookups/s at concurrency {CONCURRENCY}", flush=True)
    except (GatewayError, TimeoutError) as exc:
        print(f"  stopped after {time.monotonic() - started:.0f} s: {exc}"[:2000], flush=True)
    finally:
        await launcher.down()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="41,431", help="trees to run: 41, 431, 3200")
    parser.add_argument("--nodes-per-process", type=int, default=None,
                        help="nodes per process (default: the launcher's rule)")  # fmt: skip
    parser.add_argument("--within", type=float, default=600.0, help="seconds for each stage")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        for size in sizes:
            asyncio.run(bench(size, Path(folder), args.nodes_per_process, args.within))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
