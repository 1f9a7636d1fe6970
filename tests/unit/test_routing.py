"""The §7.4 routing planner: every decision, on the demo tree and generated shapes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from gateway.core.routing import (
    Down,
    Facts,
    HopLimit,
    Local,
    MethodKind,
    NotFound,
    Plan,
    Up,
    describe,
    method_kind,
    plan,
    targets,
)
from gateway.core.topology import Topology, load_topology
from gateway.core.trace import (
    combine_codes,
    decode_route,
    decode_timing,
    encode_route,
    encode_timing,
    extend_route,
    extend_timing,
    merge_data,
    merge_routes,
    merge_timings,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO = load_topology(ROOT / "topology.yaml")


def shape(spec: dict[str, tuple[str, str | None]]) -> Topology:
    """A topology from ``{id: (tier, parent)}``, each node on its own address."""
    nodes: list[dict[str, Any]] = []
    for index, (node_id, (tier, parent)) in enumerate(spec.items()):
        node: dict[str, Any] = {"id": node_id, "tier": tier, "name": node_id, "port": 9000 + index}
        if parent:
            node["parent"] = parent
        nodes.append(node)
    return Topology.model_validate({"network": "t", "nodes": nodes})


THREE_PROVINCES = shape(
    {
        "n": ("national", None),
        "a": ("province", "n"),
        "a-1": ("city", "a"),
        "a-2": ("city", "a"),
        "b": ("province", "n"),
        "b-1": ("city", "b"),
        "c": ("province", "n"),
        "c-1": ("city", "c"),
        "c-2": ("city", "c"),
        "m": ("ministry", "n"),
    }
)
DEPARTMENTS_UNDER_CITY = shape(
    {
        "n": ("national", None),
        "p": ("province", "n"),
        "p-city": ("city", "p"),
        "p-city-tax": ("department", "p-city"),
        "p-city-amr": ("department", "p-city"),
        "p-dept": ("department", "p"),
        "q": ("province", "n"),
        "q-city": ("city", "q"),
        "q-city-edu": ("department", "q-city"),
    }
)
SHAPES = {"demo": DEMO, "three-provinces": THREE_PROVINCES, "departments": DEPARTMENTS_UNDER_CITY}


# -- a consistent catalog, and the whole cascade simulated with the pure planner -------------------
def via_of(topology: Topology, node_id: str, owner: str) -> str | None:
    """What a node's aggregated catalog says: itself, the child leading to ``owner``, or None."""
    if owner == node_id:
        return node_id
    for child in topology.children(node_id):
        if owner in {n.id for n in topology.subtree(child.id)}:
            return child.id
    return None


def holder_vias(topology: Topology, node_id: str, owners: Iterable[str]) -> frozenset[str]:
    found = (via_of(topology, node_id, owner) for owner in owners)
    return frozenset(via for via in found if via is not None)


def simulate(
    topology: Topology,
    entry: str,
    kind: MethodKind,
    owners: set[str],
    *,
    hops: int = 8,
) -> tuple[list[str], set[str]]:
    """Run the cascade: (route in the order first reached, nodes that answered locally)."""
    route: list[str] = []
    answered: set[str] = set()

    def visit(node_id: str, came_from: str | None, budget: int) -> None:
        facts = Facts(
            via=via_of(topology, node_id, next(iter(owners))) if owners else None,
            holder_vias=holder_vias(topology, node_id, owners),
        )
        chosen = plan(
            topology,
            node_id,
            kind,
            came_from=came_from,
            hops=budget,
            route_in=tuple(route),
            facts=facts,
        )
        route.append(node_id)
        if isinstance(chosen, Local) or (isinstance(chosen, Down) and chosen.include_local):
            answered.add(node_id)
        for neighbour in targets(chosen):
            visit(neighbour, node_id, budget - 1)

    visit(entry, None, hops)
    return route, answered


def tree_path(topology: Topology, source: str, target: str) -> list[str]:
    """Up from ``source`` to the lowest common ancestor, then down to ``target``."""
    up = [source, *(n.id for n in topology.ancestors(source))]
    down = [target, *(n.id for n in topology.ancestors(target))]
    common = next(node for node in up if node in down)
    return up[: up.index(common) + 1] + list(reversed(down[: down.index(common)]))


