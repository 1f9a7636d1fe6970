"""Console benchmark: the page over the 431-node tree of ``ecert topology china``, in chromium.

    .venv/bin/python scripts/bench_console.py [--rounds 3] [--rates 100,300,1000,3000]
                                              [--seconds 6]
    .venv/bin/python scripts/bench_console.py --live [--rounds 3]

Without ``--live`` no node is started: the console serves the real topology, every node shows
down, and what is measured is what the size of the tree costs — the server's look at 431 nodes
(``/api/status``), the page's load until the tree is built and painted, building and laying out
the tree collapsed by province, one repaint of every node (what each 2 s refresh does), a route
lit on the tree, and expanding every province. Medians over the rounds.

Then the event rate: a synthetic event stream of cross-province requests over the same tree
is appended to the state's event files (``<state>/events/<node>.jsonl``, as nodes write them)
and reaches the page through the console's real path (``EventTail`` → ``RouteBook`` → SSE
``/api/events`` → ``EventSource``). Each request is two records the page draws: the entry
node's ``request.handled`` (with its tree of hops) and a failed ``request.forwarded`` of a
fan-out (a ``route.tree`` update); one in ten also a ``batch.committed``. For each rate, for
``--seconds``: records written per second, drawn per second (``state.stats.drawn``: painted
in a frame), and the backlog (written − drawn) half-way and at the end: the page keeps up when
the backlog does not grow.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bench_scale  # scripts/ is the script's folder: the lookups of bench_scale
import yaml
from aiohttp import web
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from gateway.control.china import ChinaTree, china_topology
from gateway.control.console.server import create_console_app
from gateway.control.launcher import Launcher
from gateway.control.relocate import relocated, topology_yaml
from gateway.control.settle import wait_settled
from gateway.core.events import SUFFIX, encode
from gateway.core.topology import Topology, load_topology, parse_topology

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
ROUTE = "['hlj-harbin', 'hlj', 'national', 'jl', 'jl-changchun']"
TICK = 0.05  # seconds between two appends of the synthetic stream
RECORDS_A_REQUEST = 2.1  # a handled and a forwarded; a batch every tenth request
SAMPLE = 0.25  # seconds between two looks at the page's counters


def write_china(root: Path) -> Path:
    document = china_topology(ChinaTree())
    topology = parse_topology(yaml.safe_dump(document, allow_unicode=True))
    path = root / "china.yaml"
    path.write_text(topology_yaml(relocated(topology)), encoding="utf-8")
    return path


async def one_round(url: str, browser: Any) -> dict[str, float]:
    page = await browser.new_page(viewport={"width": 1500, "height": 1000})
    try:
        started = time.perf_counter()
        await page.goto(url)
        await page.wait_for_selector("body[data-ready='1']", timeout=120_000)
        load_ms = (time.perf_counter() - started) * 1000
        rows = await page.locator("#tree .row").count()
        tree_ms = await page.evaluate("state.timings.treeMs")
        repaint = await page.evaluate("() => { const t = performance.now(); paintAll(); "
                                      "return performance.now() - t; }")  # fmt: skip
        route = await page.evaluate(f"() => {{ const t = performance.now(); "
                                    f"showRoute({ROUTE}, {{}}, 'ok'); "
                                    f"return performance.now() - t; }}")  # fmt: skip
        expand = await page.evaluate("() => { const t = performance.now(); "
                                     "for (const e of state.nodes.values()) "
                                     "if (e.list) setCollapsed(e, false); "
                                     "document.body.offsetHeight; "
                                     "return performance.now() - t; }")  # fmt: skip
        return {"rows": rows, "load_ms": load_ms, "tree_collapsed_ms": tree_ms,
                "repaint_ms": repaint, "route_ms": route, "expand_all_ms": expand}  # fmt: skip
    finally:
        await page.close()


class SyntheticStream:
    """Cross-province requests over ``topology``, appended to the state's event files."""

    def __init__(self, topology: Topology, events_dir: Path, *, first: int = 0) -> None:
        self.events_dir = events_dir
        self.random = random.Random(2836)
        self.provinces = [n for n in topology.nodes if n.tier == "province"]
        self.cities = {p.id: [c.id for c in topology.children(p.id)] for p in self.provinces}
        self.provinces = [p for p in self.provinces if self.cities[p.id]]
        self.number = first
        self.written = 0  # records the page draws one to one

    def _request(self, at: float) -> dict[str, list[bytes]]:
        self.number += 1
        one, two = self.random.sample(self.provinces, 2)
        entry, owner = (
            self.random.choice(self.cities[one.id]),
            self.random.choice(self.cities[two.id]),
        )
        route = [entry, one.id, "national", two.id, owner]
        timing = ", ".join(f"{node};dur={5.0 - hop:.2f}" for hop, node in enumerate(route))
        request_id = f"bench{self.number:020d}"
        account = "bench-app"
        handled = encode(at, entry, "request.handled", {
            "request_id": request_id, "method": "GetCertificateDataByHolder", "status": 31,
            "account": account, "caller": account, "peer_ip": "127.0.0.9", "route": route,
            "timings": timing, "ms": 5.0,
        })  # fmt: skip
        failed = self.random.choice([c for c in self.cities[two.id] if c != owner] or [owner])
        forwarded = encode(at + 0.001, two.id, "request.forwarded", {
            "request_id": request_id, "method": "GetCertificateDataByHolder",
            "neighbour": failed, "outcome": "unreachable", "ms": 1.0,
        })  # fmt: skip
        lines = {entry: [handled], two.id: [forwarded]}
        self.written += 2
        if self.number % 10 == 0:
            lines.setdefault(one.id, []).append(encode(at, one.id, "batch.committed", {
                "cd_batch": f"b{self.number}", "child": entry, "rows": 3, "accepted": 3,
            }))  # fmt: skip
            self.written += 1
        return lines

    def append(self, requests: int) -> None:
        by_node: dict[str, list[bytes]] = {}
        at = time.time()
        for _ in range(requests):
            for node, lines in self._request(at).items():
                by_node.setdefault(node, []).extend(lines)
        for node, lines in by_node.items():
            with (self.events_dir / f"{node}{SUFFIX}").open("ab") as handle:
                handle.write(b"".join(lines))


