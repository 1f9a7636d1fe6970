"""The ``ecert`` command as a user runs it, for end-to-end tests of the CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from gateway.control.launcher import Launcher
from gateway.control.state import StateDir, is_alive
from tests.e2e.harness import PROJECT_ROOT

CLI_TIMEOUT = 120.0  # seconds for one ecert command (``up`` waits up to 60 s for readiness)


def ecert(
    *args: str, cwd: Path, state_env: Path | None = None, timeout: float = CLI_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run the ``ecert`` console entry point as a user would (``python -m gateway.control.cli``)."""
    env = {k: v for k, v in os.environ.items() if k != "ECERT_STATE_DIR"}
    if state_env is not None:
        env["ECERT_STATE_DIR"] = str(state_env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "gateway.control.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stop_everything(state_dir: Path) -> None:
    """Last-resort cleanup: stop whatever the state directory still records as running."""
    state = StateDir(state_dir)
    if state.topology_path.exists():
        asyncio.run(Launcher.from_state(state_dir).down())
    for name in state.pid_names():
        pid = state.read_pid(name)
        if pid is not None and is_alive(pid, [str(state.root)] if name != "broker" else []):
            os.kill(pid, signal.SIGKILL)
