"""§7.4 routing end to end on the demo network: real node processes, real catalogs, real tokens.

One network serves the whole module (ten processes cost seconds); the tests here only read,
except the stale-entry test, which adds catalog rows for identifiers nobody holds.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.core.client import client_session
from gateway.core.links import HEADER_LINK_SIGNATURE, sign
from gateway.core.protocol import dumps, loads
from gateway.core.topology import Tier, load_topology
from nodes.model.identifiers import make_certificate_id, parse_certificate_id
from tests.e2e.harness import Network, network_in_background, write_topology
from tests.e2e.routing_support import (
    Apps,
    Inventory,
    assert_by_id_reaches_every_owner,
    catalog_route,
    certificate_data,
    holder_route,
    ids_of,
    items,
    take_inventory,
    tree_path,
    wait_aggregated,
)

METHODS_BY_ID = (
    "GetCertificateDataByCertificateID",
    "GetCertificateFileByCertificateID",
    "GetCertificatePictureByCertificateID",
)
METHODS_BY_HOLDER = (
    "GetCertificateDataByHolder",
    "GetCertificateFileByHolder",
    "GetCertificatePictureByHolder",
)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Network, Inventory]]:
    tmp = tmp_path_factory.mktemp("routing-demo")
    with network_in_background(write_topology(tmp, shape="demo"), tmp / "state") as net:
        asyncio.run(wait_aggregated(net))
        yield net, asyncio.run(take_inventory(net))


def test_the_brief_routes_from_hlj_harbin() -> None:
    """The five routes the issue names, computed from the topology the way the test expects."""
    demo = load_topology(Path(__file__).resolve().parents[2] / "topology.yaml")
    expected = {
        "hlj-harbin": "hlj-harbin",
        "hlj-daqing": "hlj-harbin,hlj,hlj-daqing",
        "hlj-amr": "hlj-harbin,hlj,hlj-amr",
        "jl-changchun": "hlj-harbin,hlj,national,jl,jl-changchun",
        "mot": "hlj-harbin,hlj,national,mot",
    }
    assert {owner: ",".join(tree_path(demo, "hlj-harbin", owner)) for owner in expected} == expected


async def test_by_id_from_every_entry_reaches_every_owner_along_the_tree(
    network: tuple[Network, Inventory],
) -> None:
    await assert_by_id_reaches_every_owner(*network)


DEMO_NODE_IDS = [
    node.id for node in load_topology(Path(__file__).resolve().parents[2] / "topology.yaml").nodes
]


@pytest.mark.parametrize("entry", DEMO_NODE_IDS)
async def test_every_routed_method_takes_the_same_route(
    network: tuple[Network, Inventory], entry: str
) -> None:
    net, inventory = network
    async with Apps(net) as apps:
        for owner, record in inventory.usable.items():
            expected = tree_path(net.topology, entry, owner)
            by_id = {"CertificateID": record["CertificateID"]}
            by_holder = {
                "CertificateHolderCode": record["CertificateHolderCode"],
                "CertificateTypeCode": record["CertificateTypeCode"],
                "CertificateNumber": record["CertificateNumber"],
            }
            results = {m: await apps.call(entry, m, by_id) for m in METHODS_BY_ID}
            results |= {m: await apps.call(entry, m, by_holder) for m in METHODS_BY_HOLDER}
            (item,) = items(results["GetCertificateDataByCertificateID"])
            verify = {
                "CertificateTypeCode": record["CertificateTypeCode"],
                "CertificateData": certificate_data(item),
            }
            results["Verify by ID"] = await apps.call(entry, "VerifyCertificate", verify | by_id)
            results["Verify by holder"] = await apps.call(entry, "VerifyCertificate", verify)
            for method, result in results.items():
                where = f"{entry} → {owner} {method}"
                assert result.status == 0, (where, result.envelope)
                assert result.route == expected, where
            assert results["Verify by ID"].data == {"verifyResult": "true"}
            assert results["Verify by holder"].data == {"verifyResult": "true"}
            for method in ("GetCertificateFileByCertificateID", "GetCertificatePictureByHolder"):
                (link,) = items(results[method])
                assert link["fileUrl"].startswith(net.url(entry) + "/ecert/file"), (method, link)


async def test_a_file_held_two_provinces_away_downloads_from_the_entry_node(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    record = inventory.usable["jl-changchun"]
    async with Apps(net) as apps:
        result = await apps.call(
            "hlj-harbin",
            "GetCertificateFileByCertificateID",
            {"CertificateID": record["CertificateID"]},
        )
        picture = await apps.call(
            "hlj-harbin",
            "GetCertificatePictureByCertificateID",
            {"CertificateID": record["CertificateID"]},
        )
        caller = await apps.at("hlj-harbin")
        (item,) = items(result)
        status, body, content_type = await caller.download(item["fileUrl"])
        (zipped,) = items(picture)
        zip_status, zip_body, _ = await caller.download(zipped["fileUrl"])
        missing = item["fileUrl"][: -len("X.ofd")] + ("0" if item["fileUrl"][-5] != "0" else "1")
        missing_status, _, _ = await caller.download(missing + ".ofd")
    assert result.route == ["hlj-harbin", "hlj", "national", "jl", "jl-changchun"]
    assert item["fileFormat"] == "ofd"
    assert (status, content_type) == (200, "application/ofd"), body[:200]
    assert body[:2] == b"PK"  # an OFD is a zip package
    assert (zip_status, zip_body[:2]) == (200, b"PK")
    assert missing_status == 404


async def test_by_holder_asks_the_nearest_subtree_and_retrieval_the_whole_country(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    topology = net.topology
    provinces = {n.id: p.id for n in topology.nodes if (p := topology.province_of(n.id))}
    spread = [
        (holder, type_code, owners)
        for holder, type_code, owners in inventory.shared()
        if len({provinces[o] for o in owners if o in provinces}) >= 2
    ]
    assert spread, "the synthetic data has no holder with one type in two provinces"
    holder, type_code, owners = spread[0]
    home = topology.node(next(provinces[o] for o in owners if o in provinces))
    entry = next(
        n.id for n in topology.subtree(home.id) if n.tier is Tier.CITY and n.id not in owners
    )
    query = {"CertificateHolderCode": holder, "CertificateTypeCode": type_code}
    async with Apps(net) as apps:
        near = await apps.call(entry, "GetCertificateDataByHolder", query)
        everywhere = await apps.call("mot", "GetCertificateDataByHolder", query)
        retrieval = await apps.call(entry, "Retrieval", {"CertificateHolderCode": holder})
    nearest = {o for o in owners if o in {n.id for n in topology.subtree(home.id)}}
    assert near.status == 0, near.envelope
    assert near.route == holder_route(topology, entry, owners)
    assert set(near.route) & owners == nearest
    assert everywhere.status == 0, everywhere.envelope
    assert everywhere.route == holder_route(topology, "mot", owners)
    assert set(everywhere.route) >= owners
    assert len(items(everywhere)) >= len(owners) > len(items(near)) >= 1
    assert retrieval.route == catalog_route(topology, entry)
    all_ids = {
        c["CertificateID"]
        for n in owners
        for c in inventory.certificates[n]
        if c["CertificateHolderCode"] == holder
    }
    assert ids_of(items(retrieval)) >= {i for i in all_ids if not _cancelled(inventory, i)}


def _cancelled(inventory: Inventory, certificate_id: str) -> bool:
    return any(
        c["CertificateID"] == certificate_id and c["CertificateStatus"] in ("02", "03")
        for certs in inventory.certificates.values()
        for c in certs
    )


async def test_the_type_catalogue_comes_from_the_root(network: tuple[Network, Inventory]) -> None:
    net, _ = network
    async with Apps(net) as apps:
        result = await apps.call("hlj-amr", "GetCertificateType", {})
    assert result.status == 0, result.envelope
    assert result.route == ["hlj-amr", "hlj", "national"]
    assert items(result)


async def test_explain_plans_every_hop_and_fetches_nothing(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    record = inventory.usable["mot"]
    async with Apps(net) as apps:
        result = await apps.call(
            "jl-jilin",
            "GetCertificateFileByCertificateID",
            {"CertificateID": record["CertificateID"]},
            explain=True,
        )
    assert result.status == 0, result.envelope
    assert result.route == ["jl-jilin", "jl", "national", "mot"]
    plan = result.data["plan"]
    assert [(step["node"], step["plan"]) for step in plan] == [
        ("jl-jilin", "up"),
        ("jl", "up"),
        ("national", "down"),
        ("mot", "local"),
    ]
    assert plan[2]["targets"] == ["mot"]
    assert "dataList" not in result.data


async def test_a_stale_catalog_entry_answers_10_and_never_loops(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    record = inventory.usable["hlj-daqing"]
    ghost_below = _fresh_id(record["CertificateID"], "G1")
    ghost_sender = _fresh_id(record["CertificateID"], "G2")
    _add_catalog_row(net, "hlj", ghost_below, via_node="hlj-daqing")
    _add_catalog_row(net, "hlj", ghost_sender, via_node="hlj-harbin")
    async with Apps(net) as apps:
        started = time.monotonic()
        below = await apps.call(
            "hlj-harbin", "GetCertificateDataByCertificateID", {"CertificateID": ghost_below}
        )
        sender = await apps.call(
            "hlj-harbin", "GetCertificateDataByCertificateID", {"CertificateID": ghost_sender}
        )
        elapsed = time.monotonic() - started
    assert (below.status, below.route) == (10, ["hlj-harbin", "hlj", "hlj-daqing"])
    assert (sender.status, sender.route) == (10, ["hlj-harbin", "hlj"])
    assert elapsed < 2.0


def _fresh_id(template: str, serial: str) -> str:
    parts = parse_certificate_id(template)
    return make_certificate_id(parts.type_code, parts.issuer_code, serial + "0000")


def _add_catalog_row(net: Network, node_id: str, certificate_id: str, *, via_node: str) -> None:
    """A catalog entry pointing at a node that does not hold the certificate (fault injection)."""
    with sqlite3.connect(net.state.database_path(node_id), timeout=10) as db:
        db.execute(
            "INSERT INTO catalog (certificate_source_id, certificate_holder_code, cd_operation,"
            " via_node) VALUES (?, ?, 'I', ?)",
            (certificate_id, "GHOST", via_node),
        )


async def test_a_loop_or_an_exhausted_budget_is_32_at_once(
    network: tuple[Network, Inventory],
) -> None:
    """The test stands in for a peer node, signing as one: hlj hands harbin a call harbin already
    handled, and harbin hands hlj a call with no hop left that hlj would have to forward. The
    same call without the link's signature is refused: the address alone makes no peer."""
    net, inventory = network
    harbin, hlj = net.topology.node("hlj-harbin"), net.topology.node("hlj")
    far = inventory.usable["jl-changchun"]["CertificateID"]
    key = _link_key(net, "hlj", "hlj-harbin")  # what both nodes sign their calls to each other with
    started = time.monotonic()
    async with client_session(local_host=hlj.host, total_timeout=30) as as_hlj:
        body = await _peer_body(as_hlj, harbin.url, "peer-hlj", far)
        looped = await _as_peer(as_hlj, harbin.url, key, body, route="hlj-harbin,hlj", hops=5)
    async with client_session(local_host=harbin.host, total_timeout=30) as as_harbin:
        body = await _peer_body(as_harbin, hlj.url, "peer-hlj-harbin", far)
        spent = await _as_peer(as_harbin, hlj.url, key, body, route="hlj-harbin", hops=0)
        fine = await _as_peer(as_harbin, hlj.url, key, body, route="hlj-harbin", hops=3)
        unsigned = await _as_peer(as_harbin, hlj.url, None, body, route="hlj-harbin", hops=3)
    elapsed = time.monotonic() - started
    assert looped["head"]["status"] == "32"
    assert spent["head"]["status"] == "32"
    assert fine["head"]["status"] == "0"
    assert unsigned["head"]["status"] == "11"
    assert elapsed < 30  # nobody waited for the calls' 60 s deadline