# -- method kinds ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "params", "kind"),
    [
        ("GetCertificateDataByCertificateID", {}, MethodKind.BY_ID),
        ("GetCertificateFileByCertificateID", {}, MethodKind.BY_ID),
        ("GetCertificatePictureByCertificateID", {}, MethodKind.BY_ID),
        ("VerifyCertificate", {"CertificateID": "1.2.156"}, MethodKind.BY_ID),
        ("VerifyCertificate", {"CertificateID": ""}, MethodKind.BY_HOLDER),
        ("VerifyCertificate", {}, MethodKind.BY_HOLDER),
        ("GetCertificateDataByHolder", {}, MethodKind.BY_HOLDER),
        ("GetCertificateFileByHolder", {}, MethodKind.BY_HOLDER),
        ("GetCertificatePictureByHolder", {}, MethodKind.BY_HOLDER),
        ("Retrieval", {}, MethodKind.CATALOG),
        ("GetCertificateType", {}, MethodKind.CATALOG),
    ],
)
def test_each_method_routes_by_its_kind(
    method: str, params: dict[str, str], kind: MethodKind
) -> None:
    assert method_kind(method, params) is kind


# -- by ID ----------------------------------------------------------------------------------------
def by_id(
    node: str,
    via: str | None,
    *,
    came_from: str | None = None,
    hops: int = 8,
    route_in: tuple[str, ...] = (),
    topology: Topology = DEMO,
) -> Plan:
    return plan(
        topology,
        node,
        MethodKind.BY_ID,
        came_from=came_from,
        hops=hops,
        route_in=route_in,
        facts=Facts(via=via),
    )


def test_by_id_held_here_is_answered_locally() -> None:
    assert by_id("hlj-harbin", "hlj-harbin") == Local()


def test_by_id_unknown_at_a_city_goes_up_to_its_province() -> None:
    assert by_id("hlj-harbin", None) == Up("hlj")


def test_by_id_known_below_goes_down_to_that_child_only() -> None:
    assert by_id("hlj", "hlj-daqing", came_from="hlj-harbin", route_in=("hlj-harbin",)) == Down(
        ("hlj-daqing",)
    )


def test_by_id_unknown_in_a_province_goes_up_to_national() -> None:
    assert by_id("hlj", None, came_from="hlj-harbin", route_in=("hlj-harbin",)) == Up("national")


def test_by_id_unknown_at_the_root_is_not_found() -> None:
    assert by_id("national", None, came_from="hlj", route_in=("hlj-harbin", "hlj")) == NotFound()


def test_a_stale_entry_never_sends_the_call_back_to_its_sender() -> None:
    """The province says 'via harbin', but harbin just asked: 10, not a ping-pong."""
    assert (
        by_id("hlj", "hlj-harbin", came_from="hlj-harbin", route_in=("hlj-harbin",)) == NotFound()
    )


def test_a_call_from_the_parent_with_no_entry_is_not_found_rather_than_sent_back_up() -> None:
    assert by_id("jl-changchun", None, came_from="jl", route_in=("national", "jl")) == NotFound()


def test_an_entry_pointing_at_a_node_that_is_not_a_child_is_stale() -> None:
    assert by_id("hlj", "jl-changchun") == NotFound()


def test_a_loop_through_this_node_is_a_hop_limit() -> None:
    assert (
        by_id("hlj", "hlj-daqing", came_from="national", route_in=("hlj", "national")) == HopLimit()
    )


def test_no_hop_left_cannot_forward_but_can_answer_locally() -> None:
    assert by_id("hlj-harbin", None, hops=0) == HopLimit()
    assert by_id("hlj", "hlj-daqing", hops=0) == HopLimit()
    assert by_id("hlj-harbin", "hlj-harbin", hops=0) == Local()


def test_a_negative_budget_is_a_hop_limit_even_for_a_local_answer() -> None:
    assert by_id("hlj-harbin", "hlj-harbin", hops=-1) == HopLimit()


