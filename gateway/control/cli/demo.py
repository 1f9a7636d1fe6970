"""``ecert demo``: bring the network up if needed, then show the cascade at work (SPEC §5, §7.4).

Real identifiers are picked from the nodes' admin API; each showcase call is made as a business
application at an entry city (``ecert call`` does the same) and printed with its route and the
time each node took. The exit code is 0 when every call answered the code it should.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.table import Table

from gateway.control.admin_client import AdminClient
from gateway.control.app_client import DEFAULT_FROM_IP, AppCaller, CallResult
from gateway.control.cli.common import add_global_options, console, error_console
from gateway.control.launcher import Launcher
from gateway.control.settle import wait_settled
from gateway.core.errors import GatewayError
from gateway.core.protocol import CERTIFICATE_DATA_KEYS, ReturnCode
from gateway.core.topology import Tier, Topology

AGGREGATED_WITHIN = 90.0  # seconds for the catalogs to reach the root


class DemoError(GatewayError):
    """The network offers nothing to show (no usable certificate where one is needed)."""


@dataclass(frozen=True, slots=True)
class Showcase:
    title: str
    entry: str
    method: str
    params: dict[str, str]
    expected: ReturnCode = ReturnCode.SUCCESS


@dataclass(frozen=True, slots=True)
class Outcome:
    showcase: Showcase
    result: CallResult
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.result.status == self.showcase.expected and not self.note.startswith("FAILED")


def add_parsers(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="start the network if needed and show routing")
    parser.add_argument(
        "--from-ip",
        default=DEFAULT_FROM_IP,
        metavar="IP",
        help=f"the application's address (default {DEFAULT_FROM_IP})",
    )
    add_global_options(parser, subcommand=True)
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    return asyncio.run(_demo(args))


async def _demo(args: argparse.Namespace) -> int:
    launcher = Launcher(args.topology, args.state_dir)
    await ensure_up(launcher)
    topology = launcher.topology
    err = error_console()
    with err.status("waiting for the catalogs to aggregate up to the root…"):
        await wait_settled(launcher, within=AGGREGATED_WITHIN)
    listed, records = await certificates_by_node(launcher)
    shows = plan_showcases(topology, records, listed)
    outcomes = await run_showcases(launcher, shows, args.from_ip)
    print_outcomes(outcomes)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        err.print(
            f"[red]{len(failed)} of {len(outcomes)} showcase calls answered unexpectedly[/red]"
        )
        return 1
    console().print(f"[green]all {len(outcomes)} showcase calls answered as expected[/green]")
    return 0


async def ensure_up(launcher: Launcher) -> None:
    running = launcher.running()
    if all(node.id in running for node in launcher.topology.nodes):
        return
    with error_console().status(f"starting network {launcher.topology.network}…"):
        await launcher.up()


# -- the network's state --------------------------------------------------------------------------
Records = dict[str, list[dict[str, Any]]]  # node id -> certificates


async def certificates_by_node(launcher: Launcher) -> tuple[Records, Records]:
    """Every node's certificates (summaries), and a few usable ones (正常, not expired) in full."""
    today = datetime.now(launcher.topology.zone).date().isoformat()
    listed: Records = {}
    usable: Records = {}
    for node in launcher.topology.nodes:
        async with AdminClient(launcher.topology, launcher.state, node.id) as admin:
            listed[node.id] = await admin.certificates()
            normal = [c for c in listed[node.id] if c.get("CertificateStatus") == "01"][:6]
            full = [
                await admin.request("GET", f"/admin/certificates/{c['CertificateID']}")
                for c in normal
            ]
        usable[node.id] = [r for r in full if (r.get("CertificateExpiringDate") or "9") >= today]
    return listed, usable


# -- choosing what to show -----------------------------------------------------------------------
def plan_showcases(topology: Topology, records: Records, listed: Records) -> list[Showcase]:
    """The showcase calls of this network, from a city with a neighbour city in its province.

    ``records``: usable certificates in full (by-ID calls); ``listed``: every certificate.
    """
    entry = _entry_city(topology)
    owners = _owners(topology, records, entry)
    shows = [_by_id("local lookup", entry, records, entry)]
    shows.extend(_by_id(title, entry, records, owner) for title, owner in owners.items())
    fan_out = _fan_out(topology, listed)
    shows.extend(fan_out)
    far = owners.get("across provinces") or owners.get("inside the province") or entry
    cert = records[far][0]
    holder = (
        fan_out[0].params["CertificateHolderCode"] if fan_out else cert["CertificateHolderCode"]
    )
    verify = {**_id_params(cert), "CertificateTypeCode": cert["CertificateTypeCode"]}
    return [
        *shows,
        Showcase(
            "file, relayed back along the route",
            entry,
            "GetCertificateFileByCertificateID",
            _id_params(cert),
        ),
        Showcase("verification", entry, "VerifyCertificate", verify),
        Showcase(
            "retrieval from the highest catalog",
            entry,
            "Retrieval",
            {"CertificateHolderCode": holder, "UseFor": "ecert demo"},
        ),
    ]


def _owners(topology: Topology, records: Records, entry: str) -> dict[str, str]:
    """Nodes holding usable certificates: in the entry's province, in another, a ministry."""
    province = topology.province_of(entry)
    candidates = {
        "inside the province": [
            n.id
            for n in topology.nodes
            if n.id != entry and n.parent == getattr(province, "id", "")
        ],
        "across provinces": [
            n.id
            for n in topology.nodes
            if n.tier is Tier.CITY and topology.province_of(n.id) != province
        ],
        "to the ministry": [n.id for n in topology.nodes if n.tier is Tier.MINISTRY],
    }
    found = {
        title: next((n for n in ids if records.get(n)), None) for title, ids in candidates.items()
    }
    return {title: owner for title, owner in found.items() if owner is not None}


