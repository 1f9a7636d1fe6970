"""Benchmark one node: the local by-ID path against a bare aiohttp handler, then a big store.

1. Two servers, each in its own process on its own loopback address: a seeded node (the real app,
   ``answer_locally`` as resolver) and a bare aiohttp app answering a constant JSON. The same
   aiohttp client (this process, concurrency 32) sends the same number of requests to each:
   ``GetCertificateDataByCertificateID`` to the node, the same form body to the bare app. Prints
   requests/s, p50 and p99 of both and the ratio (target: node >= 0.6 x bare).
2. A store of ``--store-size`` certificates (default 1,000,000) built from ``generate_bulk`` with
   ``executemany`` in big transactions (generation spread over the CPUs); prints the build time
   and the p50/p99 of by-ID and by-holder lookups through ``CertificateRepo`` (target p50 < 1 ms).

Usage: ``python scripts/bench_node.py [--requests 20000] [--store-size 1000000]``. Stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import cpu_seconds, free_port  # noqa: E402

NODE_HOST, BARE_HOST, CLIENT_HOST = "127.0.2.241", "127.0.2.242", "127.0.2.243"
NODE_ID = "bench-city"
BULK_CHUNK = 25_000
ROUNDS = 3  # alternating runs per server; the median one is reported
CONSTANT = b'{"head":{"status":"0","message":"ok"},"data":{"total":"0","dataList":[]}}'


def topology_text(port: int) -> str:
    return f"""
network: bench
nodes:
  - {{id: national, tier: national, name: 国家, host: 127.0.2.240, port: 8701}}
  - {{id: hlj, tier: province, parent: national, name: 黑龙江省, area_code: "230000",
      host: 127.0.2.240, port: 8702}}
  - {{id: {NODE_ID}, tier: city, parent: hlj, name: 哈尔滨市电子证照共享系统,
      area_code: "230100", data_source: "101", host: {NODE_HOST}, port: {port}}}
