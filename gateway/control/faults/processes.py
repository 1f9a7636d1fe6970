"""Faults of processes (issue #12): a node paused and resumed, and the keeper that heals timed
process faults after the CLI has returned (``gateway.control.faults.keeper``).

The keeper is one more named process of the state directory's ``ProcessTable`` (``run/keeper.pid``,
``logs/keeper.log``), started on demand and woken with SIGHUP when a timed fault is recorded. It is
started with SIGHUP blocked (a mask is inherited across fork and exec), so that a wake-up sent
before it has installed its handler waits for it instead of ending it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from gateway.control.state import KEEPER, ProcessTable, StateDir

STOP_WITHIN = 5.0  # seconds for SIGSTOP to take hold


def process_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat (``R``, ``S``, ``T`` stopped, ``Z``…), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0] if ")" in stat else None


def is_stopped(pid: int) -> bool:
    return process_state(pid) in ("T", "t")


async def pause(pid: int) -> None:
    """SIGSTOP ``pid`` and wait until it has stopped."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + STOP_WITHIN
    while not is_stopped(pid) and process_state(pid) is not None:
        if time.monotonic() > deadline:
            break  # the signal is delivered; /proc is slow to say so
        await asyncio.sleep(0.01)


def resume(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def wake_keeper(state: StateDir, processes: ProcessTable) -> int:
    """Wake the keeper to read the book again, starting it when it is not running; its pid."""
    pid = processes.pid(KEEPER)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGHUP)
            return pid
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        process = processes.spawn(KEEPER, [sys.executable, "-m", *state.keeper_marker()])
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return process.pid
