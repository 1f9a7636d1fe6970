"""What keeps a long-running node's store bounded: expired file links and old audit rows.

``housekeeping_loop`` runs ``housekeep`` every ``settings.housekeeping_every`` seconds:
- fileUrl links past their expiry are deleted (they answer 404 from then on anyway);
- audit rows older than ``settings.audit_retention_days`` days, or beyond the newest
  ``settings.audit_max_rows``, are counted into ``audit_daily`` (day, method, return code, calls)
  and deleted, so the history stays countable while the log stays bounded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import structlog

from nodes.clock import Clock
from nodes.errors import StoreError
from nodes.settings import NodeSettings
from nodes.store.store import Store

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Swept:
    file_links: int
    audit_rows: int


async def housekeep(store: Store, clock: Clock, settings: NodeSettings) -> Swept:
    """One sweep; what it removed."""
    now = clock.now()
    links = await store.files.purge(now=now.timestamp())
    before = (now - timedelta(days=settings.audit_retention_days)).isoformat()
    rows = await store.audit.roll_up(before=before, keep=settings.audit_max_rows)
    if links or rows:
        log.info("store.swept", file_links=links, audit_rows_rolled_up=rows)
    return Swept(links, rows)


async def housekeeping_loop(store: Store, clock: Clock, settings: NodeSettings) -> None:
    """Sweep until cancelled; a failed sweep is logged and tried again at the next one."""
    while True:
        await asyncio.sleep(settings.housekeeping_every)
        try:
            await housekeep(store, clock, settings)
        except StoreError as exc:
            log.warning("store.sweep_failed", error=str(exc))