"""


def run_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


# -- the servers (child processes) ----------------------------------------------------------------
def node_server(port: int, state_dir: str, ready: Any, stop: Any) -> None:
    from gateway.core.topology import parse_topology
    from nodes.logs import configure_logging

    configure_logging(NODE_ID, level=logging.WARNING)

    async def main() -> None:
        from functools import partial

        import orjson
        from aiohttp import web

        from gateway.core.forwarder import Forwarder
        from nodes.clock import Clock
        from nodes.context import NodeContext
        from nodes.http.app import create_app
        from nodes.http.sharing import ACCESS
        from nodes.relay import FileRelay
        from nodes.serve import ready_to_serve, tune_collector
        from nodes.settings import NodeSettings
        from nodes.sharing.local import answer_locally, unusable_code
        from nodes.store.store import Store

        topology = parse_topology(topology_text(port))
        settings = NodeSettings(
            topology=topology, node_id=NODE_ID, state_dir=Path(state_dir), seed=7, per_node=40
        )
        async with (
            Store.open(settings.database_path) as store,
            Forwarder(topology, NODE_ID) as neighbours,
        ):
            ctx = NodeContext(settings=settings, store=store, clock=Clock(topology.zone))
            await ready_to_serve(ctx)  # as a node serves: its memories installed, GC tuned
            tune_collector()
            app = create_app(
                ctx,
                resolver=partial(answer_locally, ctx),
                file_relay=FileRelay(ctx, neighbours),
            )
            account = await app[ACCESS].create_account(ip=CLIENT_HOST, rate_limit=1e9)
            today = ctx.clock.today().isoformat()
            rows = await store.db.fetchall("SELECT certificate_id, record FROM certificate")
            usable = [row[0] for row in rows if unusable_code(orjson.loads(row[1]), today) is None]
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, NODE_HOST, port, backlog=1024).start()
            ready.put({"AccountId": account.account_id, "ids": usable, "pid": os.getpid()})
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)
            await runner.cleanup()

    run_loop(main)


def bare_server(port: int, ready: Any, stop: Any) -> None:
    async def main() -> None:
        from aiohttp import web

        async def constant(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(body=CONSTANT, content_type="application/json")

        app = web.Application()
        app.router.add_post("/ecert/{method}", constant)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, BARE_HOST, port, backlog=1024).start()
        ready.put({"pid": os.getpid()})
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        await runner.cleanup()

    run_loop(main)


# -- the client ------------------------------------------------------------------------------------
async def drive(
    url: str,
    bodies: list[dict[str, str]],
    *,
    requests: int,
    concurrency: int,
    expect: bytes,
    pid: int,
) -> dict[str, float]:
    from gateway.core.client import client_session

    latencies: list[float] = []
    async with client_session(local_host=CLIENT_HOST, limit=concurrency) as session:

        async def one(index: int) -> None:
            started = time.perf_counter()
            async with session.post(url, data=bodies[index % len(bodies)]) as response:
                body = await response.read()
            latencies.append(time.perf_counter() - started)
            if expect not in body:
                raise RuntimeError(f"unexpected answer: {body[:200]!r}")

        async def worker(first: int, count: int) -> None:
            for index in range(first, first + count):
                await one(index)

        share = requests // concurrency
        await asyncio.gather(*(worker(i * share, min(share, 200)) for i in range(concurrency)))
        latencies.clear()  # the above was the warm-up
        started, cpu = time.perf_counter(), cpu_seconds(pid)
        await asyncio.gather(*(worker(i * share, share) for i in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "cpu_us": cpu / len(latencies) * 1e6,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def http_benchmark(requests: int, concurrency: int) -> None:
    context = mp.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    node_port, bare_port = free_port(NODE_HOST), free_port(BARE_HOST)
    with tempfile.TemporaryDirectory(prefix="bench-node-") as state_dir:
        processes = [
            context.Process(target=node_server, args=(node_port, state_dir, ready, stop)),
            context.Process(target=bare_server, args=(bare_port, ready, stop)),
        ]
        for process in processes:
            process.start()
        try:
            infos = [ready.get(timeout=120) for _ in processes]
            node_info = next(info for info in infos if "ids" in info)
            bare_pid = next(info["pid"] for info in infos if "ids" not in info)
            results = asyncio.run(
                _drive_both(
                    node_info,
                    bare_pid,
                    node_port,
                    bare_port,
                    requests=requests,
                    concurrency=concurrency,
                )
            )
        finally:
            stop.set()
            for process in processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()
    _print_http(results, requests, concurrency)


async def _drive_both(
    info: dict[str, Any],
    bare_pid: int,
    node_port: int,
    bare_port: int,
    *,
    requests: int,
    concurrency: int,
) -> dict[str, dict[str, float]]:
    from gateway.core.client import client_session, read_json

    url = f"http://{NODE_HOST}:{node_port}/ecert"
    async with (
        client_session(local_host=CLIENT_HOST) as session,
        session.post(f"{url}/token", data={"AccountId": info["AccountId"]}) as response,
    ):
        token = (await read_json(response))["data"]["dataList"]  # type: ignore[index]
    bodies = [
        {
            "AccountId": info["AccountId"],
            "AccessToken": token,
            "CertificateID": certificate_id,
            "UseFor": "性能测试",
        }
        for certificate_id in info["ids"]
    ]
    urls = {
        "node": f"{url}/GetCertificateDataByCertificateID",
        "bare": f"http://{BARE_HOST}:{bare_port}/ecert/GetCertificateDataByCertificateID",
    }
    pids = {"node": info["pid"], "bare": bare_pid}
    runs: dict[str, list[dict[str, float]]] = {"node": [], "bare": []}
    for _ in range(ROUNDS):  # alternate, so that a noisy neighbour hurts both alike
        for name, target in urls.items():
            runs[name].append(
                await drive(
                    target,
                    bodies,
                    requests=requests // ROUNDS,
                    concurrency=concurrency,
                    expect=b'"status":"0"',
                    pid=pids[name],
                )
            )
    return {name: _median_run(results) for name, results in runs.items()}


def _median_run(results: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median throughput."""
    return sorted(results, key=lambda result: result["rps"])[len(results) // 2]


def _print_http(results: dict[str, dict[str, float]], requests: int, concurrency: int) -> None:
    print(
        f"HTTP: {requests} requests per server at concurrency {concurrency}, median of"
        f" {ROUNDS} alternating runs (servers in their own processes, client in this one)"
    )
    for name, label in (
        ("bare", "bare aiohttp (constant JSON)"),
        ("node", "node GetCertificateDataByCertificateID (local)"),
    ):
        r = results[name]
        print(
            f"  {label:48} {r['rps']:7.0f} req/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms"
            f"  server CPU {r['cpu_us']:5.0f} us/req"
        )
    ratio = results["node"]["rps"] / results["bare"]["rps"]
    verdict = "meets" if ratio >= 0.6 else "misses"
    print(
        f"  ratio node/bare: {ratio:.2f}x throughput ({verdict} the 0.6x target);"
        f" {results['bare']['cpu_us'] / results['node']['cpu_us']:.2f}x by server CPU per"
        " request (steadier on a shared machine)"
    )


# -- the big store ---------------------------------------------------------------------------------
def bulk_rows(task: int, count: int, seed: int) -> list[tuple[Any, ...]]:
    """``count`` certificate rows of a city-like node of its own (distinct issuers per task)."""
    import orjson

    from nodes.synth import generate_bulk

    rows = []
    for record in generate_bulk(f"bench-{task}", "230100", count=count, seed=seed):
        rows.append(
            (
                record["CertificateID"],
                record["CertificateTypeCode"],
                record["CertificateHolderCode"],
                record["CertificateHolderTypeCode"],
                record["CertificateNumber"],
                record["CertificateStatus"],
                orjson.dumps(record),
                "2026-01-01T00:00:00+08:00",
            )
        )
    return rows


INSERT = (
    "INSERT INTO certificate (certificate_id, type_code, holder_code, holder_type, number,"
    " status, record, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def store_benchmark(size: int, lookups: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-store-") as directory:
        path = Path(directory) / "store.db"
        build, count, samples = asyncio.run(build_store(path, size, lookups))
        print(
            f"\rstore: {count:,} certificates built in {build:.1f} s ({count / build:,.0f}/s),"
            f" {path.stat().st_size / 1e6:,.0f} MB"
        )
        lookups_ms = asyncio.run(measure_lookups(path, samples))
    for label, figures in lookups_ms.items():
        verdict = "meets" if figures[0] < 1.0 else "misses"
        print(
            f"  {label:40} p50 {figures[0]:.3f} ms  p99 {figures[1]:.3f} ms"
            f" ({verdict} the 1 ms p50 target)"
        )


async def build_store(
    path: Path, size: int, lookups: int
) -> tuple[float, int, list[tuple[str, str]]]:
    """Generate in a process pool, insert here in one transaction per chunk."""
    from nodes.store.certificates import CertificateRepo
    from nodes.store.db import Database

    tasks = [
        (task, min(BULK_CHUNK, size - task * BULK_CHUNK), 2836)
        for task in range((size + BULK_CHUNK - 1) // BULK_CHUNK)
    ]
    every = max(1, size // lookups)
    samples: list[tuple[str, str]] = []
    async with Database(path) as db:
        started = time.perf_counter()
        with mp.get_context("spawn").Pool(os.cpu_count() or 2) as pool:
            for index, rows in enumerate(pool.imap(_bulk_task, tasks)):
                async with db.transaction() as tx:
                    await tx.executemany(INSERT, rows)
                samples.extend((row[0], row[2]) for row in rows[::every])
                done = min(size, (index + 1) * BULK_CHUNK)
                print(f"\r  building the store: {done:,} certificates", end="", flush=True)
        build = time.perf_counter() - started
        count = await CertificateRepo(db).count()
    random.Random(1).shuffle(samples)
    return build, count, samples[:lookups]


async def measure_lookups(
    path: Path, samples: list[tuple[str, str]]
) -> dict[str, tuple[float, float]]:
    from nodes.store.certificates import CertificateRepo
    from nodes.store.db import Database

    async with Database(path) as db:
        repo = CertificateRepo(db)

        async def by_id(sample: tuple[str, str]) -> object:
            return await repo.get(sample[0])

        async def by_holder(sample: tuple[str, str]) -> object:
            return await repo.by_holder(sample[1])

        async def record(sample: tuple[str, str]) -> object:
            return await db.fetchone(
                "SELECT record FROM certificate WHERE certificate_id = ?", (sample[0],)
            )

        return {
            "by-ID (CertificateRepo.get)": await _timed(by_id, samples),
            "by-holder (CertificateRepo.by_holder)": await _timed(by_holder, samples),
            "by-ID raw record (the sharing hot path)": await _timed(record, samples),
        }


def _bulk_task(task: tuple[int, int, int]) -> list[tuple[Any, ...]]:
    return bulk_rows(*task)


async def _timed(
    lookup: Callable[[tuple[str, str]], Awaitable[object]], samples: list[tuple[str, str]]
) -> tuple[float, float]:
    """p50 and p99 in milliseconds of one lookup per sample, one after the other."""
    times = []
    for sample in samples:
        started = time.perf_counter()
        found = await lookup(sample)
        times.append((time.perf_counter() - started) * 1000)
        if not found:
            raise RuntimeError(f"sampled certificate {sample} was not found")
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per server")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--store-size", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args(argv)
    from nodes.logs import configure_logging

    configure_logging("bench", level=logging.WARNING)
    http_benchmark(args.requests, args.concurrency)
    if args.store_size > 0:
        store_benchmark(args.store_size, args.lookups)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
