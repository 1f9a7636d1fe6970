"""``python -m gateway.control.faults.keeper --state-dir D``: heal timed process faults on time.

A kill, pause or broker-down given ``--for`` must heal after the CLI that applied it has
returned. The keeper (started on demand by ``Faults.add``, ``run/keeper.pid``, its output in
``logs/keeper.log``) sleeps until the first of them is due, heals it as ``ecert fault clear``
would, and reads the book again when woken (SIGHUP: a fault was recorded). With nothing left to
heal it leaves; ``ecert down`` stops it (SIGTERM). Faults that nodes hold heal in the node.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import structlog

from gateway.control.events import ControlEvents
from gateway.control.faults.service import Faults
from gateway.control.launcher import Launcher
from gateway.control.state import KEEPER
from gateway.core.errors import GatewayError

log = structlog.get_logger()


class Keeper:
    def __init__(self, faults: Faults):
        self.faults = faults
        self.book = faults.book
        self.wake = asyncio.Event()

    async def keep_loop(self) -> None:
        """Heal what is due, wait for the next or a wake-up; return when nothing is left."""
        while True:
            self.wake.clear()
            due = self.book.keeper_due()
            if not due and self.book.retire_keeper(os.getpid()):
                log.info("keeper.retired")
                return
            now = datetime.now(UTC)
            overdue = [fault_id for fault_id, at in due if at <= now]
            for fault_id in overdue:
                await self.heal(fault_id)
            if overdue or not due:
                continue
            wait = min(at for _, at in due) - now
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait.total_seconds()):
                    await self.wake.wait()

    async def heal(self, fault_id: str) -> None:
        try:
            record = await self.faults.clear(fault_id, reason="expired")
        except GatewayError as exc:  # a heal that fails must not stop the others
            log.error("fault.heal_failed", fault=fault_id, error=str(exc))
            return
        log.info("fault.healed", fault=fault_id, kind=str(record.spec.kind), reason="expired")


async def keep(state_dir: Path) -> None:
    launcher = Launcher.from_state(state_dir)
    launcher.events = ControlEvents(launcher.state, by=KEEPER)
    launcher.processes.events = launcher.events
    keeper = Keeper(Faults(launcher, by=KEEPER))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGHUP, keeper.wake.set)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})  # blocked by whoever started us
    log.info("keeper.started", pid=os.getpid())
    async with asyncio.TaskGroup() as tasks:
        loop_task = tasks.create_task(keeper.keep_loop(), name="keeper.keep_loop")
        stopper = tasks.create_task(stop.wait(), name="keeper.stop_wait")
        await asyncio.wait({loop_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        loop_task.cancel()
        stopper.cancel()
    log.info("keeper.stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.control.faults.keeper")
    parser.add_argument("--state-dir", required=True, type=Path, help="the network's state dir")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )
    try:
        asyncio.run(keep(args.state_dir))
    except GatewayError as exc:
        log.error("keeper.failed", error=str(exc))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