def _link_key(net: Network, node_id: str, neighbour: str) -> bytes:
    keys = json.loads(net.state.link_keys_path(node_id).read_text())
    return bytes.fromhex(keys[neighbour])


async def _as_peer(
    session: Any, url: str, key: bytes | None, body: dict[str, str], *, route: str, hops: int
) -> Any:
    """A by-ID call as a neighbour node makes it: trace headers and (with ``key``) the link's
    signature, with a deadline of a minute, so that "at once" is anything well under it."""
    method = "GetCertificateDataByCertificateID"
    headers = {"X-Ecert-Route": route, "X-Ecert-Hops": str(hops), "X-Ecert-Deadline-Ms": "60000"}
    if key is not None:
        headers = _signed(key, method, body, headers)
    return await _post(session, f"{url}/ecert/{method}", body, headers)


def _signed(
    key: bytes, method: str, body: dict[str, str], headers: dict[str, str]
) -> dict[str, str]:
    """``headers`` and the link signature of the call as ``_post`` sends ``body``."""
    return {**headers, HEADER_LINK_SIGNATURE: sign(key, method, headers, dumps(body))}


async def test_a_single_hop_answer_is_passed_back_byte_for_byte_with_the_trace_extended(
    network: tuple[Network, Inventory],
) -> None:
    """hlj forwards along national and jl to the owner: the envelope it answers is the owner's
    bytes, and the route and Server-Timing headers are the owner's extended hop by hop."""
    net, inventory = network
    harbin, hlj = net.topology.node("hlj-harbin"), net.topology.node("hlj")
    jl, owner = net.topology.node("jl"), net.topology.node("jl-changchun")
    far = inventory.usable["jl-changchun"]["CertificateID"]
    method = "GetCertificateDataByCertificateID"
    async with client_session(local_host=harbin.host, total_timeout=10) as as_harbin:
        body = await _peer_body(as_harbin, hlj.url, "peer-hlj-harbin", far)
        key = _link_key(net, "hlj", harbin.id)
        headers = _signed(key, method, body, {"X-Ecert-Route": harbin.id})
        relayed = await _post_raw(as_harbin, f"{hlj.url}/ecert/{method}", body, headers)
    async with client_session(local_host=jl.host, total_timeout=10) as as_jl:
        body = await _peer_body(as_jl, owner.url, "peer-jl", far)
        headers = _signed(_link_key(net, "jl", owner.id), method, body, {"X-Ecert-Route": jl.id})
        owned = await _post_raw(as_jl, f"{owner.url}/ecert/{method}", body, headers)
    (relayed_body, relayed_headers), (owned_body, owned_headers) = relayed, owned
    assert loads(owned_body)["head"]["status"] == "0"
    assert relayed_body == owned_body
    assert relayed_headers["X-Ecert-Route"] == "hlj,national,jl,jl-changchun"
    assert owned_headers["X-Ecert-Route"] == "jl-changchun"
    entries = [e.split(";dur=") for e in relayed_headers["Server-Timing"].split(", ")]
    assert [name for name, _ in entries] == ["hlj", "national", "jl", "jl-changchun"]
    durations = [float(ms) for _, ms in entries]
    assert durations == sorted(durations, reverse=True)  # each hop's time includes the next's
    assert relayed_headers["X-Ecert-Request-Id"] != owned_headers["X-Ecert-Request-Id"]