@dataclass(frozen=True)
class Rate:
    """One window of the synthetic stream: about ``rate`` records a second for ``seconds``."""

    rate: float
    seconds: float
    topology_path: Path
    events_dir: Path
    first: int  # request numbers start after this one

    def args(self) -> list[str]:
        return [str(self.rate), str(self.seconds), str(self.topology_path),
                str(self.events_dir), str(self.first)]  # fmt: skip

    @property
    def count_file(self) -> Path:
        return self.events_dir.parent / "bench-written"


def write_stream(window: Rate) -> None:
    """The writer process: the window's records, on time however long a tick took; the
    requests written so far in ``count_file`` (replaced whole) after each tick."""
    stream = SyntheticStream(load_topology(window.topology_path), window.events_dir,
                             first=window.first)  # fmt: skip
    requests, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < window.seconds:
        due = int(window.rate / RECORDS_A_REQUEST * elapsed)
        stream.append(due - requests)
        requests = due
        window.count_file.with_suffix(".tmp").write_text(f"{requests} {elapsed}")
        window.count_file.with_suffix(".tmp").replace(window.count_file)
        time.sleep(TICK)


def written_so_far(window: Rate) -> tuple[int, float]:
    try:
        requests, elapsed = window.count_file.read_text().split()
    except (OSError, ValueError):
        return 0, 0.0
    return int(requests), float(elapsed)


async def drawn(page: Any) -> int:
    """The requests the page has drawn (entry records painted in a frame)."""
    return int(await page.evaluate("state.stats.requests"))


