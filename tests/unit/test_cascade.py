"""The cascade's branches against fake neighbours (no sockets), as httpcore tests HTTP/1.1
against a mock stream: fallbacks, relaying, fan-out merging, partial answers, 30, the root's
10 → 13, explain plans and relayed file links."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from gateway.core.errors import ForwardError, NeighbourUnreachable
from gateway.core.forwarder import FetchedFile, Reply
from gateway.core.protocol import ReturnCode, dumps, envelope, list_data
from gateway.core.topology import parse_topology
from nodes.call import Answer, MethodCall, Relayed
from nodes.cascade import Cascade

TOPOLOGY = parse_topology("""
network: unit
nodes:
  - {id: national, tier: national, name: 国家, port: 8701}
  - {id: hlj, tier: province, parent: national, name: 黑龙江, area_code: "230000", port: 8702}
  - {id: hlj-harbin, tier: city, parent: hlj, name: 哈尔滨, area_code: "230100",
     data_source: "101", port: 8703}
  - {id: hlj-daqing, tier: city, parent: hlj, name: 大庆, area_code: "230600",
     data_source: "106", port: 8704}
""")
TYPE_CODE = "11100000000013127D001"


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may open a connection: the neighbours are fakes."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a cascade unit test touched a socket")

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse)


# -- fakes -----------------------------------------------------------------------------------------
def reply(node_id: str, code: ReturnCode, data: Any = None, *, below: str = "") -> Reply:
    """A neighbour's reply exactly as a node writes it; ``below`` the nodes it asked."""
    route = ",".join([node_id, *([below] if below else [])])
    timing = ", ".join(f"{n};dur=1.00" for n in route.split(","))
    raw = dumps(envelope(code, data))
    return Reply(node_id, envelope(code, data), raw, route, timing)


class Neighbours:
    """Answers from memory: a Reply, or a ForwardError raised, per neighbour."""

    def __init__(self, answers: dict[str, Reply | ForwardError]):
        self.answers = answers
        self.asked: list[dict[str, Any]] = []
        self.hold: dict[str, asyncio.Event] = {}  # a neighbour answers once its event is set
        self.reached: dict[str, asyncio.Event] = {}  # set when the neighbour is asked

    async def forward(
        self,
        neighbour_id: str,
        method: str,
        params: dict[str, str],
        *,
        request_id: str,
        route: list[str],
        hops: int,
        deadline_ms: float,
        caller: str,
        explain: bool = False,
    ) -> Reply:
        self.asked.append(
            {"to": neighbour_id, "method": method, "route": route, "hops": hops, "explain": explain}
        )
        if neighbour_id in self.reached:
            self.reached[neighbour_id].set()
        if neighbour_id in self.hold:
            await self.hold[neighbour_id].wait()
        answer = self.answers[neighbour_id]
        if isinstance(answer, ForwardError):
            raise answer
        return answer

    async def fetch_file(self, url: str, *, node_id: str, deadline_ms: float) -> FetchedFile:
        raise AssertionError("no file is fetched while resolving")


class Index:
    def __init__(self, via: str | None = None, holder_vias: frozenset[str] = frozenset()):
        self.via, self.holder_vias = via, holder_vias
        self.asked = 0

    async def via_of(self, certificate_id: str) -> str | None:
        self.asked += 1
        return self.via

    async def vias_of_holder(
        self, holder_code: str, type_code: str | None, number: str | None
    ) -> frozenset[str]:
        self.asked += 1
        return self.holder_vias


class Types:
    def __init__(self, *published: str):
        self.published = set(published)

    async def is_published(self, type_code: str) -> bool:
        return type_code in self.published


def cascade(
    node_id: str,
    neighbours: Neighbours,
    index: Index | None = None,
    *,
    local: Answer | None = None,
    types: Types | None = None,
    relayed_links: list[Answer] | None = None,
) -> Cascade:
    own = local or Answer(ReturnCode.NOT_FOUND)

    async def answer_here(call: MethodCall) -> Answer:
        return Answer(own.code, own.data, own.message, route=[node_id], timings=[(node_id, 0.1)])

    async def relay_links(answer: Answer) -> None:
        for item in answer.data["dataList"]:
            item["fileUrl"] = f"http://{node_id}/file-relayed.ofd"
        if relayed_links is not None:
            relayed_links.append(answer)

    return Cascade(
        TOPOLOGY,
        node_id,
        neighbours=neighbours,
        index=index or Index(),
        types=types or Types(TYPE_CODE),
        local=answer_here,
        relay_links=relay_links,
    )


def call(method: str, explain: bool = False, **params: str) -> MethodCall:
    return MethodCall(
        method, params, account_id="app", peer_ip="127.0.0.9", request_id="r1", explain=explain
    )


BY_ID = "GetCertificateDataByCertificateID"
BY_HOLDER = "GetCertificateDataByHolder"
HOLDER = {"CertificateHolderCode": "230102199001010011", "CertificateTypeCode": TYPE_CODE}


