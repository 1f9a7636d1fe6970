"""Import direction and the seams of third-party I/O libraries (STYLE.md), read from the AST."""

from __future__ import annotations

import ast
import collections
import importlib
import itertools
import re
from pathlib import Path
from types import MappingProxyType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("nodes", "gateway")

# library -> the only modules allowed to import it
SEAMS: dict[str, set[str]] = {
    "aiosqlite": {"nodes/store/db.py"},
    "aiomqtt": {"gateway/core/exchange.py"},
    "rich": {"gateway/control/cli"},
    "prometheus_client": {"nodes/metrics.py"},
    "gmssl_pyx": {"nodes/seals/sm2.py"},
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


# -- SQL lives in the store ------------------------------------------------------------------------
STORE = "nodes/store/"
_SQL = re.compile(
    r"\b(?:SELECT\b[\s\S]*\bFROM|INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(?:TEMP\s+|UNIQUE\s+)?(?:TABLE|INDEX|TRIGGER|VIEW)|DROP\s+(?:TABLE|INDEX|TRIGGER)"
    r"|ALTER\s+TABLE|PRAGMA\s+\w+|SAVEPOINT\s+\w+|RELEASE\s+\w+|ROLLBACK\b|BEGIN(?:\s+IMMEDIATE)?\s*$"
    r"|COMMIT\s*$|WHERE\s+\w+\s*(?:=|IN\b|IS\b|[<>]))"
)


def sql_strings(source: str) -> list[str]:
    """Every string literal (f-strings with their holes as ``{}``) that reads as SQL; docstrings
    are prose and are skipped."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            text = node.value
        else:
            continue
        if _SQL.search(text):
            found.append(text)
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_sql_is_written_only_in_the_store(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    if relative.startswith(STORE):
        return
    found = sql_strings(path.read_text(encoding="utf-8"))
    assert not found, f"{relative} writes SQL {found[:3]}; ask a repository in {STORE}"


@pytest.mark.parametrize(
    "source",
    [
        'row = await db.fetchone("SELECT record FROM certificate WHERE certificate_id = ?", (x,))',
        'sql = f"SELECT * FROM catalog{where} ORDER BY certificate_source_id"',
        'await tx.execute("SAVEPOINT apply_all")',
        'await db.execute("UPDATE outbox SET sent_at = ? WHERE cd_batch = ?", (at, b))',
        'Q = ("INSERT INTO outbox (certificate_source_id) VALUES (?)")',
        'await db.execute("DELETE FROM file_link WHERE expires_at <= ?", (now,))',
        'await conn.execute("PRAGMA journal_mode=WAL")',
    ],
)
def test_planted_sql_is_caught(source: str) -> None:
    assert sql_strings(source)


def test_prose_and_names_are_not_taken_for_sql() -> None:
    source = '''
def f():
    """SELECT the rows FROM the catalog: a docstring may say it."""
    return ("DELETE", "UPDATE", "select a type", "I, U or D", "POST", "Content-Type")
'''
    assert sql_strings(source) == []


# -- no module-level mutable state -----------------------------------------------------------------
_MUTABLE_CALLS = frozenset(
    {
        "dict", "list", "set", "bytearray", "defaultdict", "deque", "OrderedDict", "Counter",
        "ChainMap", "count", "cycle", "Event", "Lock", "RLock", "Condition", "Semaphore",
        "Queue", "WeakValueDictionary", "WeakKeyDictionary", "WeakSet", "Random", "local",
    }
)  # fmt: skip
_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


def _is_mutable_value(value: ast.expr | None) -> bool:
    if isinstance(value, _DISPLAYS):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        return name in _MUTABLE_CALLS
    return False


def _is_class_var(annotation: ast.expr) -> bool:
    text = ast.unparse(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def module_state(source: str) -> list[str]:
    """What the AST shows of state kept by a module: module-level assignments of mutable
    containers (displays, comprehensions, calls like dict()/deque()/count()), ``global``
    statements, and containers shared by a class (plain or ClassVar assignments in its body;
    an annotated one with a default is a field, copied per instance)."""
    tree = ast.parse(source)
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and _is_mutable_value(node.value):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                shared = isinstance(item, ast.Assign) or (
                    isinstance(item, ast.AnnAssign) and _is_class_var(item.annotation)
                )
                if shared and _is_mutable_value(item.value):
                    found.append(f"line {item.lineno}: {node.name}.{ast.unparse(item)[:60]}")
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_keeps_mutable_state(path: Path) -> None:
    found = module_state(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)} keeps state at module level: {found}"


@pytest.mark.parametrize(
    "source",
    [
        "_running: dict[int, object] = {}",
        "_SEEN_IDS: set[str] = set()",
        "_SEQUENCE = itertools.count(1)",
        "REGISTRY = defaultdict(list)",
        "PENDING = collections.deque()",
        "HANDLERS = {name: handler for name, handler in pairs}",
        "def remember(x):\n    global _last\n    _last = x",
        "class Registry:\n    nodes = {}",
        "class Registry:\n    nodes: ClassVar[dict[str, int]] = {}",
    ],
)
def test_planted_module_state_is_caught(source: str) -> None:
    assert module_state(source)


def test_constants_and_fields_are_not_state() -> None:
    source = """
NAMES = ("a", "b")
KINDS = frozenset({"x"})
TABLE = MappingProxyType({"a": 1})
class Model(BaseModel):
    surface: list[str] = []
"""
    assert module_state(source) == []


_MUTABLE_TYPES = (dict, list, set, bytearray, collections.deque, itertools.count)


def mutable_globals(namespace: dict[str, object]) -> list[str]:
    """Module globals that are mutable containers, also inside tuples, frozensets and read-only
    mappings (what the AST cannot see: a dict a function built at import)."""

    def mutable(value: object, depth: int = 0) -> bool:
        if isinstance(value, _MUTABLE_TYPES):
            return True
        if depth > 3:
            return False
        if isinstance(value, tuple | frozenset):
            return any(mutable(item, depth + 1) for item in value)
        if isinstance(value, MappingProxyType):
            return any(mutable(item, depth + 1) for item in value.values())
        return False

    return sorted(
        name
        for name, value in namespace.items()
        if not name.startswith("__") and not isinstance(value, type) and mutable(value)
    )


def module_names() -> list[str]:
    return [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in modules()
        if path.name != "__main__.py"
    ]


@pytest.mark.parametrize("name", module_names())
def test_no_module_holds_a_mutable_container_once_imported(name: str) -> None:
    module = importlib.import_module(name)
    assert not mutable_globals(vars(module)), f"{name}: {mutable_globals(vars(module))}"


def test_a_planted_container_built_at_import_is_caught() -> None:
    namespace: dict[str, object] = {}
    exec(
        "def _steps():\n    return {'a': (1, 2)}\n_STEPS = _steps()\nROWS = ((1, []),)\nOK = (1,)",
        namespace,
    )
    assert mutable_globals(namespace) == ["ROWS", "_STEPS"]


# -- no back-arrows between the parts of a package -------------------------------------------------
def part_of(module: str) -> str:
    """``nodes.catalog.push`` → ``nodes.catalog``; ``nodes.issuing`` → ``nodes.issuing``."""
    return ".".join(module.split(".")[:2])


def part_cycles(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Pairs of parts that import each other, directly or through others."""
    reach: dict[str, set[str]] = {}
    for start in edges:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), set()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        reach[start] = seen
    return sorted((a, b) for a in reach for b in reach[a] if a < b and a in reach.get(b, set()))


def part_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in modules():
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        mine = part_of(module)
        for name in imported_names(path):
            if name.split(".")[0] in PACKAGES and part_of(name) != mine:
                edges.setdefault(mine, set()).add(part_of(name))
    return edges


def test_the_parts_of_nodes_and_gateway_import_one_way() -> None:
    assert part_cycles(part_edges()) == []


def test_a_planted_back_arrow_is_caught() -> None:
    edges = {
        "nodes.issuing": {"nodes.catalog"},
        "nodes.catalog": {"nodes.context", "nodes.issuing"},
    }
    assert part_cycles(edges) == [("nodes.catalog", "nodes.issuing")]