def test_the_ministry_asks_national_and_national_asks_the_ministry() -> None:
    assert by_id("mot", None) == Up("national")
    assert by_id("national", "mot", came_from="hlj", route_in=("hlj-harbin", "hlj")) == Down(
        ("mot",)
    )


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_by_id_from_every_entry_to_every_owner_follows_the_tree_path(name: str) -> None:
    topology = SHAPES[name]
    for entry in topology.nodes:
        for owner in topology.nodes:
            route, answered = simulate(topology, entry.id, MethodKind.BY_ID, {owner.id})
            assert route == tree_path(topology, entry.id, owner.id), (entry.id, owner.id)
            assert answered == {owner.id}


def test_the_demo_routes_of_the_brief() -> None:
    expected = {
        "hlj-harbin": "hlj-harbin",
        "hlj-daqing": "hlj-harbin,hlj,hlj-daqing",
        "hlj-amr": "hlj-harbin,hlj,hlj-amr",
        "jl-changchun": "hlj-harbin,hlj,national,jl,jl-changchun",
        "mot": "hlj-harbin,hlj,national,mot",
    }
    for owner, route in expected.items():
        assert ",".join(simulate(DEMO, "hlj-harbin", MethodKind.BY_ID, {owner})[0]) == route


def test_a_certificate_nobody_holds_climbs_to_the_root_and_stops() -> None:
    route, answered = simulate(DEMO, "jl-jilin", MethodKind.BY_ID, set())
    assert route == ["jl-jilin", "jl", "national"]
    assert answered == set()


def test_a_deep_tree_needs_a_budget_as_long_as_its_path() -> None:
    """city-dept → city → province → national → province → city → dept: six forwards."""
    route, answered = simulate(
        DEPARTMENTS_UNDER_CITY, "p-city-tax", MethodKind.BY_ID, {"q-city-edu"}
    )
    assert route == ["p-city-tax", "p-city", "p", "n", "q", "q-city", "q-city-edu"]
    route, answered = simulate(
        DEPARTMENTS_UNDER_CITY, "p-city-tax", MethodKind.BY_ID, {"q-city-edu"}, hops=5
    )
    assert route == ["p-city-tax", "p-city", "p", "n", "q", "q-city"]
    assert answered == set()


# -- by holder ------------------------------------------------------------------------------------
def by_holder(
    node: str,
    vias: set[str],
    *,
    came_from: str | None = None,
    route_in: tuple[str, ...] = (),
    topology: Topology = DEMO,
    hops: int = 8,
) -> Plan:
    return plan(
        topology,
        node,
        MethodKind.BY_HOLDER,
        came_from=came_from,
        hops=hops,
        route_in=route_in,
        facts=Facts(holder_vias=frozenset(vias)),
    )


def test_by_holder_fans_out_to_every_child_with_matches_in_topology_order() -> None:
    chosen = by_holder(
        "hlj", {"hlj-amr", "hlj-harbin", "hlj-daqing"}, came_from="national", route_in=("national",)
    )
    assert chosen == Down(("hlj-harbin", "hlj-daqing", "hlj-amr"), include_local=False)


def test_by_holder_includes_local_matches_with_the_children() -> None:
    topology = DEPARTMENTS_UNDER_CITY
    assert by_holder("p-city", {"p-city", "p-city-amr"}, topology=topology) == Down(
        ("p-city-amr",), include_local=True
    )


def test_by_holder_matches_only_here_are_answered_locally() -> None:
    assert by_holder("hlj-harbin", {"hlj-harbin"}) == Local()


def test_by_holder_skips_the_child_the_call_came_from() -> None:
    chosen = by_holder(
        "hlj", {"hlj-harbin", "hlj-daqing"}, came_from="hlj-harbin", route_in=("hlj-harbin",)
    )
    assert chosen == Down(("hlj-daqing",))


def test_by_holder_nothing_in_the_subtree_goes_up() -> None:
    assert by_holder("hlj-harbin", set()) == Up("hlj")
    assert by_holder("hlj", {"hlj-harbin"}, came_from="hlj-harbin", route_in=("hlj-harbin",)) == Up(
        "national"
    )


