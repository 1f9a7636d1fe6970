"""``ecert console`` in a real browser (Debian's chromium, driven by Playwright) over the demo
network: the tree, a cross-province lookup from the form lit up hop by hop in route order, a bad
call showing the node's envelope, a node going down and up, a stopped network, and the refusal
to start without one. The page's screenshot is left in ``reports/console.png``."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from gateway.control.faults import Faults
from gateway.control.launcher import Launcher
from gateway.control.pytest_plugin import network_spec
from gateway.control.testing import EcertNetwork
from gateway.core.topology import Topology
from tests.e2e.harness import PROJECT_ROOT, write_topology
from tests.e2e.test_demo_aggregation import resident_id_card

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
SCREENSHOT = PROJECT_ROOT / "reports" / "console.png"
CROSS_PROVINCE = ["hlj-harbin", "hlj", "national", "jl", "jl-changchun"]
WAIT_MS = 60_000  # for the page to show what the network did (events, not sleeps)
CONSOLE_STARTS_WITHIN = 60.0

pytestmark = pytest.mark.ecert_topology(per_node=12)  # a network of this module's own


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium; missing is a skip outside CI, a failure in it."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run installs it with apt")
        pytest.skip("no /usr/bin/chromium here (apt-get install chromium fonts-noto-cjk)")
    return CHROMIUM


@asynccontextmanager
async def browser_page(chromium: Path, url: str) -> AsyncIterator[Any]:
    """A headless chromium tab on ``url``, once the page has loaded and seen the network."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1500, "height": 1000})
            await page.goto(url)
            await page.wait_for_selector("body[data-ready='1']", timeout=WAIT_MS)
            await page.wait_for_selector("#banner[data-state='running']", timeout=WAIT_MS)
            yield page
        finally:
            await browser.close()


