"""Routing benchmark: the demo network against a bare 5-process aiohttp forwarding chain.

    .venv/bin/python scripts/bench_route.py [--requests 3000] [--json out.json]

One process orchestrates everything and cleans up after itself:

1. the demo topology (fresh addresses and ports, a temporary state directory) is started with
   the Launcher; once the catalogs have aggregated, an application at hlj-harbin asks
   GetCertificateDataByCertificateID for a certificate held at jl-changchun (hlj-harbin → hlj →
   national → jl → jl-changchun: four forwards), and, for reference, for one held at hlj-harbin
   itself and one at hlj-daqing;
2. five ``scripts/bare_chain.py`` processes forward the same request bytes four times and answer
   the same response bytes, on the plain asyncio loop (the floor of NOTES.md) and on uvloop.

Each scenario runs at concurrency 1 and 32 with a bounded number of requests; the report gives
p50, p99, requests/s and the CPU time the serving processes spent per request (the figure a busy
shared machine disturbs least), and the ratios network/bare (targets: p50 ≤ 1.0, throughput ≥ 1.0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from gateway.cli.call import AppCaller  # noqa: E402
from gateway.cli.demo import certificates_by_node, wait_aggregated  # noqa: E402
from gateway.client import client_session  # noqa: E402
from gateway.launcher import Launcher  # noqa: E402
from gateway.protocol import dumps, loads  # noqa: E402

NETWORK_BLOCK = "127.0.6"  # node addresses of the benchmark network
BARE_BLOCK = "127.0.7"  # the bare chain's processes
FROM_IP = "127.0.9.9"  # the application
CONCURRENCIES = (1, 32)
READY_WITHIN = 30.0


@dataclass
class Stats:
    scenario: str
    concurrency: int
    requests: int
    p50_ms: float
    p99_ms: float
    rps: float
    errors: int
    cpu_ms: float  # CPU time of the serving processes per request (robust on a busy machine)


# -- load ------------------------------------------------------------------------------------------
class Load:
    """``concurrency`` workers POSTing one body over keep-alive connections; latencies in ms."""

    def __init__(self, session: aiohttp.ClientSession, url: str, body: bytes):
        self.session, self.url, self.body = session, url, body
        self.latencies: list[float] = []
        self.errors = 0

    async def one(self) -> None:
        started = time.perf_counter()
        async with self.session.post(
            self.url, data=self.body, headers={"Content-Type": "application/json"}
        ) as response:
            raw = await response.read()
        self.latencies.append((time.perf_counter() - started) * 1000)
        if loads(raw)["head"]["status"] != "0":
            self.errors += 1

    async def run(self, requests: int, concurrency: int) -> float:
        """Send ``requests`` in all; the seconds it took."""
        shares = [
            requests // concurrency + (i < requests % concurrency) for i in range(concurrency)
        ]

        async def worker(count: int) -> None:
            for _ in range(count):
                await self.one()

        started = time.perf_counter()
        await asyncio.gather(*(worker(share) for share in shares))
        return time.perf_counter() - started


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def measure(
    scenario: str,
    url: str,
    body: bytes,
    *,
    concurrency: int,
    requests: int,
    warmup: int,
    pids: list[int],
) -> Stats:
    """Warm up, then POST ``body`` ``requests`` times from ``concurrency`` workers."""
    async with client_session(local_host=FROM_IP, limit=concurrency + 4) as session:
        await Load(session, url, body).run(warmup, concurrency)
        load = Load(session, url, body)
        cpu_before = cpu_seconds(pids)
        elapsed = await load.run(requests, concurrency)
        cpu = cpu_seconds(pids) - cpu_before
    latencies = sorted(load.latencies)
    return Stats(
        scenario=scenario,
        concurrency=concurrency,
        requests=requests,
        p50_ms=statistics.median(latencies),
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        rps=requests / elapsed,
        errors=load.errors,
        cpu_ms=cpu * 1000 / requests,
    )


# -- the network -----------------------------------------------------------------------------------
def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def bench_topology(directory: Path) -> Path:
    """The demo topology on fresh addresses and free ports, aggregating every 0.5 s."""
    document = yaml.safe_load((PROJECT_ROOT / "topology.yaml").read_text(encoding="utf-8"))
    document["network"] = f"bench{int(time.time())}"
    broker_host = f"{NETWORK_BLOCK}.1"
    document["exchange"] |= {"host": broker_host, "port": free_port(broker_host), "interval": 0.5}
    for index, node in enumerate(document["nodes"], start=10):
        node["host"] = f"{NETWORK_BLOCK}.{index}"
        node["port"] = free_port(node["host"])
    path = directory / "topology.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    return path


async def bench_network(
    args: argparse.Namespace, workdir: Path
) -> tuple[list[Stats], bytes, bytes]:
    """The network's figures, and the request and response bytes of the cross-region call."""
    launcher = Launcher(bench_topology(workdir), workdir / "state", per_node=args.per_node)
    try:
        await launcher.up()
        await wait_aggregated(launcher, within=120)
        bodies = await request_bodies(launcher)
        topology = launcher.topology
        url = f"{topology.node('hlj-harbin').url}{topology.path}/GetCertificateDataByCertificateID"
        stats = [
            await measure(
                f"network {scenario}",
                url,
                body,
                concurrency=concurrency,
                requests=args.requests if concurrency > 1 else args.requests // 10,
                warmup=args.warmup,
                pids=list(launcher.running().values()),
            )
            for scenario, body in bodies.items()
            for concurrency in CONCURRENCIES
        ]
        async with (
            client_session(local_host=FROM_IP) as session,
            session.post(
                url, data=bodies["cross-region"], headers={"Content-Type": "application/json"}
            ) as response,
        ):
            answer = await response.read()
        return stats, bodies["cross-region"], answer
    finally:
        await launcher.down()