async def _post_raw(
    session: Any, url: str, body: dict[str, str], headers: dict[str, str]
) -> tuple[bytes, dict[str, str]]:
    async with session.post(
        url, data=dumps(body), headers={"Content-Type": "application/json", **headers}
    ) as response:
        return await response.read(), dict(response.headers)


async def _peer_body(session: Any, url: str, account: str, certificate_id: str) -> dict[str, str]:
    token = await _post(session, url + "/ecert/token", {"AccountId": account}, {})
    return {
        "AccountId": account,
        "AccessToken": token["data"]["dataList"],
        "CertificateID": certificate_id,
        "UseFor": "loop",
    }


async def _post(session: Any, url: str, body: dict[str, str], headers: dict[str, str]) -> Any:
    async with session.post(
        url, data=dumps(body), headers={"Content-Type": "application/json", **headers}
    ) as response:
        return loads(await response.read())


async def test_a_caller_rejected_at_the_entry_is_never_forwarded(
    network: tuple[Network, Inventory],
) -> None:
    net, inventory = network
    far = inventory.usable["jl-changchun"]["CertificateID"]
    harbin = net.topology.node("hlj-harbin")
    async with Apps(net, from_ip="127.0.9.3", name="e2e-rejected") as apps:
        caller = await apps.at("hlj-harbin")
        token = await caller.token()
        account = await caller.account_id()
        good = await caller.call(
            "GetCertificateDataByCertificateID", {"CertificateID": far, "UseFor": "probe"}
        )
    body = {"AccountId": account, "CertificateID": far, "UseFor": "x"}
    async with client_session(local_host="127.0.9.4", total_timeout=10) as elsewhere:
        wrong_ip = await _post(
            elsewhere,
            harbin.url + "/ecert/GetCertificateDataByCertificateID",
            body | {"AccessToken": token},
            {"X-Ecert-Request-Id": "wrong-ip-1"},
        )
    async with client_session(local_host="127.0.9.3", total_timeout=10) as same:
        forged = await _post(
            same,
            harbin.url + "/ecert/GetCertificateDataByCertificateID",
            body | {"AccessToken": "F" * 32},
            {"X-Ecert-Request-Id": "forged-1"},
        )
    assert good.status == 0
    assert good.route[:2] == ["hlj-harbin", "hlj"]
    assert wrong_ip["head"]["status"] == "14"
    assert forged["head"]["status"] == "11"
    # harbin audited both refusals; hlj never heard of them (it did hear of the good call)
    await _wait_audited(net, "hlj-harbin", {"wrong-ip-1", "forged-1"})
    await _wait_audited(net, "hlj", {good.request_id})
    assert not _audited(net, "hlj", {"wrong-ip-1", "forged-1"})


