"""Which topology a command uses when none is named (the README's promise for a bare `up`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.control.cli.__main__ import build_parser
from gateway.control.cli.common import resolve_paths


def resolved(argv: list[str]) -> Path:
    args = build_parser().parse_args(argv)
    resolve_paths(args)
    topology: Path = args.topology
    return topology


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ECERT_STATE_DIR", raising=False)
    (tmp_path / "topology.yaml").write_text("network: local\n")
    return tmp_path


def test_a_bare_up_restarts_the_network_of_its_state_dir(here: Path) -> None:
    state = here / "other"
    state.mkdir()
    (state / "topology.yaml").write_text("network: other\n")
    assert resolved(["up", "--state-dir", str(state)]).resolve() == state / "topology.yaml"
    assert resolved(["status", "--state-dir", str(state)]).resolve() == state / "topology.yaml"


def test_a_new_state_dir_takes_the_local_file(here: Path) -> None:
    assert resolved(["up", "--state-dir", str(here / "fresh")]) == Path("topology.yaml")


def test_a_named_file_wins(here: Path) -> None:
    state = here / "other"
    state.mkdir()
    (state / "topology.yaml").write_text("network: other\n")
    assert resolved(["up", "mine.yaml", "--state-dir", str(state)]) == Path("mine.yaml")