def test_by_holder_nothing_below_when_asked_by_the_parent_is_not_found() -> None:
    assert by_holder(
        "jl", set(), came_from="national", route_in=("hlj-harbin", "hlj", "national")
    ) == (NotFound())


def test_by_holder_takes_the_nearest_subtree_that_has_matches() -> None:
    """Matches in hlj-daqing and jl-changchun: from hlj-qiqihar only the province's own subtree."""
    route, answered = simulate(
        DEMO, "hlj-qiqihar", MethodKind.BY_HOLDER, {"hlj-daqing", "jl-changchun"}
    )
    assert route == ["hlj-qiqihar", "hlj", "hlj-daqing"]
    assert answered == {"hlj-daqing"}


def test_by_holder_from_a_third_province_reaches_both_other_provinces() -> None:
    route, answered = simulate(THREE_PROVINCES, "c-1", MethodKind.BY_HOLDER, {"a-2", "b-1", "m"})
    assert route == ["c-1", "c", "n", "a", "a-2", "b", "b-1", "m"]
    assert answered == {"a-2", "b-1", "m"}


def test_by_holder_fan_out_in_a_city_with_departments() -> None:
    route, answered = simulate(
        DEPARTMENTS_UNDER_CITY, "p", MethodKind.BY_HOLDER, {"p-city", "p-city-tax", "p-dept"}
    )
    assert route == ["p", "p-city", "p-city-tax", "p-dept"]
    assert answered == {"p-city", "p-city-tax", "p-dept"}


def test_by_holder_fan_out_needs_a_hop() -> None:
    assert by_holder("hlj", {"hlj", "hlj-harbin"}, hops=0) == HopLimit()


# -- the highest catalog --------------------------------------------------------------------------
def catalog(
    node: str,
    *,
    came_from: str | None = None,
    topology: Topology = DEMO,
    route_in: tuple[str, ...] = (),
    hops: int = 8,
) -> Plan:
    return plan(
        topology, node, MethodKind.CATALOG, came_from=came_from, hops=hops, route_in=route_in
    )


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_retrieval_climbs_to_the_root_from_every_node(name: str) -> None:
    topology = SHAPES[name]
    for entry in topology.nodes:
        route, answered = simulate(topology, entry.id, MethodKind.CATALOG, set())
        assert route == [entry.id, *(n.id for n in topology.ancestors(entry.id))]
        assert answered == {topology.root().id}


def test_retrieval_at_the_root_is_local() -> None:
    assert catalog("national") == Local()


def test_retrieval_asked_by_the_parent_is_answered_here() -> None:
    assert catalog("hlj", came_from="national", route_in=("national",)) == Local()


def test_retrieval_without_a_hop_left_is_a_hop_limit() -> None:
    assert catalog("hlj-harbin", hops=0) == HopLimit()


@pytest.mark.parametrize("method", ["Token", "token", "NoSuchMethod"])
def test_token_and_unknown_names_have_no_route(method: str) -> None:
    with pytest.raises(ValueError, match="not a routed method"):
        method_kind(method, {})


# -- explain --------------------------------------------------------------------------------------
def test_describe_names_the_targets_and_the_reason() -> None:
    assert (
        describe(by_id("hlj", "hlj-daqing")) == "down to hlj-daqing: the catalog entry points down"
    )
    assert describe(Down(("a", "b"), include_local=True)) == "down to a, b and local"
    assert describe(by_id("hlj-harbin", None)).startswith("up to hlj: no catalog entry")
    assert describe(NotFound()) == "not found (10)"
    assert describe(by_id("hlj", "hlj-daqing", route_in=("hlj",))).startswith(
        "hop limit (32): loop"
    )


# -- trace: routes, timings and fan-out composition ----------------------------------------------
def test_routes_merge_in_the_order_first_reached_without_repeats() -> None:
    assert merge_routes(["hlj"], ["hlj", "hlj-daqing"], ["hlj-amr"], ["hlj-daqing"]) == [
        "hlj",
        "hlj-daqing",
        "hlj-amr",
    ]