def _audited(net: Network, node_id: str, request_ids: set[str]) -> set[str]:
    with sqlite3.connect(net.state.database_path(node_id), timeout=10) as db:
        rows = db.execute("SELECT request_id FROM audit_log").fetchall()
    return request_ids & {row[0] for row in rows}


async def _wait_audited(net: Network, node_id: str, request_ids: set[str]) -> None:
    deadline = time.monotonic() + 10
    while _audited(net, node_id, request_ids) != request_ids:
        assert time.monotonic() < deadline, f"{node_id} never audited {request_ids}"
        await asyncio.sleep(0.1)


async def test_what_nobody_holds_climbs_to_the_root_which_says_10_or_13(
    network: tuple[Network, Inventory],
) -> None:
    """Unknown everywhere: 10 from the root; for a type nobody published, the root says 13."""
    net, inventory = network
    record = inventory.usable["hlj-daqing"]
    nobody = _fresh_id(record["CertificateID"], "N1")
    unpublished = record["CertificateTypeCode"][:18] + "999"
    async with Apps(net) as apps:
        missing = await apps.call(
            "hlj-harbin", "GetCertificateDataByCertificateID", {"CertificateID": nobody}
        )
        unknown_type = await apps.call(
            "hlj-harbin",
            "GetCertificateDataByHolder",
            {
                "CertificateHolderCode": record["CertificateHolderCode"],
                "CertificateTypeCode": unpublished,
            },
        )
    assert (missing.status, missing.route) == (10, ["hlj-harbin", "hlj", "national"])
    assert (unknown_type.status, unknown_type.route) == (13, ["hlj-harbin", "hlj", "national"])
