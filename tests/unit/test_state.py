"""The state directory: its layout, pid files, and liveness that survives pid reuse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.control.errors import LauncherError
from gateway.control.state import StateDir, command_line, is_alive

linux_only = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")


def test_the_layout_matches_the_briefing(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "s")
    root = (tmp_path / "s").resolve()
    assert state.database_path("hlj") == root / "hlj" / "node.db"
    assert state.admin_key_path("hlj") == root / "hlj" / "admin.key"
    assert state.log_path("hlj") == root / "logs" / "hlj.log"
    assert state.pid_path("broker") == root / "run" / "broker.pid"
    assert state.topology_path == root / "topology.yaml"


def test_a_relative_state_dir_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert StateDir(".ecert").root == tmp_path.resolve() / ".ecert"


def test_pid_files_round_trip_and_disappear(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    assert state.read_pid("hlj") is None
    state.write_pid("hlj", 4321)
    state.write_pid("broker", 99)
    assert state.read_pid("hlj") == 4321
    assert state.pid_names() == ["broker", "hlj"]
    state.remove_pid("hlj")
    state.remove_pid("hlj")  # twice is fine
    assert state.read_pid("hlj") is None


def test_a_garbled_pid_file_reads_as_no_pid(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.run_dir.mkdir()
    state.pid_path("hlj").write_text("not a pid")
    assert state.read_pid("hlj") is None


@linux_only
def test_a_live_process_is_alive_only_with_its_own_marker() -> None:
    arguments = command_line(os.getpid())
    assert arguments
    assert is_alive(os.getpid(), arguments[-1:])
    assert not is_alive(os.getpid(), ["--node", "no-such-node-anywhere"])


@linux_only
def test_a_reused_pid_is_not_mistaken_for_the_node(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.write_pid("hlj", os.getpid())  # a pid that now belongs to something else
    assert state.running_pid("hlj", state.node_marker("hlj")) is None


def test_an_exited_process_is_dead() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert not is_alive(process.pid)


@linux_only
def test_a_zombie_is_dead() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    try:
        assert not is_alive(process.pid, [])
    finally:
        process.wait()


def test_only_one_up_holds_the_state_directory_at_a_time(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    with (
        state.exclusive(),
        pytest.raises(LauncherError, match="another ecert up"),
        StateDir(state.root).exclusive(),
    ):
        pass
    with state.exclusive():  # released when the first up is done
        pass
