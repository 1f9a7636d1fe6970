"""The console's tree of hops: a flat route and the forwards of a request as branches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.control.console.hops import Forward, RouteBook, flat_hops, hop_tree, timings_of
from gateway.core.topology import load_topology

ROOT = Path(__file__).resolve().parents[2]
DEMO = load_topology(ROOT / "topology.yaml")
CROSS = ["hlj-harbin", "hlj", "national", "jl", "jl-changchun"]
FAN_OUT = ["hlj-harbin", "hlj", "national", "jl", "jl-changchun", "jl-jilin"]


def shape(tree: dict[str, Any] | None) -> Any:
    """``(node, [children…])`` of a tree, to compare at a glance."""
    assert tree is not None
    return (tree["node"], [shape(child) for child in tree["children"]])


def test_a_single_path_is_a_chain_with_each_nodes_ms() -> None:
    timings = {node: float(10 - i) for i, node in enumerate(CROSS)}
    tree = hop_tree(DEMO, CROSS, timings, status=0)
    assert shape(tree) == (
        "hlj-harbin",
        [("hlj", [("national", [("jl", [("jl-changchun", [])])])])],
    )
    hops = flat_hops(tree)
    assert [(h["node"], h["depth"], h["ms"]) for h in hops] == [
        (node, i, float(10 - i)) for i, node in enumerate(CROSS)
    ]
    assert hops[0]["status"] == 0


def test_a_fan_out_is_two_branches_of_the_node_that_fanned_out() -> None:
    tree = hop_tree(DEMO, FAN_OUT, {})
    jl: Any = ("jl", [("jl-changchun", []), ("jl-jilin", [])])
    assert shape(tree) == ("hlj-harbin", [("hlj", [("national", [jl])])])
    assert [h["depth"] for h in flat_hops(tree)] == [0, 1, 2, 3, 4, 4]


def test_a_child_that_never_answered_is_a_failed_branch_with_the_forwards_time() -> None:
    route = ["hlj-harbin", "hlj", "national", "jl", "jl-changchun"]
    forwards = [
        Forward("jl", "jl-changchun", "answered", 0, 2.0),
        Forward("jl", "jl-jilin", "unreachable", None, 3.5),
        Forward("national", "jl", "answered", 31, 9.0),
    ]
    tree = hop_tree(DEMO, route, {"jl-changchun": 1.0, "jl": 8.0}, forwards, status=31)
    by_node = {h["node"]: h for h in flat_hops(tree)}
    assert shape(tree)[1][0][1][0][1][0] == ("jl", [("jl-changchun", []), ("jl-jilin", [])])
    assert (by_node["jl-jilin"]["outcome"], by_node["jl-jilin"]["ms"]) == ("unreachable", 3.5)
    assert (by_node["jl-changchun"]["outcome"], by_node["jl-changchun"]["ms"]) == ("answered", 1.0)
    assert by_node["jl"]["status"] == 31
    assert by_node["hlj-harbin"]["status"] == 31


def test_a_node_whose_asker_is_unknown_hangs_under_the_entry_and_no_route_is_no_tree() -> None:
    assert shape(hop_tree(DEMO, ["hlj", "nowhere"], {})) == ("hlj", [("nowhere", [])])
    assert hop_tree(DEMO, [], {}) is None


def test_timings_of_reads_an_answers_list_and_skips_what_is_not_one() -> None:
    given = [{"node": "a", "ms": 1}, {"node": "b"}, "c", {"node": 3, "ms": 2.0}]
    assert timings_of(given) == {"a": 1.0}
    assert timings_of(None) == {}


def handled(request_id: str, **fields: Any) -> dict[str, Any]:
    route = ["jl", "jl-changchun"]
    return {"event": "request.handled", "node": "jl", "request_id": request_id,
            "account": "app", "caller": "app", "route": route, **fields}  # fmt: skip


def forwarded(request_id: str, neighbour: str, outcome: str) -> dict[str, Any]:
    return {"event": "request.forwarded", "node": "jl", "request_id": request_id,
            "neighbour": neighbour, "outcome": outcome, "ms": 3.0}  # fmt: skip


def test_the_book_sends_an_entry_with_its_tree_and_a_later_failed_forward_as_an_update() -> None:
    book = RouteBook(DEMO)
    early = book.take(forwarded("r1", "jl-changchun", "answered"))
    assert early == []  # nothing drawn before its entry
    [entry] = book.take(handled("r1", status=31))
    assert shape(entry["tree"]) == ("jl", [("jl-changchun", [])])
    [update] = book.take(forwarded("r1", "jl-jilin", "unreachable"))
    assert update["event"] == "route.tree"
    assert shape(update["tree"]) == ("jl", [("jl-changchun", []), ("jl-jilin", [])])


def test_the_book_leaves_out_explain_calls_and_passes_other_records_as_they_are() -> None:
    book = RouteBook(DEMO)
    assert book.take(handled("r1", explain=True)) == []
    forwarded_here = {**handled("r2"), "account": "peer-hlj", "caller": "app@127.0.0.9"}
    assert book.take(forwarded_here) == [forwarded_here]  # not an entry: no tree
    batch = {"event": "batch.committed", "node": "jl"}
    assert book.take(batch) == [batch]


def test_the_book_keeps_only_its_most_recent_requests() -> None:
    book = RouteBook(DEMO, keep=2)
    for request_id in ("r1", "r2", "r3"):
        book.take(handled(request_id))
    assert book.tree_of("r1") is None
    assert book.tree_of("r3") is not None
    assert book.take(forwarded("r1", "jl-jilin", "unreachable")) == []