async def one_rate(page: Any, window: Rate) -> dict[str, Any]:
    """A writer process streams the window (its own process, so that writing does not take
    the console's loop); the page's requests drawn against those written, every SAMPLE."""
    window.count_file.unlink(missing_ok=True)
    start_drawn = await drawn(page)
    writer = await asyncio.create_subprocess_exec(sys.executable, __file__, "--write",
                                                  *window.args())  # fmt: skip
    backlogs: list[int] = []
    while writer.returncode is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(writer.wait(), SAMPLE)
        written, elapsed = written_so_far(window)
        if elapsed > 0:  # the writer has started (a Python process takes a while)
            backlogs.append(written - (await drawn(page) - start_drawn))
    written, elapsed = written_so_far(window)
    shown = await drawn(page) - start_drawn
    drained = time.perf_counter()
    with contextlib.suppress(PlaywrightTimeout):  # all_drawn says whether it got there
        await page.wait_for_function(f"state.stats.requests >= {start_drawn + written}",
                                     timeout=30_000, polling=50)  # fmt: skip
    return {"rate": window.rate, "requests": written, "elapsed": elapsed,
            "written_per_s": written / elapsed, "drawn_per_s": shown / elapsed,
            "backlogs": backlogs, "backlog_end": written - shown,
            "drain_s": time.perf_counter() - drained,
            "all_drawn": await drawn(page) - start_drawn >= written,
            "stats": await page.evaluate("JSON.stringify(state.stats)")}  # fmt: skip


async def event_rates(url: str, browser: Any, windows: list[Rate]) -> list[dict[str, Any]]:
    page = await browser.new_page(viewport={"width": 1500, "height": 1000})
    try:
        await page.goto(url)
        await page.wait_for_selector("body[data-ready='1']", timeout=120_000)
        await page.wait_for_selector("body[data-live='1']", timeout=120_000)
        return [await one_rate(page, window) for window in windows]
    finally:
        await page.close()


def report(
    looks: list[float], figures: list[dict[str, float]], rates: list[dict[str, Any]]
) -> None:
    print(f"nodes in the tree: {int(figures[0]['rows'])} (all down: none started)")
    print(f"server, one look at every node (/admin/status): {statistics.median(looks):.0f} ms")
    for key in ("load_ms", "tree_collapsed_ms", "repaint_ms", "route_ms", "expand_all_ms"):
        values = [f[key] for f in figures]
        print(f"page {key:17} median {statistics.median(values):7.1f}  "
              f"(rounds {min(values):.1f}–{max(values):.1f})")  # fmt: skip
    print("event stream (synthetic, through /api/events; a request is 2.1 records):")
    for r in rates:
        backlogs, half = r["backlogs"], len(r["backlogs"]) // 2
        first, second = statistics.mean(backlogs[:half]), statistics.mean(backlogs[half:])
        per_s = r["requests"] / r["elapsed"]
        kept = r["all_drawn"] and r["drain_s"] < 1.0 and second - first < per_s * SAMPLE
        print(f"  records asked {r['rate']:6.0f}/s  requests written {per_s:7.1f}/s "
              f"(records {per_s * RECORDS_A_REQUEST:7.1f}/s)  drawn {r['drawn_per_s']:7.1f}/s  "
              f"backlog (requests) 1st half {first:6.1f} 2nd half {second:6.1f} "
              f"max {max(backlogs):5d}  drained in {r['drain_s']:5.2f} s  "
              f"{'keeps up' if kept else 'falls behind'}")  # fmt: skip
        print(f"    page counters {r['stats']}")


