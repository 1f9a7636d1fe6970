"""What the parts that change a node's store ask of its aggregation (SPEC §6.3, §7 目录维护).

Issuing, corrections and the admin API commit outbox rows or approve types; the aggregation that
pushes and announces runs beside them. ``Wakeups`` is made with the node (``NodeContext``) and
handed to both: one side asks (``push_now``, ``announce_approval``), the aggregation waits on
``push`` and takes ``approved``. Without a running aggregation nothing is lost: the rows stay in
the outbox for the next push, and approvals wait to be announced.
"""

from __future__ import annotations

import asyncio


class Wakeups:
    def __init__(self) -> None:
        self.push = asyncio.Event()  # the outbox (or the type catalogue) has something to push
        self.approved: asyncio.Queue[str] = asyncio.Queue()  # types approved here, to announce
        self.reminders = asyncio.Event()  # publish expiry reminders now (nodes.reminders)
        self.grants = asyncio.Event()  # publish this node's grants now (nodes.authorisation)

    def push_now(self) -> None:
        """Push this node's outbox now rather than at the next interval."""
        self.push.set()

    def announce_approval(self, type_code: str) -> None:
        """Send a type approved here down the subtree, and (by the next push) up."""
        self.approved.put_nowait(type_code)
        self.push.set()
