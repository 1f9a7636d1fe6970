"""Several nodes in one process (``nodes.host``): each keeps its own socket, store, accounts,
tokens, caches, metrics, log field and exchange identity; one can crash alone and come back.

The nodes are the real ones (``nodes.serve``) on their own loopback addresses, exchanging their
catalogs over a real embedded broker; the host is this test's process.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import structlog

from gateway.control.relocate import free_port, fresh_addresses
from gateway.core.client import client_session
from gateway.core.topology import Topology, parse_topology
from nodes.host import NodeHost
from nodes.http.sharing import ACCESS
from nodes.issuing import record_changes
from nodes.model.codes import CdOperation
from nodes.serve import ServedNode
from nodes.settings import NodeSettings
from tests import polling
from tests.brokers import BrokerProcess, embedded_broker_fixture  # noqa: F401
from tests.unit.test_catalog_support import make_certificate

WITHIN = 30.0  # seconds for a row to cross the broker on a loaded machine
PROVINCE, CITY = "hlj", "hlj-harbin"


def host_topology(broker_port: int) -> Topology:
    national, province, city, app = fresh_addresses(4)
    ports = {ip: free_port(ip) for ip in (national, province, city)}
    return parse_topology(f"""
network: host-{uuid.uuid4().hex[:8]}
exchange: {{broker: "mqtt://127.0.0.1:{broker_port}", interval: 0.3, ack_timeout: 1.0}}
nodes:
  - {{id: national, tier: national, name: 国家, host: {national}, port: {ports[national]}}}
  - {{id: {PROVINCE}, tier: province, parent: national, name: 黑龙江, area_code: "230000",
      host: {province}, port: {ports[province]}}}
  - {{id: {CITY}, tier: city, parent: {PROVINCE}, name: 哈尔滨, area_code: "230100",
      data_source: "101", host: {city}, port: {ports[city]}}}
# the application calls from {app}
""")


@pytest.fixture(name="host")
async def host_fixture(tmp_path: Path, embedded_broker: BrokerProcess) -> AsyncIterator[NodeHost]:
    topology = host_topology(embedded_broker.port)

    def settings_of(node_id: str) -> NodeSettings:
        return NodeSettings(topology=topology, node_id=node_id, state_dir=tmp_path, seed=None)

    async with NodeHost(settings_of) as host:
        yield host


async def call(served: ServedNode, method: str, params: dict[str, str], source: str) -> Any:
    url = f"{served.ctx.node.url}{served.ctx.topology.path}/{method}"
    session = client_session(local_host=source, total_timeout=20)
    async with session, session.post(url, data=params) as response:
        return orjson.loads(await response.read())


async def token_at(served: ServedNode, source: str) -> dict[str, str]:
    account = await served.app[ACCESS].create_account(ip=source, name="app", rate_limit=1000.0)
    reply = await call(served, "token", {"AccountId": account.account_id}, source)
    assert reply["head"]["status"] == "0", reply
    return {"AccountId": account.account_id, "AccessToken": reply["data"]["dataList"]}


async def by_id(served: ServedNode, creds: dict[str, str], cert_id: str, source: str) -> int:
    params = {**creds, "CertificateID": cert_id, "UseFor": "核验"}
    reply = await call(served, "GetCertificateDataByCertificateID", params, source)
    return int(reply["head"]["status"])


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await polling.eventually(check, what, within=WITHIN)


async def catalog_ids(served: ServedNode) -> set[str]:
    rows = await served.ctx.store.catalog.find(limit=1_000_000)
    return {row["certificate_source_id"] for row in rows}


def source_address() -> str:
    return fresh_addresses(1)[0]


async def test_two_nodes_in_one_process_keep_stores_tokens_caches_and_identities_apart(
    host: NodeHost,
) -> None:
    province, city = await host.start(PROVINCE), await host.start(CITY)
    assert host.running() == [PROVINCE, CITY]
    # stores: two files, and a certificate issued at the city is not the province's own
    assert province.ctx.store is not city.ctx.store
    assert province.ctx.settings.database_path != city.ctx.settings.database_path
    cert = make_certificate(1)
    await record_changes(city.ctx, [(cert, CdOperation.INSERT)])
    assert await city.ctx.store.certificates.get(cert.CertificateID) is not None
    assert await province.ctx.store.certificates.get(cert.CertificateID) is None
    # tokens: the city's token opens the city and nothing at the province
    source = source_address()
    creds = await token_at(city, source)
    assert await by_id(city, creds, cert.CertificateID, source) == 0
    assert await by_id(province, creds, cert.CertificateID, source) == 11
    # caches, wake-ups, fault tables and metrics registries are each node's own
    assert province.ctx.wakeups is not city.ctx.wakeups
    assert province.ctx.faults is not city.ctx.faults
    assert province.ctx.store.routes is not city.ctx.store.routes
    # exchange identities: the row crosses the broker from the city's login to the province's
    city.ctx.wakeups.push_now()

    async def arrived() -> bool:
        return cert.CertificateID in await catalog_ids(province)

    await eventually(arrived, "the city's row reaches the province through the broker")
    await eventually(_outbox_empty(city), "the province acknowledges the city's batch")


def _outbox_empty(served: ServedNode) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await served.ctx.store.outbox.pending() == 0

    return check


async def test_every_log_line_of_a_host_names_its_node(host: NodeHost) -> None:
    bound = [structlog.contextvars.merge_contextvars]
    with structlog.testing.capture_logs(processors=bound) as logs:
        await host.start(PROVINCE)
        await host.start(CITY)
        await host.stop(CITY)
    started = {line["node"] for line in logs if line["event"] == "node.started"}
    stopped = [line["node"] for line in logs if line["event"] == "node.stopped"]
    assert started == {PROVINCE, CITY}
    assert stopped == [CITY]
    assert all("node" in line for line in logs), [line for line in logs if "node" not in line]


async def test_an_aborted_node_comes_back_with_what_it_acknowledged_while_the_other_serves(
    host: NodeHost,
) -> None:
    province, city = await host.start(PROVINCE), await host.start(CITY)
    source = source_address()
    creds = await token_at(city, source)  # acknowledged: an account and today's token
    cert = make_certificate(2)
    await record_changes(city.ctx, [(cert, CdOperation.INSERT)])
    city.ctx.wakeups.push_now()

    async def arrived() -> bool:
        return cert.CertificateID in await catalog_ids(province)

    await eventually(arrived, "the city's row reaches the province")
    city_url = f"{city.ctx.node.url}/healthz"

    assert await host.abort(CITY)
    assert host.running() == [PROVINCE]
    with pytest.raises(aiohttp.ClientConnectionError):  # its socket is closed at once
        async with client_session(total_timeout=5) as session, session.get(city_url):
            pass
    await token_at(province, source)  # the other node keeps answering

    city = await host.start(CITY)  # in the same host, from its files
    assert await by_id(city, creds, cert.CertificateID, source) == 0
    assert cert.CertificateID in await catalog_ids(province)
    await eventually(_outbox_empty(city), "nothing the city sent waits again after its restart")