def _entry_city(topology: Topology) -> str:
    for node in topology.nodes:
        parent = topology.parent(node.id)
        if node.tier is Tier.CITY and parent and len(topology.children(parent.id)) > 1:
            return node.id
    raise DemoError("the demo needs a province with at least two children, one a city")


def _id_params(cert: dict[str, Any]) -> dict[str, str]:
    return {"CertificateID": str(cert["CertificateID"]), "UseFor": "ecert demo"}


def _by_id(title: str, entry: str, records: Records, owner: str) -> Showcase:
    if not records.get(owner):
        raise DemoError(f"{owner} holds no usable certificate to show")
    return Showcase(
        f"{title} ({owner})",
        entry,
        "GetCertificateDataByCertificateID",
        _id_params(records[owner][0]),
    )


def _fan_out(topology: Topology, listed: Records) -> list[Showcase]:
    """A by-holder query whose matches sit at several nodes, asked where the tree forks."""
    holders: dict[tuple[str, str], set[str]] = {}
    for node_id, certs in listed.items():
        for cert in (c for c in certs if c.get("CertificateStatus") == "01"):
            key = (str(cert["CertificateHolderCode"]), str(cert["CertificateTypeCode"]))
            holders.setdefault(key, set()).add(node_id)
    for (holder, type_code), owners in sorted(holders.items(), key=lambda kv: -len(kv[1])):
        if len(owners) < 2:
            break
        entry = fork_entry(topology, owners)
        if entry is not None:
            params = {
                "CertificateHolderCode": holder,
                "CertificateTypeCode": type_code,
                "UseFor": "ecert demo",
            }
            title = f"by-holder fan-out ({', '.join(sorted(owners))})"
            return [Showcase(title, entry, "GetCertificateDataByHolder", params)]
    return []


def fork_entry(topology: Topology, owners: set[str]) -> str | None:
    """A node outside the owners whose nearest subtree with matches holds all of them."""
    for node in sorted(topology.nodes, key=lambda n: n.tier is not Tier.CITY):
        if node.id in owners:
            continue
        for up in [node, *topology.ancestors(node.id)]:
            below = {n.id for n in topology.subtree(up.id)}
            if below & owners:
                if owners <= below and up.id != node.id:
                    return node.id
                break
    return None


# -- running and printing ------------------------------------------------------------------------
async def run_showcases(
    launcher: Launcher, shows: Sequence[Showcase], from_ip: str
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    callers: dict[str, AppCaller] = {}
    async with AsyncExitStack() as stack:
        for show in shows:
            if show.entry not in callers:
                caller = AppCaller(
                    launcher.topology,
                    launcher.state,
                    show.entry,
                    from_ip=from_ip,
                    name="ecert-demo",
                )
                callers[show.entry] = await stack.enter_async_context(caller)
            outcomes.append(await _run_one(callers[show.entry], show))
    return outcomes


async def _run_one(caller: AppCaller, show: Showcase) -> Outcome:
    params = dict(show.params)
    if show.method == "VerifyCertificate":  # the data to verify: what the owner says it holds
        data = await caller.call("GetCertificateDataByCertificateID", _id_params_of(params))
        item = (data.data or {}).get("dataList", [{}])[0] if data.status == 0 else {}
        params["CertificateData"] = _json({k: item[k] for k in CERTIFICATE_DATA_KEYS if k in item})
    result = await caller.call(show.method, params)
    note = await _note(caller, show, result)
    return Outcome(show, result, note)


async def _note(caller: AppCaller, show: Showcase, result: CallResult) -> str:
    data = result.data if isinstance(result.data, dict) else {}
    if show.method == "VerifyCertificate":
        verdict = data.get("verifyResult")
        return f"verifyResult={verdict}" if verdict == "true" else f"FAILED verifyResult={verdict}"
    items = data.get("dataList") if isinstance(data.get("dataList"), list) else []
    if "File" in show.method and items:
        status, body, content_type = await caller.download(items[0]["fileUrl"])
        ok = status == 200 and body
        return f"{'' if ok else 'FAILED '}download {status}, {len(body)} bytes {content_type}"
    return f"{len(items)} item(s)" if items else ""


def _id_params_of(params: dict[str, str]) -> dict[str, str]:
    return {"CertificateID": params["CertificateID"], "UseFor": params["UseFor"]}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def print_outcomes(outcomes: Sequence[Outcome]) -> None:
    table = Table(title="ecert demo: the §7.4 cascade", title_justify="left", show_lines=True)
    for column in ("showcase", "entry → method", "status", "route (ms per node)", "ms", "note"):
        table.add_column(column, overflow="fold")
    for outcome in outcomes:
        result, show = outcome.result, outcome.showcase
        timing = dict(result.timings)
        hops = " → ".join(f"{n} ({timing[n]:.1f})" if n in timing else n for n in result.route)
        mark = "[green]✓[/green]" if outcome.ok else f"[red]✗ expected {int(show.expected)}[/red]"
        table.add_row(
            show.title,
            f"{show.entry} → {show.method}",
            f"{result.status} {mark}",
            hops,
            f"{result.elapsed_ms:.1f}",
            outcome.note,
        )
    console().print(table)
