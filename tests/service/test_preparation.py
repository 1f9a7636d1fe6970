"""First start: admin key, peer accounts, built-in types and synthetic seeding — exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.core.topology import Topology
from nodes.clock import Clock
from nodes.context import NodeContext
from nodes.preparation import prepare
from nodes.settings import NodeSettings
from nodes.store.store import Store
from nodes.synth import CATALOGUE, generate
from tests.service.conftest import NODE_ID, PEER_IP


async def prepared_twice(topology: Topology, state_dir: Path, **settings: Any) -> dict[str, Any]:
    node_settings = NodeSettings(
        topology=topology, node_id=NODE_ID, state_dir=state_dir, **settings
    )
    facts: dict[str, Any] = {}
    for start in (1, 2):
        async with Store.open(node_settings.database_path) as store:
            db = store.db
            ctx = NodeContext(settings=node_settings, store=store, clock=Clock(topology.zone))
            await prepare(ctx)
            facts[f"key{start}"] = node_settings.admin_key_path.read_text()
            facts[f"certificates{start}"] = await ctx.store.certificates.count()
            facts[f"outbox{start}"] = int(await db.scalar("SELECT count(*) FROM outbox"))
            facts["accounts"] = await store.accounts.list()
            facts["types"] = await store.types.approved()
            rows = await db.fetchall("SELECT certificate_source_id, cd_operation FROM catalog")
            facts["operations"] = {row[0]: row[1] for row in rows}
            rows = await db.fetchall("SELECT certificate_id, status FROM certificate")
            facts["statuses"] = {row[0]: row[1] for row in rows}
    return facts


async def test_first_start_seeds_once_and_restarts_change_nothing(
    topology: Topology, tmp_path: Path
) -> None:
    facts = await prepared_twice(topology, tmp_path, seed=11, per_node=12)
    expected = generate(topology, seed=11, per_node=12)[NODE_ID]
    assert facts["certificates1"] == facts["certificates2"] == len(expected) > 0
    assert facts["outbox1"] == facts["outbox2"] == len(expected)
    assert facts["key1"] == facts["key2"]
    for certificate_id, operation in facts["operations"].items():
        assert operation == ("D" if facts["statuses"][certificate_id] in ("02", "03") else "I")
    assert "D" in facts["operations"].values()


async def test_peer_accounts_and_builtin_types(topology: Topology, tmp_path: Path) -> None:
    facts = await prepared_twice(topology, tmp_path, seed=None)
    assert facts["certificates1"] == 0
    [peer] = facts["accounts"]
    assert (peer.account_id, peer.kind, peer.bound_ip) == ("peer-hlj", "peer", PEER_IP)
    assert {t.CertificateTypeCode for t in facts["types"]} == {
        t.CertificateTypeCode for t in CATALOGUE
    }