def items(*names: str) -> dict[str, Any]:
    return list_data([{"certificateNumber": name} for name in names])


def unreachable(node_id: str) -> NeighbourUnreachable:
    return NeighbourUnreachable("no answer within 2900 ms", node_id=node_id)


# -- catalog methods -------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["Retrieval", "GetCertificateType"])
async def test_a_catalog_method_falls_back_to_local_when_the_parent_is_unreachable(
    method: str,
) -> None:
    neighbours = Neighbours({"hlj": unreachable("hlj")})
    node = cascade("hlj-harbin", neighbours, local=Answer(ReturnCode.SUCCESS, items("here")))
    answer = await node.resolve(call(method, **HOLDER))
    assert [asked["to"] for asked in neighbours.asked] == ["hlj"]  # the highest catalog first
    assert (answer.code, answer.data, answer.route) == (
        ReturnCode.SUCCESS,
        items("here"),
        ["hlj-harbin"],
    )


async def test_a_by_id_call_does_not_fall_back_when_the_parent_is_unreachable() -> None:
    neighbours = Neighbours({"hlj": unreachable("hlj")})
    node = cascade("hlj-harbin", neighbours, local=Answer(ReturnCode.SUCCESS, items("here")))
    answer = await node.resolve(call(BY_ID, CertificateID="1.2.156.3005.2.x"))
    assert answer.code is ReturnCode.CASCADE_UNREACHABLE
    assert answer.message is not None
    assert "hlj" in answer.message


# -- one neighbour ---------------------------------------------------------------------------------
async def test_a_single_owners_answer_is_relayed_as_it_came_with_this_node_in_front() -> None:
    owner = reply("hlj-harbin", ReturnCode.SUCCESS, items("N1"))
    neighbours = Neighbours({"hlj-harbin": owner})
    node = cascade("hlj", neighbours, Index(via="hlj-harbin"))
    answer = await node.resolve(call(BY_ID, CertificateID="1.2.156.3005.2.x"))
    assert isinstance(answer, Relayed)
    assert answer.body is owner.raw  # the bytes pass on, not parsed and written again
    assert answer.route_header == "hlj,hlj-harbin"
    assert answer.timing_header.startswith("hlj;dur=")
    assert answer.timing_header.endswith(", hlj-harbin;dur=1.00")
    [asked] = neighbours.asked
    assert (asked["route"], asked["hops"]) == (["hlj"], call(BY_ID).hops - 1)


async def test_an_unreachable_single_owner_is_30_naming_it() -> None:
    neighbours = Neighbours({"hlj-harbin": unreachable("hlj-harbin")})
    node = cascade("hlj", neighbours, Index(via="hlj-harbin"))
    answer = await node.resolve(call(BY_ID, CertificateID="1.2.156.3005.2.x"))
    assert not isinstance(answer, Relayed)
    assert answer.code is ReturnCode.CASCADE_UNREACHABLE
    assert answer.message is not None
    assert "hlj-harbin" in answer.message
    assert "2900 ms" in answer.message
    assert answer.route == ["hlj"]


# -- fan-out ---------------------------------------------------------------------------------------
async def test_a_fan_out_merges_local_first_then_children_in_topology_order() -> None:
    neighbours = Neighbours(
        {
            "hlj-harbin": reply("hlj-harbin", ReturnCode.SUCCESS, items("harbin")),
            "hlj-daqing": reply("hlj-daqing", ReturnCode.SUCCESS, items("daqing")),
        }
    )
    # Harbin answers only after Daqing was asked: the order is the topology's, not arrival's
    neighbours.hold["hlj-harbin"] = released = asyncio.Event()
    vias = frozenset({"hlj", "hlj-harbin", "hlj-daqing"})
    node = cascade(
        "hlj", neighbours, Index(holder_vias=vias), local=Answer(ReturnCode.SUCCESS, items("hlj"))
    )

    neighbours.reached["hlj-daqing"] = daqing_asked = asyncio.Event()

    async def release_after_daqing() -> None:
        await daqing_asked.wait()
        released.set()

    answer, _ = await asyncio.gather(
        node.resolve(call(BY_HOLDER, **HOLDER)), release_after_daqing()
    )
    assert answer.code is ReturnCode.SUCCESS
    assert answer.data == items("hlj", "harbin", "daqing")
    assert answer.route == ["hlj", "hlj-harbin", "hlj-daqing"]
    assert [node_id for node_id, _ in answer.timings] == ["hlj", "hlj-harbin", "hlj-daqing"]


async def test_a_fan_out_with_a_failed_child_is_partial_and_names_it() -> None:
    neighbours = Neighbours(
        {
            "hlj-harbin": reply("hlj-harbin", ReturnCode.SUCCESS, items("harbin")),
            "hlj-daqing": unreachable("hlj-daqing"),
        }
    )
    vias = frozenset({"hlj", "hlj-harbin", "hlj-daqing"})
    node = cascade(
        "hlj", neighbours, Index(holder_vias=vias), local=Answer(ReturnCode.SUCCESS, items("hlj"))
    )
    answer = await node.resolve(call(BY_HOLDER, **HOLDER))
    assert answer.code is ReturnCode.PARTIAL_RESULT
    assert answer.data == items("hlj", "harbin")
    assert answer.message is not None
    assert answer.message.startswith(ReturnCode.PARTIAL_RESULT.message)
    assert "hlj-daqing" in answer.message
    assert "2900 ms" in answer.message