async def request_bodies(launcher: Launcher) -> dict[str, bytes]:
    """An application at hlj-harbin asking for certificates of jl-changchun, hlj-daqing, itself."""
    _, usable = await certificates_by_node(launcher)
    async with AppCaller(
        launcher.topology, launcher.state, "hlj-harbin", from_ip=FROM_IP, rate_limit=1e9
    ) as app:
        token, account = await app.token(), await app.account_id()
    owners = {"cross-region": "jl-changchun", "in-province": "hlj-daqing", "local": "hlj-harbin"}
    return {
        scenario: dumps(
            {
                "AccountId": account,
                "AccessToken": token,
                "CertificateID": usable[owner][0]["CertificateID"],
                "UseFor": "bench",
            }
        )
        for scenario, owner in owners.items()
    }


# -- the bare chain --------------------------------------------------------------------------------
class BareChain:
    """Five bare_chain.py processes: four forwarders and one answerer."""

    def __init__(self, answer_path: Path, *, uvloop: bool, length: int = 5):
        self.hosts = [f"{BARE_BLOCK}.{i}" for i in range(1, length + 1)]
        self.ports = [free_port(host) for host in self.hosts]
        self.answer_path = answer_path
        self.uvloop = uvloop
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://{self.hosts[0]}:{self.ports[0]}/ecert/GetCertificateDataByCertificateID"

    def start(self) -> None:
        script = str(PROJECT_ROOT / "scripts" / "bare_chain.py")
        for index in reversed(range(len(self.hosts))):  # the answerer first
            command = [
                sys.executable,
                script,
                "--listen",
                f"{self.hosts[index]}:{self.ports[index]}",
            ]
            if index + 1 < len(self.hosts):
                command += ["--next", f"http://{self.hosts[index + 1]}:{self.ports[index + 1]}/x"]
            else:
                command += ["--answer", str(self.answer_path)]
            if self.uvloop:
                command.append("--uvloop")
            env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
            process = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=PROJECT_ROOT, env=env)
            self.processes.append(process)
            _wait_ready(process)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def _wait_ready(process: subprocess.Popen[bytes]) -> None:
    """Until the process prints ``ready`` (or exits, or READY_WITHIN passes)."""
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], READY_WITHIN)
    line = process.stdout.readline() if readable else b""
    if line.strip() != b"ready":
        raise RuntimeError(f"bare_chain.py did not start (exit {process.poll()})")


async def bench_bare(args: argparse.Namespace, request: bytes, answer_path: Path) -> list[Stats]:
    stats: list[Stats] = []
    for uvloop in (False, True):
        chain = BareChain(answer_path, uvloop=uvloop)
        try:
            chain.start()
            for concurrency in CONCURRENCIES:
                count = args.requests if concurrency > 1 else args.requests // 10
                label = "bare chain " + ("uvloop" if uvloop else "asyncio")
                stats.append(
                    await measure(
                        label,
                        chain.url,
                        request,
                        concurrency=concurrency,
                        requests=count,
                        warmup=args.warmup,
                        pids=[process.pid for process in chain.processes],
                    )
                )
        finally:
            chain.stop()
    return stats


# -- report ----------------------------------------------------------------------------------------
def report(stats: list[Stats]) -> dict[str, Any]:
    by = {(s.scenario, s.concurrency): s for s in stats}
    print(
        f"{'scenario':26} {'conc':>4} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s':>8} {'errors':>6} {'CPU ms/req':>10}"
    )
    for s in stats:
        print(
            f"{s.scenario:26} {s.concurrency:>4} {s.requests:>8} {s.p50_ms:>8.2f} "
            f"{s.p99_ms:>8.2f} {s.rps:>8.0f} {s.errors:>6} {s.cpu_ms:>10.2f}"
        )
    ratios: dict[str, float] = {}
    for base in ("asyncio", "uvloop"):
        bare1, bare32 = by[(f"bare chain {base}", 1)], by[(f"bare chain {base}", 32)]
        net1, net32 = by[("network cross-region", 1)], by[("network cross-region", 32)]
        ratios[f"p50_c1_vs_{base}"] = net1.p50_ms / bare1.p50_ms
        ratios[f"p50_c32_vs_{base}"] = net32.p50_ms / bare32.p50_ms
        ratios[f"rps_c32_vs_{base}"] = net32.rps / bare32.rps
        ratios[f"cpu_c32_vs_{base}"] = net32.cpu_ms / bare32.cpu_ms
    print()
    for name, value in ratios.items():
        target = "≥ 1.0" if name.startswith("rps") else "≤ 1.0"
        if name.startswith("cpu"):
            target = "≤ 1.0; CPU per request, independent of other load on the machine"
        print(f"{name:24} {value:6.2f}   (target {target})")
    return {"stats": [asdict(s) for s in stats], "ratios": ratios}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="ecert-bench-route-"))
    try:
        network_stats, request, answer = await bench_network(args, workdir)
        answer_path = workdir / "answer.json"
        answer_path.write_bytes(answer)
        bare_stats = await bench_bare(args, request, answer_path)
        return report(network_stats + bare_stats)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests at concurrency 32")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring")
    parser.add_argument("--per-node", type=int, default=40, help="synthetic certificates per node")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    try:
        import uvloop

        result = uvloop.run(run(args))
    except ImportError:  # pragma: no cover
        result = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