def test_route_and_timing_headers_round_trip() -> None:
    route = ["hlj-harbin", "hlj", "national", "jl", "jl-changchun"]
    assert decode_route(encode_route(route)) == route
    assert decode_route(" hlj-harbin , HLJ;drop , hlj ") == ["hlj-harbin", "hlj"]
    timings = [("hlj-harbin", 5.25), ("hlj", 4.0)]
    assert encode_timing(timings) == "hlj-harbin;dur=5.25, hlj;dur=4.00"
    assert decode_timing(encode_timing(timings)) == timings
    assert decode_timing('a;desc="x";dur=1.5, b;dur=oops, c, d;dur="2"') == [("a", 1.5), ("d", 2.0)]
    assert decode_timing(None) == []
    assert decode_route(None) == []


@pytest.mark.parametrize(
    "route",
    [
        "national,jl,jl-changchun",
        "jl-changchun",
        "national, jl",  # spaces: not as a node writes it
        "national,JL",
        "national,jl,national",
        "hlj,national",  # this node itself
        "",
        None,
    ],
)
def test_a_single_hop_route_is_extended_as_parsing_and_merging_would(route: str | None) -> None:
    extended = extend_route("hlj", route)
    parsed = encode_route(merge_routes(["hlj"], decode_route(route)))
    assert extended is None or extended == parsed
    assert (extended is None) == (route not in ("national,jl,jl-changchun", "jl-changchun"))


@pytest.mark.parametrize(
    "timing",
    [
        "national;dur=3.25, jl;dur=2.00, jl-changchun;dur=0.75",
        "jl-changchun;dur=0.05",
        "jl;dur=1.5",  # not two decimals
        "jl;dur=01.50",
        "jl;dur=-0.01",
        "jl;dur=1.50,national;dur=1.00",
        'jl;desc="x";dur=1.50',
        "jl;dur=2.00, jl;dur=1.00",
        "hlj;dur=2.00",
        "",
        None,
    ],
)
def test_a_single_hop_timing_is_extended_as_parsing_and_merging_would(timing: str | None) -> None:
    extended = extend_timing("hlj", 12.345, timing)
    parsed = encode_timing(merge_timings([("hlj", 12.345)], decode_timing(timing)))
    assert extended is None or extended == parsed
    clean = ("national;dur=3.25, jl;dur=2.00, jl-changchun;dur=0.75", "jl-changchun;dur=0.05")
    assert (extended is None) == (timing not in clean)


def test_timings_keep_each_nodes_first_entry() -> None:
    assert merge_timings([("a", 9.0)], [("a", 1.0), ("b", 2.0)]) == [("a", 9.0), ("b", 2.0)]


@pytest.mark.parametrize(
    ("codes", "combined"),
    [
        ([0, 0], 0),
        ([0, 10], 0),
        ([10, 0, 21], 0),
        ([0, 30], 31),
        ([0, 31], 31),
        ([0, 99], 31),
        ([10, 10], 10),
        ([10, 22, 21], 22),
        ([10, 30], 31),
        ([30, 30], 30),
        ([32, 32], 32),
        ([30, 32], 30),
    ],
)
def test_fan_out_codes_combine_as_the_spec_says(codes: list[int], combined: int) -> None:
    assert combine_codes(codes) == combined


def test_fan_out_lists_concatenate_and_recount() -> None:
    parts = [{"total": "1", "dataList": [1]}, {"total": "2", "dataList": [2, 3]}]
    assert merge_data("GetCertificateDataByHolder", parts) == {"total": "3", "dataList": [1, 2, 3]}
    assert merge_data("GetCertificateDataByHolder", []) == {"total": "0", "dataList": []}


def test_a_by_holder_verification_is_true_when_any_part_verified() -> None:
    parts = [{"verifyResult": "false"}, {"verifyResult": "true"}]
    assert merge_data("VerifyCertificate", parts) == {"verifyResult": "true"}
    assert merge_data("VerifyCertificate", parts[:1]) == {"verifyResult": "false"}