async def live(rounds: int) -> None:
    """``--live``: the same tree running (node hosts, packed by the launcher's rule), the page
    over its 431 live nodes, and the events of real traffic: bench_scale's lookups across
    regions at concurrency 64 for 10 s, against the requests the page drew in that window."""
    with tempfile.TemporaryDirectory(prefix="ecert-bench-console-live-") as tmp:
        china = write_china(Path(tmp))
        launcher = Launcher(china, Path(tmp) / "state", seed=2836, per_node=20,
                            die_with_owner=True)  # fmt: skip
        started = time.perf_counter()
        try:
            await launcher.up()
            await wait_settled(launcher, within=600)  # catalogs converged: lookups find
            print(f"network up and settled: {len(launcher.topology.nodes)} nodes in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            await live_figures(launcher, rounds)
        finally:
            await launcher.down()


async def serve_console(launcher: Launcher) -> tuple[web.AppRunner, str]:
    """The console over ``launcher``'s network on a free port; its runner and its URL."""
    runner = web.AppRunner(create_console_app(launcher), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/"


async def status_looks(launcher: Launcher, rounds: int) -> tuple[list[float], int]:
    """Milliseconds of each look at every node (as the console's refresh), and how many of
    them were healthy at the last."""
    looks, healthy = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        healthy = sum(node.healthy for node in await launcher.status())
        looks.append((time.perf_counter() - started) * 1000)
    return looks, healthy


async def live_figures(launcher: Launcher, rounds: int) -> None:
    runner, url = await serve_console(launcher)
    try:
        looks, healthy = await status_looks(launcher, rounds)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            figures = [await one_round(url, browser) for _ in range(rounds)]
            page = await browser.new_page(viewport={"width": 1500, "height": 1000})
            await page.goto(url)
            await page.wait_for_selector("body[data-live='1']", timeout=120_000)
            rng = random.Random(431)
            samples = await bench_scale.sample_certificates(launcher, rng)
            _, pairs = await bench_scale.check_routes(launcher, samples, rng)
            before, at = await drawn(page), time.perf_counter()
            rate = await bench_scale.lookup_rate(launcher, pairs)
            took = time.perf_counter() - at
            shown = await drawn(page) - before
            await browser.close()
    finally:
        await runner.cleanup()
    print(f"live nodes healthy: {healthy} of {len(launcher.topology.nodes)}")
    print(f"server, one look at every live node (/admin/status): "
          f"{statistics.median(looks):.0f} ms")  # fmt: skip
    for key in ("load_ms", "tree_collapsed_ms", "repaint_ms", "route_ms", "expand_all_ms"):
        values = [f[key] for f in figures]
        print(f"page {key:17} median {statistics.median(values):7.1f}  "
              f"(rounds {min(values):.1f}–{max(values):.1f})")  # fmt: skip
    print(f"real traffic: {rate:,.0f} lookups/s answered 0 at concurrency "
          f"{bench_scale.CONCURRENCY}; the page drew {shown / took:,.0f} requests/s in the same "
          f"{took:.1f} s (a request drawn is one entry's request.handled, any status)")  # fmt: skip


async def main(rounds: int, rates: list[float], seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="ecert-bench-console-") as tmp:
        china = write_china(Path(tmp))
        launcher = Launcher(china, Path(tmp) / "state")
        runner, url = await serve_console(launcher)
        try:
            looks, _ = await status_looks(launcher, rounds)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                figures = [await one_round(url, browser) for _ in range(rounds)]
                events_dir = launcher.state.events_dir
                events_dir.mkdir(parents=True, exist_ok=True)
                windows = [Rate(rate, seconds, china, events_dir, 10**7 * n)
                           for n, rate in enumerate(rates, start=1)]  # fmt: skip
                streamed = await event_rates(url, browser, windows)
                await browser.close()
        finally:
            await runner.cleanup()
    report(looks, figures, streamed)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:  # the writer process of one window (one_rate)
        rate, seconds, path, directory, first = sys.argv[2:7]
        write_stream(Rate(float(rate), float(seconds), Path(path), Path(directory), int(first)))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rates", default="100,300,1000,3000", help="records/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=6.0, help="each rate's window")
    parser.add_argument("--live", action="store_true", help="the tree running, real traffic")
    args = parser.parse_args()
    if args.live:
        asyncio.run(live(args.rounds))
    else:
        asyncio.run(main(args.rounds, [float(r) for r in args.rates.split(",")], args.seconds))
