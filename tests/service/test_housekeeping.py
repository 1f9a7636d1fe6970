"""A long-running node's store stays bounded: expired links go, old audit rows are rolled up."""

from __future__ import annotations

from datetime import timedelta

from nodes.housekeeping import housekeep
from nodes.http.sharing import AUDIT
from nodes.store.audit import AuditRecord
from nodes.store.files import FileLink, new_file_token
from tests.service.conftest import Node


def record(time: str, status: str = "0") -> AuditRecord:
    return AuditRecord(time, "r", "acc", "127.0.0.9", "GetCertificateType", "审批", status)


async def test_old_audit_rows_are_counted_per_day_and_deleted(node: Node) -> None:
    now = node.clock.now()
    old = (now - timedelta(days=100)).isoformat()
    audit = node.server.app[AUDIT]
    for status in ("0", "0", "11"):
        audit.record(record(old, status))
    audit.record(record(now.isoformat()))
    await audit.flush()
    settings = node.ctx.settings.model_copy(update={"audit_retention_days": 90})
    swept = await housekeep(node.ctx.store, node.clock, settings)
    repo = node.ctx.store.audit
    assert swept.audit_rows == 3
    assert [r.time for r in await repo.recent(10)] == [now.isoformat()]
    day = old[:10]
    assert await repo.daily() == [
        (day, "GetCertificateType", "0", 2),
        (day, "GetCertificateType", "11", 1),
    ]


async def test_the_audit_log_keeps_at_most_its_newest_rows(node: Node) -> None:
    audit = node.server.app[AUDIT]
    stamp = node.clock.now().isoformat()
    for _ in range(10):
        audit.record(record(stamp))
    await audit.flush()
    settings = node.ctx.settings.model_copy(update={"audit_max_rows": 4})
    await housekeep(node.ctx.store, node.clock, settings)
    assert await node.ctx.store.audit.count() == 4
    (row,) = await node.ctx.store.audit.daily()
    assert row[3] >= 6


async def test_expired_file_links_are_purged(node: Node) -> None:
    now = node.clock.now().timestamp()
    links = node.ctx.store.files
    expired, live = new_file_token(), new_file_token()
    await links.add(
        [
            FileLink(token=expired, kind="relay", file_format="ofd", expires_at=now - 1,
                     upstream_url="http://x/a"),
            FileLink(token=live, kind="relay", file_format="ofd", expires_at=now + 600,
                     upstream_url="http://x/b"),
        ]
    )  # fmt: skip
    swept = await housekeep(node.ctx.store, node.clock, node.ctx.settings)
    assert swept.file_links == 1
    assert await links.get(expired, now=now - 60) is None  # gone, not merely expired
    assert await links.get(live, now=now) is not None
