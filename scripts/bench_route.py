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

Each scenario runs at concurrency 1 and 32 with a bounded number of requests, in ``--rounds``
interleaved rounds (network, bare asyncio, bare uvloop, then again): a shared machine's noise
moves whole rounds, so the report gives the median of each figure over the rounds — p50, p99,
requests/s and the CPU time the serving processes spent per request (the figure other load
disturbs least) — the ratios network/bare of the medians with their range over the rounds
(targets: p50 ≤ 1.0, throughput ≥ 1.0), and where the network's CPU went, node by node.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from benchkit import cpu_seconds, free_port  # noqa: E402

from gateway.control.app_client import AppCaller  # noqa: E402
from gateway.control.cli.demo import certificates_by_node  # noqa: E402
from gateway.control.launcher import Launcher  # noqa: E402
from gateway.control.settle import wait_settled  # noqa: E402
from gateway.core.client import client_session  # noqa: E402
from gateway.core.protocol import dumps, loads  # noqa: E402

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
    cpu_us_by_process: dict[str, float]  # the same per process, in microseconds


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


async def measure(
    scenario: str,
    url: str,
    body: bytes,
    *,
    concurrency: int,
    requests: int,
    warmup: int,
    pids: dict[str, int],
) -> Stats:
    """Warm up, then POST ``body`` ``requests`` times from ``concurrency`` workers; ``pids``
    names the serving processes whose CPU time is counted."""
    async with client_session(local_host=FROM_IP, limit=concurrency + 4) as session:
        await Load(session, url, body).run(warmup, concurrency)
        load = Load(session, url, body)
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        elapsed = await load.run(requests, concurrency)
        spent = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    latencies = sorted(load.latencies)
    return Stats(
        scenario=scenario,
        concurrency=concurrency,
        requests=requests,
        p50_ms=statistics.median(latencies),
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        rps=requests / elapsed,
        errors=load.errors,
        cpu_ms=sum(spent.values()) * 1000 / requests,
        cpu_us_by_process={name: cpu * 1e6 / requests for name, cpu in spent.items()},
    )


# -- the network -----------------------------------------------------------------------------------
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


@dataclass
class Scenario:
    """One thing to measure in every round: a URL, a request body and the processes to count."""

    name: str
    url: str
    body: bytes
    pids: dict[str, int]


@asynccontextmanager
async def network_scenarios(
    args: argparse.Namespace, workdir: Path
) -> AsyncIterator[tuple[list[Scenario], bytes, bytes]]:
    """The demo network, up for the block: its scenarios, and the request and response bytes of
    the cross-region call (which the bare chain forwards and answers)."""
    launcher = Launcher(bench_topology(workdir), workdir / "state", per_node=args.per_node)
    try:
        await launcher.up()
        await wait_settled(launcher, within=120)
        bodies = await request_bodies(launcher)
        topology = launcher.topology
        url = f"{topology.node('hlj-harbin').url}{topology.path}/GetCertificateDataByCertificateID"
        pids = launcher.running()
        async with (
            client_session(local_host=FROM_IP) as session,
            session.post(
                url, data=bodies["cross-region"], headers={"Content-Type": "application/json"}
            ) as response,
        ):
            answer = await response.read()
        scenarios = [Scenario(f"network {name}", url, body, pids) for name, body in bodies.items()]
        yield scenarios, bodies["cross-region"], answer
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


def bare_scenario(chain: BareChain, request: bytes) -> Scenario:
    label = "bare chain " + ("uvloop" if chain.uvloop else "asyncio")
    pids = {f"bare{index}": process.pid for index, process in enumerate(chain.processes)}
    return Scenario(label, chain.url, request, pids)


async def measure_round(args: argparse.Namespace, scenarios: list[Scenario]) -> list[Stats]:
    """Every scenario at every concurrency, once."""
    return [
        await measure(
            scenario.name,
            scenario.url,
            scenario.body,
            concurrency=concurrency,
            requests=args.requests if concurrency > 1 else args.requests // 10,
            warmup=args.warmup,
            pids=scenario.pids,
        )
        for scenario in scenarios
        for concurrency in CONCURRENCIES
    ]


