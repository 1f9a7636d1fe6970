"""Import direction and the seams of third-party I/O libraries (STYLE.md), read from the AST."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("nodes", "gateway")

# library -> the only modules allowed to import it
SEAMS: dict[str, set[str]] = {
    "aiosqlite": {"nodes/store/db.py"},
    "aiomqtt": {"gateway/core/exchange.py"},
    "rich": {"gateway/control/cli"},
}

# (modules under this folder, may not import this package, because)
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    ("gateway", "nodes", "gateway must not depend on nodes"),
    ("gateway/core", "gateway.control", "the ground floor must not depend on the operator's tools"),
    ("nodes", "gateway.control", "nodes import gateway.core only, never the operator's side"),
)


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_there_are_modules_to_check() -> None:
    assert len(modules()) > 10


def wrong_imports(relative: str, names: set[str]) -> list[str]:
    """Every FORBIDDEN arrow from the module at ``relative`` (a POSIX path) to ``names``."""
    found = []
    for folder, package, why in FORBIDDEN:
        if relative.startswith(f"{folder}/"):
            bad = sorted(n for n in names if n == package or n.startswith(f"{package}."))
            found += [f"{relative} imports {name}: {why}" for name in bad]
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    assert not wrong_imports(relative, imported_names(path))


@pytest.mark.parametrize(
    ("relative", "name"),
    [
        ("gateway/core/routing.py", "nodes.cascade"),
        ("gateway/core/forwarder.py", "gateway.control.launcher"),
        ("nodes/serve.py", "gateway.control"),
    ],
)
def test_a_planted_wrong_import_is_caught(relative: str, name: str) -> None:
    assert wrong_imports(relative, {name, "gateway.core.topology"})


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_io_libraries_stay_behind_their_seam(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    for library, allowed in SEAMS.items():
        uses = any(n == library or n.startswith(f"{library}.") for n in imported_names(path))
        inside = any(relative == seam or relative.startswith(f"{seam}/") for seam in allowed)
        assert not uses or inside, f"{relative} imports {library}; only {sorted(allowed)} may"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_client_sessions_are_created_only_in_gateway_client(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    if relative == "gateway/core/client.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
        in {"ClientSession", "TCPConnector"}
    ]
    assert not calls, f"{relative} creates an aiohttp client session; use gateway.core.client"
