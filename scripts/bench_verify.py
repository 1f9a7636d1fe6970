"""Seal benchmark: SM2 signing and verifying, and what the seal check adds to VerifyCertificate.

    .venv/bin/python scripts/bench_verify.py [--requests 2000] [--rounds 3] [--json out.json]

One process orchestrates everything and cleans up after itself:

1. in this process: SM2 signatures per second and verifications per second of a certificate's
   canonical data (``nodes.seals``: gmssl-pyx, SM3 with the default signer ID), and the whole
   check VerifyCertificate adds (canonical data + SM3 + SM2 verify) per call;
2. two copies of a five-node network (national, hlj, hlj-harbin, jl, jl-changchun) on their own
   addresses, started with the Launcher, one as a node runs and one with ``--no-seal-check``. An
   application at hlj-harbin calls VerifyCertificate by CertificateID for a sealed certificate
   held at jl-changchun (hlj-harbin → hlj → national → jl → jl-changchun: four forwards), at
   concurrency 1 and 32, in interleaved rounds (with, without, again): the report gives the
   median p50, requests/s and the CPU the holding node spent per call, for both, and their
   differences and ratio. Target: the check adds ≤ 1 ms to a VerifyCertificate call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "scripts"))

from bench_route import Load  # noqa: E402
from benchkit import cpu_seconds, free_port  # noqa: E402

from gateway.control.admin_client import AdminClient  # noqa: E402
from gateway.control.app_client import AppCaller  # noqa: E402
from gateway.control.launcher import Launcher  # noqa: E402
from gateway.control.settle import wait_settled  # noqa: E402
from gateway.core.client import client_session  # noqa: E402
from gateway.core.protocol import CERTIFICATE_DATA_KEYS, dumps, loads  # noqa: E402
from nodes.seals import sm2  # noqa: E402
from nodes.seals.canonical import canonical_data  # noqa: E402

FROM_IP = "127.0.9.19"  # the application
BLOCKS = {"with check": "127.0.10", "without check": "127.0.11"}
CONCURRENCIES = (1, 32)
ENTRY, OWNER = "hlj-harbin", "jl-changchun"


# -- 1. the primitives -----------------------------------------------------------------------------
def rate(function: Any, seconds: float = 1.0) -> float:
    """Calls of ``function()`` per second of this process's CPU time, over about ``seconds`` of
    it (wall-clock rates on a shared, loaded machine measure the other processes too)."""
    calls, started = 0, time.process_time()
    while (elapsed := time.process_time() - started) < seconds:
        for _ in range(20):
            function()
        calls += 20
    return calls / elapsed


def primitives(record: dict[str, Any]) -> dict[str, float]:
    public_key, private_key = sm2.generate_key_pair()
    message = canonical_data(record)
    signature = sm2.sign(private_key, public_key, message)
    check = rate(lambda: sm2.verify(public_key, canonical_data(record), signature))
    return {
        "canonical_bytes": len(message),
        "sign_per_s": rate(lambda: sm2.sign(private_key, public_key, message)),
        "verify_per_s": rate(lambda: sm2.verify(public_key, message, signature)),
        "check_ms": 1000 / check,  # canonical data + SM3 + SM2 verify, as VerifyCertificate does
    }


# -- 2. the networks -------------------------------------------------------------------------------
def topology(directory: Path, block: str) -> Path:
    """The cross-region path of the demo network on ``block``, aggregating every 0.5 s."""
    document = yaml.safe_load((PROJECT_ROOT / "topology.yaml").read_text(encoding="utf-8"))
    keep = {"national", "hlj", ENTRY, "jl", OWNER}
    document["network"] = f"sealbench{block.rsplit('.', 1)[1]}{int(time.time())}"
    document["nodes"] = [node for node in document["nodes"] if node["id"] in keep]
    broker = f"{block}.1"
    document["exchange"] |= {"host": broker, "port": free_port(broker), "interval": 0.5}
    for index, node in enumerate(document["nodes"], start=10):
        node["host"] = f"{block}.{index}"
        node["port"] = free_port(node["host"])
    directory.mkdir(parents=True)
    path = directory / "topology.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    return path


@dataclass
class Target:
    name: str
    url: str
    body: bytes
    owner_pid: int


async def verify_body(launcher: Launcher) -> tuple[str, bytes, dict[str, Any]]:
    """The URL at the entry city and a VerifyCertificate body for a usable certificate of OWNER."""
    today = time.strftime("%Y-%m-%d")
    async with AdminClient(launcher.topology, launcher.state, OWNER) as admin:
        listed = await admin.certificates()
        normal = [c for c in listed if c.get("CertificateStatus") == "01"]
        records = [await admin.certificate(c["CertificateID"]) for c in normal[:10]]
    record = next(r for r in records if (r.get("CertificateExpiringDate") or "9") >= today)
    async with AppCaller(
        launcher.topology, launcher.state, ENTRY, from_ip=FROM_IP, rate_limit=1e9
    ) as app:
        token, account = await app.token(), await app.account_id()
        id_params = {"CertificateID": record["CertificateID"], "UseFor": "bench"}
        data = await app.call("GetCertificateDataByCertificateID", id_params)
    item = data.data["dataList"][0]
    params = {
        "AccountId": account,
        "AccessToken": token,
        "CertificateTypeCode": record["CertificateTypeCode"],
        "CertificateID": record["CertificateID"],
        "CertificateData": json.dumps({k: item[k] for k in CERTIFICATE_DATA_KEYS if k in item}),
        "UseFor": "bench",
    }
    url = f"{launcher.topology.node(ENTRY).url}{launcher.topology.path}/VerifyCertificate"
    return url, dumps(params), record


async def measure(target: Target, concurrency: int, requests: int) -> dict[str, Any]:
    async with client_session(local_host=FROM_IP, limit=concurrency + 4) as session:
        await Load(session, target.url, target.body).run(max(50, requests // 10), concurrency)
        load = Load(session, target.url, target.body)
        before = cpu_seconds(target.owner_pid)
        elapsed = await load.run(requests, concurrency)
        owner_cpu = cpu_seconds(target.owner_pid) - before
    latencies = sorted(load.latencies)
    return {
        "p50_ms": statistics.median(latencies),
        "rps": requests / elapsed,
        "owner_cpu_ms": owner_cpu * 1000 / requests,
        "errors": load.errors,
    }


async def check_answer(target: Target, expected: str) -> None:
    async with (
        client_session(local_host=FROM_IP) as session,
        session.post(target.url, data=target.body) as response,
    ):
        answer = loads(await response.read())
    verdict = answer["data"].get("verifyResult")
    if verdict != expected:
        raise SystemExit(f"{target.name}: VerifyCertificate answered {answer!r}, not {expected}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as temp:
        launchers = {
            name: Launcher(
                topology(Path(temp) / str(index), block),
                Path(temp) / str(index) / "state",
                per_node=20,
                node_args=() if name == "with check" else ("--no-seal-check",),
            )
            for index, (name, block) in enumerate(BLOCKS.items())
        }
        try:
            targets: dict[str, Target] = {}
            record: dict[str, Any] = {}
            for name, launcher in launchers.items():
                await launcher.up()
                await wait_settled(launcher, within=120)
                url, body, record = await verify_body(launcher)
                owner_pid = launcher.running()[OWNER]
                targets[name] = Target(name, url, body, owner_pid)
                await check_answer(targets[name], "true")
            figures: dict[str, Any] = {"primitives": primitives(record), "rounds": []}
            figures["load"] = os.getloadavg()[0]
            for _ in range(args.rounds):
                for concurrency in CONCURRENCIES:
                    for name, target in targets.items():
                        stats = await measure(target, concurrency, args.requests)
                        figures["rounds"].append({"network": name, "c": concurrency, **stats})
            return figures
        finally:
            for launcher in launchers.values():
                await launcher.down()


def summary(figures: dict[str, Any]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for concurrency in CONCURRENCIES:
        for name in BLOCKS:
            runs = [r for r in figures["rounds"] if r["network"] == name and r["c"] == concurrency]
            rows[f"{name} c={concurrency}"] = {
                key: statistics.median(r[key] for r in runs)
                for key in ("p50_ms", "rps", "owner_cpu_ms", "errors")
            }
        on, off = rows[f"with check c={concurrency}"], rows[f"without check c={concurrency}"]
        rows[f"added c={concurrency}"] = {
            "p50_ms": on["p50_ms"] - off["p50_ms"],
            "owner_cpu_ms": on["owner_cpu_ms"] - off["owner_cpu_ms"],
            "rps_ratio": on["rps"] / off["rps"],
        }
    return rows


def report(figures: dict[str, Any], rows: dict[str, Any]) -> None:
    prims = figures["primitives"]
    print(
        f"SM2 (gmssl-pyx) over {prims['canonical_bytes']} bytes of canonical data, per CPU "
        f"second of one core: {prims['sign_per_s']:,.0f} sign/s, "
        f"{prims['verify_per_s']:,.0f} verify/s; the whole check {prims['check_ms']:.3f} ms a call"
    )
    print(f"load average during the run: {figures['load']:.1f} (2 cores)")
    print(f"VerifyCertificate {ENTRY} -> {OWNER} (4 forwards), median of rounds:")
    for name, row in rows.items():
        if name.startswith("added"):
            print(
                f"  {name:<22} p50 {row['p50_ms']:+.3f} ms, holder CPU "
                f"{row['owner_cpu_ms']:+.3f} ms/call, throughput ratio {row['rps_ratio']:.3f}"
            )
        else:
            print(
                f"  {name:<22} p50 {row['p50_ms']:.2f} ms, {row['rps']:,.0f} requests/s, "
                f"holder CPU {row['owner_cpu_ms']:.3f} ms/call, errors {row['errors']:.0f}"
            )
    worst = max(rows[f"added c={c}"]["owner_cpu_ms"] for c in CONCURRENCIES)
    verdict = "holds" if worst <= 1.0 else "MISSED"
    print(
        f"target: the seal check adds <= 1 ms (of the holding node's CPU) to a VerifyCertificate"
        f" call: {verdict} (+{worst:.3f} ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="calls per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args))
    rows = summary(figures)
    report(figures, rows)
    if args.json:
        args.json.write_text(json.dumps({**figures, "summary": rows}, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