# -- report ----------------------------------------------------------------------------------------
Key = tuple[str, int]  # (scenario, concurrency)
RATIOS = {  # name: (figure, concurrency, higher is better)
    "p50_c1": ("p50_ms", 1, False),
    "p50_c32": ("p50_ms", 32, False),
    "rps_c32": ("rps", 32, True),
    "cpu_c32": ("cpu_ms", 32, False),
}


def report(rounds: list[list[Stats]]) -> dict[str, Any]:
    """Print the medians over the rounds, the ratios and the network's CPU by node."""
    runs: dict[Key, list[Stats]] = {}
    for stats in rounds:
        for s in stats:
            runs.setdefault((s.scenario, s.concurrency), []).append(s)
    print(f"medians over {len(rounds)} round(s)")
    print(
        f"{'scenario':26} {'conc':>4} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s':>8} {'errors':>6} {'CPU ms/req':>10}"
    )
    for (scenario, concurrency), group in runs.items():
        errors = sum(s.errors for s in group)
        print(
            f"{scenario:26} {concurrency:>4} {group[0].requests:>8} "
            f"{_median(group, 'p50_ms'):>8.2f} {_median(group, 'p99_ms'):>8.2f} "
            f"{_median(group, 'rps'):>8.0f} {errors:>6} {_median(group, 'cpu_ms'):>10.2f}"
        )
    ratios: dict[str, dict[str, float]] = {}
    print()
    for base in ("asyncio", "uvloop"):
        for name, (figure, concurrency, higher) in RATIOS.items():
            network = runs[("network cross-region", concurrency)]
            bare = runs[(f"bare chain {base}", concurrency)]
            per_round = [
                getattr(n, figure) / getattr(b, figure) for n, b in zip(network, bare, strict=True)
            ]
            value = _median(network, figure) / _median(bare, figure)
            ratios[f"{name}_vs_{base}"] = {
                "median": value,
                "low": min(per_round),
                "high": max(per_round),
            }
            target = "≥ 1.0" if higher else "≤ 1.0"
            print(
                f"{name + '_vs_' + base:18} {value:6.2f}   rounds {min(per_round):.2f}–"
                f"{max(per_round):.2f}   (target {target})"
            )
    print("\nCPU µs per request by process, cross-region at concurrency 32 (median):")
    for label in ("network cross-region", "bare chain asyncio", "bare chain uvloop"):
        group = runs[(label, 32)]
        names = list(group[0].cpu_us_by_process)
        spent = {n: statistics.median(s.cpu_us_by_process[n] for s in group) for n in names}
        shown = ", ".join(f"{n} {us:.0f}" for n, us in spent.items() if us >= 5)
        print(f"  {label:22} {shown}")
    return {
        "rounds": [[asdict(s) for s in stats] for stats in rounds],
        "ratios": ratios,
    }


def _median(group: list[Stats], figure: str) -> float:
    return float(statistics.median(getattr(s, figure) for s in group))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="ecert-bench-route-"))
    chains: list[BareChain] = []
    try:
        async with network_scenarios(args, workdir) as (scenarios, request, answer):
            answer_path = workdir / "answer.json"
            answer_path.write_bytes(answer)
            for uvloop in (False, True):
                chains.append(BareChain(answer_path, uvloop=uvloop))
                chains[-1].start()
            scenarios += [bare_scenario(chain, request) for chain in chains]
            rounds = []
            for number in range(1, args.rounds + 1):
                print(f"round {number} of {args.rounds} …", file=sys.stderr, flush=True)
                rounds.append(await measure_round(args, scenarios))
        return report(rounds)
    finally:
        for chain in chains:
            chain.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests at concurrency 32")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
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
