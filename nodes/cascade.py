"""The cascade resolver (SPEC §5, §7.4): plan with gateway.core.routing, execute with the forwarder.

``async with cascade_resolver(ctx) as resolver:`` yields the node's Resolver for its lifetime (one
Forwarder, one pooled client session). Per call it looks up what the catalog index says, asks the
pure planner, and then answers locally, asks children concurrently, or asks the parent:

- a single neighbour's answer is passed on with its code; one that cannot be reached within the
  deadline is 30 (``Retrieval`` and ``GetCertificateType`` then answer from this node's catalog);
- a fan-out merges data lists (local first, children in topology order) and combines codes with
  ``gateway.core.trace.combine_codes`` (0; 31 when some part failed; 10; 21/22/23; 30);
- at the root, a final 10 for a CertificateTypeCode nobody published becomes 13;
- a fileUrl from a neighbour is replaced by a relay link on this node (``nodes.relay``), so the
  file travels back along the route.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import structlog

from gateway.core.errors import ForwardError
from gateway.core.forwarder import Forwarder, Reply
from gateway.core.protocol import ReturnCode
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
    plan_name,
    precheck,
    targets,
)
from gateway.core.trace import (
    combine_codes,
    extend_route,
    extend_timing,
    merge_data,
    merge_routes,
    merge_timings,
)
from nodes.cascade_cache import CatalogCache
from nodes.context import NodeContext, Resolver
from nodes.errors import CascadeUnreachable, NodeError
from nodes.relay import relay_links
from nodes.sharing.call import Answer, MethodCall, Relayed
from nodes.sharing.local import answer_locally
from nodes.sharing.params import certificate_data
from nodes.store.types import TypeRepo

log = structlog.get_logger()

_FILE_METHODS = frozenset(
    {
        "GetCertificateFileByHolder",
        "GetCertificateFileByCertificateID",
        "GetCertificatePictureByCertificateID",
        "GetCertificatePictureByHolder",
    }
)


@asynccontextmanager
async def cascade_resolver(ctx: NodeContext) -> AsyncIterator[Resolver]:
    """The node's Resolver, with one Forwarder for the node's whole lifetime."""
    async with Forwarder(
        ctx.topology, ctx.node_id, faults=ctx.faults.table, events=ctx.events
    ) as forwarder:
        ctx.forwarder = forwarder
        cascade = Cascade(ctx, forwarder)
        await cascade.catalog.install()
        try:
            yield cascade.resolve
        finally:
            ctx.forwarder = None


class Cascade:
    """Executes routing plans for one node."""

    def __init__(self, ctx: NodeContext, forwarder: Forwarder):
        self.ctx = ctx
        self.node_id = ctx.node_id
        self.forwarder = forwarder
        self.catalog = CatalogCache(ctx.db)
        self.types = TypeRepo(ctx.db)
        self.is_root = ctx.topology.node(ctx.node_id).parent is None

    async def resolve(self, ctx: NodeContext, call: MethodCall) -> Answer:
        """Answer ``call``; the route starts with this node, the timings with its own total."""
        started = time.perf_counter()
        deadline = asyncio.get_running_loop().time() + call.deadline_ms / 1000
        answer = await self._resolve(call, deadline)
        own_ms = (time.perf_counter() - started) * 1000
        if isinstance(answer, Relayed):
            timing = extend_timing(self.node_id, own_ms, answer.timing_header)
            if timing is not None:
                answer.route.insert(0, self.node_id)
                answer.timing_header = timing
                return answer
            answer = answer.parsed()
        answer.route = merge_routes([self.node_id], answer.route)
        answer.timings = merge_timings([(self.node_id, own_ms)], answer.timings)
        return answer

    async def _resolve(self, call: MethodCall, deadline: float) -> Answer:
        stopped = precheck(self.node_id, hops=call.hops, route_in=call.route_in)
        if stopped is not None:  # a loop or a forged budget: answer before touching the store
            return _settled(stopped)
        kind = method_kind(call.method, call.params)
        chosen = plan(
            self.ctx.topology,
            self.node_id,
            kind,
            came_from=call.came_from,
            hops=call.hops,
            route_in=call.route_in,
            facts=await self._facts(call, kind),
        )
        if call.explain:
            return await self._explain(call, chosen, deadline)
        answer = await self._execute(call, kind, chosen, deadline)
        if answer.code is ReturnCode.NOT_FOUND and self.is_root:
            answer = await self._unknown_type(call, answer)
        return answer

    async def _facts(self, call: MethodCall, kind: MethodKind) -> Facts:
        params = call.params
        if kind is MethodKind.BY_ID:
            return Facts(via=await self.catalog.via_of(params.get("CertificateID", "")))
        if kind is MethodKind.BY_HOLDER:
            holder, number = (
                params.get("CertificateHolderCode", ""),
                params.get("CertificateNumber"),
            )
            if call.method == "VerifyCertificate":  # the holder is named inside CertificateData
                data = certificate_data(params)
                holder, number = (
                    data.get("certificateHolderCode", ""),
                    data.get("certificateNumber"),
                )
            vias = await self.catalog.vias_of_holder(
                holder, params.get("CertificateTypeCode") or None, number or None
            )
            return Facts(holder_vias=vias)
        return Facts()

    async def _execute(
        self, call: MethodCall, kind: MethodKind, chosen: Plan, deadline: float
    ) -> Answer:
        if isinstance(chosen, Local):
            return await self._local(call)
        if isinstance(chosen, Up):
            answer = await self._ask(chosen.parent, call, deadline, relay=True)
            if answer.code is ReturnCode.CASCADE_UNREACHABLE and kind is MethodKind.CATALOG:
                # the highest *reachable* catalog: with the parent gone, this node's own
                log.warning("route.fell_back", method=call.method, parent=chosen.parent)
                return await self._local(call)
            return answer
        if isinstance(chosen, Down):
            return await self._down(call, chosen, deadline)
        return _settled(chosen)

    async def _local(self, call: MethodCall) -> Answer:
        try:
            return await answer_locally(self.ctx, call)
        except NodeError as exc:  # answer_locally answers its errors; this is a safety net
            return Answer(exc.code, message=exc.message)

    async def _down(self, call: MethodCall, chosen: Down, deadline: float) -> Answer:
        if not chosen.include_local and len(chosen.children) == 1:
            return await self._ask(chosen.children[0], call, deadline, relay=True)
        parts: list[Awaitable[Answer]] = [self._local(call)] if chosen.include_local else []
        parts.extend(self._ask(child, call, deadline) for child in chosen.children)
        return _combine(call.method, list(await asyncio.gather(*parts)))

    async def _ask(
        self, neighbour: str, call: MethodCall, deadline: float, *, relay: bool = False
    ) -> Answer:
        """Forward to one neighbour: its answer, or 30 when it cannot be reached in time.

        ``relay``: the answer is this node's whole answer, so when its data needs no rewriting it
        is passed back as it came (``Relayed``) rather than parsed into an Answer and written again.
        """
        try:
            reply = await self._forward(neighbour, call, deadline, explain=False)
        except ForwardError as exc:
            log.warning("forward.failed", neighbour=neighbour, method=call.method, error=str(exc))
            return _unreachable(exc)
        if relay and call.method not in _FILE_METHODS:
            relayed = _relayed(reply, self.node_id)
            if relayed is not None:
                return relayed
        answer = _answer_of(reply)
        usable = answer.code in (ReturnCode.SUCCESS, ReturnCode.PARTIAL_RESULT)
        if usable and call.method in _FILE_METHODS:
            await relay_links(self.ctx, answer)
        return answer

    async def _forward(
        self, neighbour: str, call: MethodCall, deadline: float, *, explain: bool
    ) -> Reply:
        remaining_ms = (deadline - asyncio.get_running_loop().time()) * 1000
        # the neighbour gets a little less time than we wait, so that it can still say 30/31
        margin = min(max(remaining_ms * 0.05, 5.0), 100.0)
        return await self.forwarder.forward(
            neighbour,
            call.method,
            call.params,
            request_id=call.request_id,
            route=[*call.route_in, self.node_id],
            hops=call.hops - 1,
            deadline_ms=remaining_ms - margin,
            caller=call.caller if call.came_from else f"{call.account_id}@{call.peer_ip}",
            explain=explain,
        )

    async def _unknown_type(self, call: MethodCall, answer: Answer) -> Answer:
        """At the root, 10 for a type nobody published is 13 (证照类型不存在或未发布)."""
        type_code = call.params.get("CertificateTypeCode")
        if isinstance(answer, Relayed):
            answer = answer.parsed()
        if type_code and not await self.types.is_published(type_code):
            return Answer(ReturnCode.TYPE_NOT_PUBLISHED, route=answer.route, timings=answer.timings)
        return answer

    # -- explain ---------------------------------------------------------------------------------
    async def _explain(self, call: MethodCall, chosen: Plan, deadline: float) -> Answer:
        """The planned route, node by node, without fetching any certificate."""
        own = {
            "node": self.node_id,
            "plan": plan_name(chosen),
            "decision": describe(chosen),
            "targets": list(targets(chosen)),
        }
        neighbours = targets(chosen)
        if not neighbours:
            return Answer(_explained_code(chosen), {"plan": [own]})
        answers = await asyncio.gather(*(self._explain_at(n, call, deadline) for n in neighbours))
        entries = [own]
        for answer in answers:
            entries.extend(answer.data.get("plan", []) if isinstance(answer.data, dict) else [])
        codes = [answer.code for answer in answers]
        return Answer(
            ReturnCode.SUCCESS if ReturnCode.SUCCESS in codes else codes[0],
            {"plan": entries},
            route=merge_routes(*(answer.route for answer in answers)),
            timings=merge_timings(*(answer.timings for answer in answers)),
        )

    async def _explain_at(self, neighbour: str, call: MethodCall, deadline: float) -> Answer:
        try:
            return _answer_of(await self._forward(neighbour, call, deadline, explain=True))
        except ForwardError as exc:
            answer = _unreachable(exc)
            entry = {"node": neighbour, "plan": "unreachable", "decision": str(exc), "targets": []}
            answer.data = {"plan": [entry]}
            return answer


# -- answers --------------------------------------------------------------------------------------
def _relayed(reply: Reply, node_id: str) -> Relayed | None:
    """``reply`` as a Relayed answer when passing its bytes on is the same as parsing it into an
    Answer and writing the envelope again: a known code and the envelope exactly as
    ``gateway.core.protocol.envelope`` builds it, and trace headers exactly as a node writes
    them."""
    body, head = reply.envelope, reply.envelope.get("head")
    if list(body) != ["head", "data"] or body["data"] is None or not isinstance(head, dict):
        return None
    status, message = head.get("status"), head.get("message")
    if list(head) != ["status", "message"] or not isinstance(status, str):
        return None
    try:
        code = ReturnCode(int(status))
    except ValueError:
        return None
    if not isinstance(message, str) or not message:
        return None
    if status != str(int(code)) or extend_route(node_id, reply.route_header) is None:
        return None
    route = reply.route_header.split(",")
    return Relayed(
        code, body["data"], message, route, body=reply.raw, timing_header=reply.timing_header
    )


def _answer_of(reply: Reply) -> Answer:
    try:
        code = ReturnCode(reply.status)
    except ValueError:
        code = ReturnCode.OTHER
    route = reply.route or [reply.node_id]
    return Answer(code, reply.data, reply.message, route=route, timings=reply.timings)


def _unreachable(exc: ForwardError) -> Answer:
    error = CascadeUnreachable(exc.node_id, str(exc).removeprefix(f"{exc.node_id}: "))
    return Answer(error.code, message=error.message)


def _settled(chosen: Plan) -> Answer:
    """The answer of a plan that needs no one: 10 or 32."""
    if isinstance(chosen, HopLimit):
        return Answer(
            ReturnCode.HOP_LIMIT, message=f"{ReturnCode.HOP_LIMIT.message}: {chosen.reason}"
        )
    return Answer(ReturnCode.NOT_FOUND)


def _explained_code(chosen: Plan) -> ReturnCode:
    if isinstance(chosen, NotFound | HopLimit):
        return _settled(chosen).code
    return ReturnCode.SUCCESS


def _combine(method: str, answers: list[Answer]) -> Answer:
    """One answer from a fan-out's parts (local first, then children in topology order)."""
    code = ReturnCode(combine_codes([int(answer.code) for answer in answers]))
    usable = [a.data for a in answers if a.code in (ReturnCode.SUCCESS, ReturnCode.PARTIAL_RESULT)]
    if code in (ReturnCode.SUCCESS, ReturnCode.PARTIAL_RESULT):
        data: Any = merge_data(method, usable)
        message = None
    else:  # nothing usable: the message of the first part that answered this code
        first = next((answer for answer in answers if answer.code is code), None)
        data, message = None, first.message if first else None
    if code is ReturnCode.PARTIAL_RESULT:
        failed = [a.message for a in answers if a.code is ReturnCode.CASCADE_UNREACHABLE]
        message = "; ".join([code.message, *(m for m in failed if m)])
    return Answer(
        code,
        data,
        message,
        route=merge_routes(*(answer.route for answer in answers)),
        timings=merge_timings(*(answer.timings for answer in answers)),
    )
