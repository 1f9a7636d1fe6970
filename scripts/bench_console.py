"""Console benchmark: the page over the 431-node tree of ``ecert topology china``, in chromium.

    .venv/bin/python scripts/bench_console.py [--rounds 3]

No node is started (400 node processes need more memory than these machines have, NOTES.md):
the console serves the real topology, every node shows down, and what is measured is what the
size of the tree costs — the server's look at 431 nodes (``/api/status``), the page's load until
the tree is built and painted, one repaint of every node (what each 2 s refresh does), a route
lit on the tree, and expanding every province. Medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from playwright.async_api import async_playwright

from gateway.control.china import ChinaTree, china_topology
from gateway.control.console.server import create_console_app
from gateway.control.launcher import Launcher
from gateway.control.relocate import relocated, topology_yaml
from gateway.core.topology import parse_topology

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
ROUTE = "['hlj-harbin', 'hlj', 'national', 'jl', 'jl-changchun']"


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
        return {"rows": rows, "load_ms": load_ms, "repaint_ms": repaint, "route_ms": route,
                "expand_all_ms": expand}  # fmt: skip
    finally:
        await page.close()


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ecert-bench-console-") as tmp:
        launcher = Launcher(write_china(Path(tmp)), Path(tmp) / "state")
        runner = web.AppRunner(create_console_app(launcher), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        try:
            looks = []
            for _ in range(rounds):
                started = time.perf_counter()
                await launcher.status()
                looks.append((time.perf_counter() - started) * 1000)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                figures = [await one_round(url, browser) for _ in range(rounds)]
                await browser.close()
        finally:
            await runner.cleanup()
    print(f"nodes in the tree: {int(figures[0]['rows'])} (all down: none started)")
    print(f"server, one look at every node (/admin/status): {statistics.median(looks):.0f} ms")
    for key in ("load_ms", "repaint_ms", "route_ms", "expand_all_ms"):
        values = [f[key] for f in figures]
        print(f"page {key:14} median {statistics.median(values):7.1f}  "
              f"(rounds {min(values):.1f}–{max(values):.1f})")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