# -- the root --------------------------------------------------------------------------------------
async def test_at_the_root_a_final_10_for_an_unpublished_type_is_13() -> None:
    neighbours = Neighbours({"hlj": reply("hlj", ReturnCode.NOT_FOUND, below="hlj-harbin")})
    node = cascade("national", neighbours, Index(holder_vias=frozenset({"hlj"})), types=Types())
    answer = await node.resolve(call(BY_HOLDER, **HOLDER))
    assert answer.code is ReturnCode.TYPE_NOT_PUBLISHED
    assert answer.route == ["national", "hlj", "hlj-harbin"]


async def test_at_the_root_a_10_for_a_published_type_stays_10() -> None:
    node = cascade("national", Neighbours({}), types=Types(TYPE_CODE))
    answer = await node.resolve(call(BY_HOLDER, **HOLDER))
    assert (answer.code, answer.route) == (ReturnCode.NOT_FOUND, ["national"])


async def test_below_the_root_a_10_is_never_13() -> None:
    neighbours = Neighbours({"hlj": reply("hlj", ReturnCode.NOT_FOUND)})
    node = cascade("hlj-harbin", neighbours, types=Types())
    answer = await node.resolve(call(BY_HOLDER, **HOLDER))
    assert answer.code is ReturnCode.NOT_FOUND


# -- explain ---------------------------------------------------------------------------------------
async def test_explain_lists_each_nodes_plan_and_fetches_nothing() -> None:
    hlj_plan = {"node": "hlj", "plan": "down", "decision": "down to hlj-daqing", "targets": []}
    neighbours = Neighbours({"hlj": reply("hlj", ReturnCode.SUCCESS, {"plan": [hlj_plan]})})
    node = cascade("hlj-harbin", neighbours, local=Answer(ReturnCode.SUCCESS, items("never")))
    answer = await node.resolve(call(BY_ID, explain=True, CertificateID="1.2.156.3005.2.x"))
    assert answer.code is ReturnCode.SUCCESS
    own, theirs = answer.data["plan"]
    assert (own["node"], own["plan"], own["targets"]) == ("hlj-harbin", "up", ["hlj"])
    assert theirs == hlj_plan
    assert [asked["explain"] for asked in neighbours.asked] == [True]


async def test_explain_marks_an_unreachable_neighbour() -> None:
    neighbours = Neighbours({"hlj": unreachable("hlj")})
    node = cascade("hlj-harbin", neighbours)
    answer = await node.resolve(call(BY_ID, explain=True, CertificateID="1.2.156.3005.2.x"))
    assert answer.code is ReturnCode.CASCADE_UNREACHABLE
    assert [entry["plan"] for entry in answer.data["plan"]] == ["up", "unreachable"]


async def test_a_loop_is_32_before_the_catalog_is_asked() -> None:
    index = Index(via="hlj-harbin")
    node = cascade("hlj", Neighbours({}), index)
    looped = MethodCall(
        BY_ID, {"CertificateID": "x"}, "peer-hlj-harbin", "127.0.0.9", "r1", route_in=("hlj",)
    )
    answer = await node.resolve(looped)
    assert (answer.code, index.asked) == (ReturnCode.HOP_LIMIT, 0)


# -- files -----------------------------------------------------------------------------------------
async def test_a_neighbours_file_answer_gets_relay_links_of_this_node() -> None:
    data = list_data([{"fileUrl": "http://hlj-harbin/ecert/fileAB.ofd"}])
    neighbours = Neighbours({"hlj-harbin": reply("hlj-harbin", ReturnCode.SUCCESS, data)})
    relayed: list[Answer] = []
    node = cascade("hlj", neighbours, Index(via="hlj-harbin"), relayed_links=relayed)
    answer = await node.resolve(call("GetCertificateFileByCertificateID", CertificateID="x"))
    assert not isinstance(answer, Relayed)  # its data changed: parsed, never passed on as bytes
    assert answer.data["dataList"] == [{"fileUrl": "http://hlj/file-relayed.ofd"}]
    assert len(relayed) == 1


async def test_a_failed_file_answer_gets_no_relay_links() -> None:
    neighbours = Neighbours({"hlj-harbin": reply("hlj-harbin", ReturnCode.CERTIFICATE_REVOKED)})
    relayed: list[Answer] = []
    node = cascade("hlj", neighbours, Index(via="hlj-harbin"), relayed_links=relayed)
    answer = await node.resolve(call("GetCertificateFileByCertificateID", CertificateID="x"))
    assert (answer.code, relayed) == (ReturnCode.CERTIFICATE_REVOKED, [])