@contextmanager
def console(state_dir: Path) -> Iterator[str]:
    """``ecert console --port 0`` over the network of ``state_dir``; its URL, from its output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.control.cli", "console", "--port", "0",
         "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], CONSOLE_STARTS_WITHIN)
        line = process.stdout.readline() if ready else ""
        assert line.startswith("console: http://"), (line, process.stderr and process.stderr.read())
        yield line.removeprefix("console: ").strip()
    finally:
        process.terminate()
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def network(ecert_networks: Any, request: pytest.FixtureRequest) -> EcertNetwork:
    """This module's network, started before any event loop runs (its processes belong to the
    main thread)."""
    started: EcertNetwork = ecert_networks.get(network_spec(request))
    return started


@pytest.fixture(scope="module")
def console_url(network: EcertNetwork) -> Iterator[str]:
    with console(network.state_dir) as url:
        yield url


async def call_from_form(page: Any, node: str, method: str, params: str) -> None:
    await page.select_option("#f-node", node)
    await page.select_option("#f-method", method)
    await page.fill("#f-params", params)
    await page.click("#f-submit")


async def test_the_tree_shows_every_node_healthy(
    chromium: Path, console_url: str, network: EcertNetwork
) -> None:
    ids = [node.id for node in network.launcher.topology.nodes]
    async with browser_page(chromium, console_url) as page:
        rows = await page.locator("#tree .row").evaluate_all("rs => rs.map(r => r.dataset.node)")
        assert rows == ids
        await page.wait_for_function(
            f"document.querySelectorAll('#tree .row.up').length === {len(ids)}"
        )
        harbin = await page.locator(".row[data-node='hlj-harbin']").inner_text()
        assert "哈尔滨市电子证照共享系统" in harbin
        await page.click("#lang")  # English: ids for names
        assert "哈尔滨" not in await page.locator(".row[data-node='hlj-harbin']").inner_text()
        await page.click("#lang")


async def test_a_cross_province_lookup_lights_up_hop_by_hop(
    chromium: Path, console_url: str, network: EcertNetwork
) -> None:
    cert = network.certificates("jl-changchun", usable=True)[0]
    params = f"CertificateID={cert['CertificateID']}\nUseFor=办理业务"
    async with browser_page(chromium, console_url) as page:
        await call_from_form(page, "hlj-harbin", "GetCertificateDataByCertificateID", params)
        await page.wait_for_selector("#outcome[data-status='0']", timeout=WAIT_MS)
        items = page.locator("#route li")
        assert await items.evaluate_all("items => items.map(i => i.dataset.node)") == CROSS_PROVINCE
        assert all(" ms" in text for text in await items.all_inner_texts())
        owner = f".row[data-node='{CROSS_PROVINCE[-1]}'][data-hop='{len(CROSS_PROVINCE) - 1}']"
        await page.wait_for_selector(owner, timeout=WAIT_MS)  # the tree lit up to the owner
        lit = await page.locator(".row.hop").evaluate_all(
            "rows => rows.map(r => [Number(r.dataset.hop), r.dataset.node])"
        )
        assert [node for _, node in sorted(lit)] == CROSS_PROVINCE
        assert await page.locator("#plan tbody tr").count() >= len(CROSS_PROVINCE)
        assert cert["CertificateHolderCode"] in await page.inner_text("#envelope")
        assert (await page.locator("#recent li").first.inner_text()).startswith("#")
        request_id = await page.evaluate("state.lastRecord.answer.request_id")
        await page.locator(f"#live li[data-request-id='{request_id}']").wait_for(timeout=WAIT_MS)
        assert await page.locator("#live li").count() == 1  # its explain call is not listed
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT), full_page=True)
        recent = page.locator("#recent li")  # filtered by request id, then replayed
        request_id = await recent.first.get_attribute("data-request-id")
        assert request_id
        await page.fill("#recent-filter", "no-such-node-or-request")
        assert await recent.count() == 0
        await page.fill("#recent-filter", request_id)
        assert await recent.count() == 1
        await page.fill("#recent-filter", "")
        listed = await recent.count()
        await recent.first.click()
        await page.wait_for_function(f"document.querySelectorAll('#recent li').length > {listed}")
        assert (await recent.first.inner_text()).endswith("→ 0 (5)")


async def test_a_link_cut_from_the_page_fails_the_lookup_in_red_until_healed(
    chromium: Path, console_url: str, network: EcertNetwork
) -> None:
    """The fault switch cuts national ↔ jl; the tree shows the fault, the event stream shows it
    applied and the failed request; heal it from the page and the lookup answers again."""
    cert = network.certificates("jl-changchun", usable=True)[0]
    params = f"CertificateID={cert['CertificateID']}\nUseFor=办理业务"
    by_id = "GetCertificateDataByCertificateID"
    try:
        async with browser_page(chromium, console_url) as page:
            await page.wait_for_selector("body[data-live='1']", timeout=WAIT_MS)
            await page.select_option("#x-kind", "cut")
            await page.select_option("#x-node", "jl")
            await page.select_option("#x-peer", "national")
            await page.fill("#x-for", "10m")
            await page.click("#x-submit")
            fault = page.locator("#faults li[data-kind='cut']")
            await fault.wait_for(timeout=WAIT_MS)
            assert "jl" in await fault.inner_text()
            assert await fault.locator(".left").inner_text() != ""  # its time left
            for node in ("jl", "national"):  # the fault on the tree
                await page.wait_for_selector(f".row[data-node='{node}'] .faults:has-text('cut')",
                                             timeout=WAIT_MS)  # fmt: skip
            applied = "#activity li[data-event='fault.applied'][data-node='jl']"
            await page.wait_for_selector(applied, timeout=WAIT_MS)  # from the event stream
            await call_from_form(page, "hlj-harbin", by_id, params)
            await page.wait_for_selector("#outcome.fail", timeout=WAIT_MS)
            assert await page.get_attribute("#outcome", "data-status") != "0"
            await page.wait_for_selector(".row.hop-fail", timeout=WAIT_MS)
            request_id = await page.evaluate("state.lastRecord.answer.request_id")
            live = page.locator(f"#live li.fail[data-request-id='{request_id}']")
            await live.wait_for(timeout=WAIT_MS)  # the same request, from the event stream
            await page.screenshot(path=str(SCREENSHOT.with_name("console-fault.png")),
                                  full_page=True)  # fmt: skip
            await fault.locator("button.heal").click()
            await fault.wait_for(state="detached", timeout=WAIT_MS)
            await page.wait_for_selector("#activity li[data-event='fault.healed']", timeout=WAIT_MS)
            assert await page.locator(".row .faults:has-text('cut')").count() == 0
            await call_from_form(page, "hlj-harbin", by_id, params)
            await page.wait_for_selector("#outcome[data-status='0']", timeout=WAIT_MS)
            owner = ".row.hop[data-node='jl-changchun'][data-hop='4']"
            await page.wait_for_selector(owner, timeout=WAIT_MS)
            await live.click()  # replayed from the event: red again on the tree
            await page.wait_for_selector(".row.hop-fail[data-node='hlj-harbin']", timeout=WAIT_MS)
    finally:
        await Faults(network.launcher).clear_all()


def fan_out_entry(topology: Topology, held: set[str]) -> str | None:
    """A node holding none of ``held`` whose by-holder lookup asks every one of them: the first
    subtree on its way up that holds any of them holds them all (cities first)."""
    for node in sorted(topology.nodes, key=lambda n: n.tier != "city"):
        if node.id in held:
            continue
        for above in [node, *topology.ancestors(node.id)]:
            below = {n.id for n in topology.subtree(above.id)}
            if below & held:
                if held <= below and above.id != node.id:
                    return node.id
                break
    return None


def spread_holder(network: EcertNetwork) -> tuple[dict[str, str], str, str, str]:
    """A by-holder query held at two or more nodes, an entry whose lookup fans out to all of
    them, one owner (``failed``) and its parent (``asker``), the link between them to cut."""
    topology = network.launcher.topology
    owners: dict[tuple[str, str], set[str]] = {}
    for node in topology.nodes:
        for cert in network.certificates(node.id):
            key = (cert["CertificateHolderCode"], cert["CertificateTypeCode"])
            owners.setdefault(key, set()).add(node.id)
    for (holder, type_code), held in sorted(owners.items()):
        entry = fan_out_entry(topology, held) if len(held) > 1 else None
        failed = sorted(held)[-1]
        asker = topology.node(failed).parent
        if entry is not None and asker is not None and entry != asker:
            query = {"CertificateHolderCode": holder, "CertificateTypeCode": type_code}
            return query, failed, asker, entry
    raise AssertionError(f"no holder held at two nodes a lookup fans out to: {owners}")


async def test_a_cut_under_a_fan_out_shows_31_and_the_branch_that_failed(
    chromium: Path, console_url: str, network: EcertNetwork
) -> None:
    """A by-holder lookup fans out to two owners; the link to one of them is cut from the page:
    the answer is 31 (partial), the tree of hops branches, and the cut branch is drawn in the
    failure colour (from the event stream's forwards) while the other answered."""
    query, failed, asker, entry = spread_holder(network)
    params = "\n".join(f"{name}={value}" for name, value in {**query, "UseFor": "办理业务"}.items())
    try:
        async with browser_page(chromium, console_url) as page:
            await page.wait_for_selector("body[data-live='1']", timeout=WAIT_MS)
            await page.select_option("#x-kind", "cut")
            await page.select_option("#x-node", failed)
            await page.select_option("#x-peer", asker)
            await page.fill("#x-for", "10m")
            await page.click("#x-submit")
            applied = f"#activity li[data-event='fault.applied'][data-node='{failed}']"
            await page.wait_for_selector(applied, timeout=WAIT_MS)
            await call_from_form(page, entry, "GetCertificateDataByHolder", params)
            await page.wait_for_selector("#outcome[data-status]", timeout=WAIT_MS)
            outcome = await page.get_attribute("#outcome", "data-status")
            assert outcome == "31", (query, failed, asker, entry, await page.inner_text("#result"))
            branch = f"#route li.hop-fail[data-node='{failed}']"  # the forward's event drew it
            try:
                await page.wait_for_selector(branch, timeout=WAIT_MS)
            except PlaywrightTimeout as exc:  # say what the page had from the stream
                seen = await page.evaluate("JSON.stringify([[...state.trees], state.stats])")
                raise AssertionError(seen) from exc
            assert "unreachable" in await page.locator(branch).inner_text()
            await page.wait_for_selector(f".row.hop-fail[data-node='{failed}']", timeout=WAIT_MS)
            fan_out = page.locator(f"#route li[data-node='{asker}'] > ul > li")
            assert await fan_out.count() >= 1
            answered = await page.locator("#route li.hop, #route li.hop-partial").evaluate_all(
                "items => items.map(i => i.dataset.node)"
            )
            assert entry in answered
            assert failed not in answered
            await page.wait_for_selector(f".row.hop-partial[data-node='{entry}']", timeout=WAIT_MS)
            every_hop_known = ("hopsOf(state.lastRecord.tree).every(h => h.depth === 0 "
                               "|| h.status !== null || h.outcome !== 'answered')")  # fmt: skip
            await page.wait_for_function(every_hop_known, timeout=WAIT_MS)  # each forward seen
            await page.screenshot(path=str(SCREENSHOT.with_name("console-partial.png")),
                                  full_page=True)  # fmt: skip
    finally:
        await Faults(network.launcher).clear_all()


async def test_batches_going_up_and_an_anomaly_coming_down_show_as_they_happen(
    chromium: Path, console_url: str, network: EcertNetwork
) -> None:
    """A new certificate at jl-changchun goes up to jl and national; one outside its area comes
    back down from jl as an anomaly: each step a line of the activity list, from the stream.
    (``anomaly.relayed`` is a province passing one on below its child: not in this shape.)"""
    async with browser_page(chromium, console_url) as page:
        await page.wait_for_selector("body[data-live='1']", timeout=WAIT_MS)
        card = resident_id_card(7, area="220102")
        network.seal("jl-changchun", card)  # the test authority's seal (README "Seals")
        network.admin("jl-changchun", "POST", "/admin/certificates", json=card)
        for node, event in (("jl-changchun", "batch.published"), ("jl", "batch.committed"),
                            ("national", "batch.committed")):  # fmt: skip
            line = f"#activity li[data-event='{event}'][data-node='{node}']"
            await page.wait_for_selector(line, timeout=WAIT_MS)
        outside = resident_id_card(8, area="230102")  # a Harbin area code, sent by Changchun
        network.admin("jl-changchun", "POST", "/admin/certificates?validate=false", json=outside)
        received = "#activity li[data-event='anomaly.received'][data-node='jl-changchun']"
        await page.wait_for_selector(received, timeout=WAIT_MS)  # sent back down by jl
        assert "anomalies 1" in await page.locator(received).first.inner_text()  # one anomaly


async def test_a_call_without_its_parameters_shows_the_nodes_envelope(
    chromium: Path, console_url: str
) -> None:
    async with browser_page(chromium, console_url) as page:
        by_id = "GetCertificateDataByCertificateID"
        await call_from_form(page, "hlj-harbin", by_id, "UseFor=办理业务")
        await page.wait_for_selector("#outcome[data-status='12']", timeout=WAIT_MS)
        assert '"status": "12"' in await page.inner_text("#envelope")
        await call_from_form(page, "hlj-harbin", by_id, "no equals sign")
        await page.wait_for_selector("#error:not([hidden])", timeout=WAIT_MS)
        assert "no equals sign" in await page.inner_text("#error")


async def test_a_node_going_down_and_up_shows_red_then_green(
    chromium: Path, console_url: str, network: EcertNetwork
) -> None:
    launcher = network.launcher
    async with browser_page(chromium, console_url) as page:
        await launcher.kill_node("mot")
        try:
            await page.wait_for_selector(".row.down[data-node='mot']", timeout=WAIT_MS)
            assert await page.locator(".row.down").count() == 1
            await call_from_form(page, "mot", "GetCertificateType", "")  # the page says why
            await page.wait_for_selector("#error:not([hidden])", timeout=WAIT_MS)
            error = await page.inner_text("#error")  # no account made, or no answer: it says so
            assert "mot" in error
            assert "not running" in error or "did not answer" in error
            assert await page.locator(".row.hop-fail[data-node='mot']").count() == 1
        finally:
            await launcher.start_node("mot")
        await page.wait_for_selector(".row.up[data-node='mot']", timeout=WAIT_MS)


async def test_a_stopped_network_is_said_so(chromium: Path, tmp_path: Path) -> None:
    shape = {"national": {"tier": "national"}, "hlj": {"tier": "province", "parent": "national",
             "area_code": "230000"}}  # fmt: skip
    launcher = Launcher(write_topology(tmp_path, shape=shape), tmp_path / "state", per_node=1,
                        die_with_owner=True)  # fmt: skip
    try:
        await launcher.up()
        with console(launcher.state.root) as url:
            async with browser_page(chromium, url) as page:
                await launcher.down()
                await page.wait_for_selector("#banner[data-state='stopped']", timeout=WAIT_MS)
                assert await page.locator(".row.down").count() == 2
    finally:
        await launcher.down()


def test_the_console_refuses_to_start_without_a_network(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.control.cli", "console", "--port", "0",
         "--state-dir", str(tmp_path / "none")],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "ecert up" in result.stderr
    assert result.stdout == ""


def post_form(console_url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{console_url}api/call", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_form_that_is_not_a_call_is_a_400_saying_why(console_url: str) -> None:
    assert post_form(console_url, b"{not json") == (400, {"error": "the body must be JSON"})
    status, answer = post_form(console_url, b'{"node": "nowhere", "method": "Retrieval"}')
    assert (status, answer["error"]) == (400, "no node 'nowhere' in this network")
    status, answer = post_form(console_url, b'{"node": "hlj", "method": "Token"}')
    assert status == 400
    assert answer["error"].startswith("no method 'Token'")
    body = b'{"node": "hlj", "method": "Retrieval", "params": {"UseFor": 7}}'
    assert post_form(console_url, body)[0] == 400


def fault_request(console_url: str, method: str, path: str, body: bytes | None = None) -> Any:
    request = urllib.request.Request(
        f"{console_url}{path}", data=body, method=method,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_fault_that_is_not_one_is_a_400_saying_why(console_url: str) -> None:
    assert fault_request(console_url, "GET", "api/faults") == (200, [])
    status, answer = fault_request(console_url, "POST", "api/faults", b'{"kind": "melt"}')
    assert status == 400
    assert answer["error"].startswith("invalid fault: kind")
    body = b'{"kind": "latency", "node": "jl"}'
    status, answer = fault_request(console_url, "POST", "api/faults", body)
    assert (status, answer["error"]) == (400, "invalid fault: latency needs --latency")
    status, answer = fault_request(console_url, "POST", "api/faults", b"[1]")
    assert (status, answer) == (400, {"error": "a fault is a JSON object"})
    status, answer = fault_request(console_url, "DELETE", "api/faults/f-999")
    assert status == 404
    assert "no fault f-999 is in force" in answer["error"]
