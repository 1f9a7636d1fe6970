"""What each step kind does: one executor per kind, registered on ``execute``.

An executor takes its step (references still unresolved) and the scenario's ``RunContext``; it
returns ``Passed`` (a note for the report, facts for ``--json``) or raises ``StepFailed`` with a
one-line message and the detail a report shows (expected and actual, the explain plan). A new
kind registers its executor with ``@execute.register``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import singledispatch
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from gateway.control.admin_client import AdminClient
from gateway.control.app_client import AppCaller, CallResult
from gateway.control.errors import AdminError, CallError, FaultError, FaultNotFound
from gateway.control.faults import FaultRecord, Faults
from gateway.control.launcher import Launcher
from gateway.control.scenario import refs
from gateway.control.scenario.expect import describe, mismatches, route_text
from gateway.control.scenario.model import (
    Call,
    Cancel,
    Change,
    Correct,
    ExpectAnomaly,
    Fault,
    Heal,
    Issue,
    Sleep,
    Status,
    StepBase,
    WaitRoutable,
)
from gateway.control.scenario.values import ALL_FAULTS, Expect
from gateway.control.state import StateDir
from gateway.core.protocol import HEADER_HOPS, HEADER_ROUTE
from gateway.core.topology import Topology

USE_FOR = "ecert scenario"  # UseFor of a call whose params give none
POLL_EVERY = 0.2  # seconds between tries of a waiting step (bounded by its timeout)
PEER_ACCOUNT = "peer-{}"  # the account a node holds for a neighbour (SPEC §4)


@dataclass(frozen=True, slots=True)
class Passed:
    note: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


class StepFailed(Exception):
    def __init__(self, message: str, *, detail: str = "", facts: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.facts = facts or {}


class RunContext:
    """One scenario's run on its network (``launcher``: its processes, for steps that act on
    them): the certificates it issued, the faults it holds in force and its open clients.
    Leaving it heals those faults (``heal_all`` first reports what could not be healed)."""

    def __init__(self, launcher: Launcher):
        self.launcher = launcher
        self.topology: Topology = launcher.topology
        self.state: StateDir = launcher.state
        self.issued: dict[str, dict[str, Any]] = {}
        self.run_id = secrets.token_hex(4).upper()
        self.faults = Faults(launcher, by="scenario")
        self.in_force: dict[str, FaultRecord] = {}  # by the fault step's name
        self._callers: dict[tuple[str, str, str | None], AppCaller] = {}
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.heal_all()
        except StepFailed:
            pass  # reported by the runner when the scenario ended normally
        finally:
            await self._stack.aclose()

    async def heal(self, name: str) -> str:
        """Heal the fault named ``name``: how it went, in words."""
        record = self.in_force.pop(name)
        try:
            await self.faults.clear(record.id, reason=f"scenario heal {name}")
        except FaultNotFound:
            return f"{name} ({record.id}) had healed by itself"
        except FaultError as exc:
            raise StepFailed(f"cannot heal {name} ({record.id}): {exc}") from None
        return f"{name} ({record.id}) healed"

    async def heal_all(self) -> list[str]:
        """Heal every fault still in force, newest first; StepFailed naming those that failed."""
        done: list[str] = []
        failures: list[str] = []
        for name in reversed(list(self.in_force)):
            try:
                done.append(await self.heal(name))
            except StepFailed as exc:
                failures.append(exc.message)
        if failures:
            raise StepFailed("; ".join(failures))
        return done

    def resolve(self, value: Any) -> Any:
        try:
            return refs.resolve(value, self.issued, self.run_id)
        except LookupError as exc:
            raise StepFailed(str(exc)) from None

    async def caller(self, node_id: str, from_ip: str, *, as_peer: str | None = None) -> AppCaller:
        """An application at ``from_ip`` (or the neighbour ``as_peer``) calling ``node_id``."""
        key = (node_id, from_ip, as_peer)
        if key not in self._callers:
            if as_peer is None:
                caller = AppCaller(
                    self.topology, self.state, node_id, from_ip=from_ip, name="ecert-scenario"
                )
            else:
                peer = self.topology.node(as_peer)
                caller = AppCaller(self.topology, self.state, node_id, from_ip=peer.host,
                                   account_id=PEER_ACCOUNT.format(as_peer),
                                   link_key=self.state.link_key(node_id, as_peer))  # fmt: skip
            self._callers[key] = await self._stack.enter_async_context(caller)
        return self._callers[key]

    async def admin(self, node_id: str, method: str, path: str, body: Any = None) -> Any:
        try:
            async with AdminClient(self.topology, self.state, node_id) as client:
                return await client.request(method, path, json=body)
        except AdminError as exc:
            raise StepFailed(str(exc)) from None

    async def seal(self, node_id: str, record: dict[str, Any]) -> Any:
        """The seal of the record's issuing authority at the node, created if it has none."""
        try:
            async with AdminClient(self.topology, self.state, node_id) as client:
                return await client.ensure_seal(record)
        except AdminError as exc:
            raise StepFailed(str(exc)) from None

    def remember(self, record: dict[str, Any]) -> None:
        """A changed certificate: the issued records of the same id follow it."""
        self.follow(record.get("CertificateID"), record)

    def follow(self, certificate_id: Any, record: dict[str, Any]) -> None:
        """The names of ``certificate_id`` now stand for ``record`` (its new version, too)."""
        for name, known in self.issued.items():
            if known.get("CertificateID") == certificate_id:
                self.issued[name] = record


@singledispatch
async def execute(step: StepBase, ctx: RunContext) -> Passed:
    """Run one step; ``Passed``, or ``StepFailed``."""
    raise NotImplementedError(f"no executor for {step.KIND} steps")


# -- calls ----------------------------------------------------------------------------------------
def call_params(params: dict[str, Any]) -> dict[str, str]:
    """Request parameters as sent: mappings as JSON, UseFor when none is given."""
    sent = {
        key: json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)
        for key, value in params.items()
    }
    sent.setdefault("UseFor", USE_FOR)
    return sent


async def _call(step: Call, ctx: RunContext, *, explain: bool = False) -> CallResult:
    params = call_params(ctx.resolve(step.params))
    caller = await ctx.caller(step.node, step.from_ip, as_peer=step.as_peer)
    headers: dict[str, str] = {}
    if step.as_peer is not None:  # what a forward from that neighbour carries
        headers[HEADER_ROUTE] = step.as_peer
        if step.hops is not None:
            headers[HEADER_HOPS] = str(step.hops)
    try:
        return await caller.call(
            step.call, params, explain=explain, deadline_ms=step.deadline_ms, headers=headers
        )
    except CallError as exc:
        raise StepFailed(str(exc)) from None


def call_facts(result: CallResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "route": result.route,
        "elapsed_ms": round(result.elapsed_ms, 3),
        "request_id": result.request_id,
    }


@execute.register
async def run_call(step: Call, ctx: RunContext) -> Passed:
    result = await _call(step, ctx)
    facts = call_facts(result)
    expect = Expect.model_validate(ctx.resolve(step.expect.model_dump()))
    wrong = mismatches(expect, result)
    if not wrong:
        return Passed(f"{result.status} via {route_text(result.route)}", facts)
    try:
        plan: CallResult | None = await _call(step, ctx, explain=True)
    except StepFailed:
        plan = None
    expected = f"expected: status {step.expect.status}"
    if step.expect.route is not None:
        expected += f", route {route_text(step.expect.route)}"
    detail = "\n".join([*wrong, "", expected, describe(result, plan)])
    raise StepFailed("; ".join(wrong), detail=detail, facts=facts)


# -- certificates at a node (admin API) -----------------------------------------------------------
def _certificate_path(certificate_id: str, tail: str = "") -> str:
    return f"/admin/certificates/{quote(certificate_id, safe='')}{tail}"


def _validation(validate: bool) -> str:
    return "" if validate else "?validate=false"


@execute.register
async def run_issue(step: Issue, ctx: RunContext) -> Passed:
    record = ctx.resolve(step.certificate.record())
    if step.validate_:  # the issuing authority has a seal there (README "Seals")
        await ctx.seal(step.node, record)
    path = f"/admin/certificates{_validation(step.validate_)}"
    issued = await ctx.admin(step.node, "POST", path, record)
    ctx.issued[step.issue] = issued
    certificate_id = issued.get("CertificateID", "")
    return Passed(f"{step.issue} = {certificate_id}", {"CertificateID": certificate_id})


@execute.register
async def run_change(step: Change, ctx: RunContext) -> Passed:
    certificate_id = ctx.resolve(step.change)
    body = {"reason": ctx.resolve(step.reason), "fields": ctx.resolve(step.fields.record())}
    changed = await ctx.admin(step.node, "POST", _certificate_path(certificate_id, "/change"), body)
    new = changed["certificate"]
    ctx.follow(certificate_id, new)
    if step.previous is not None:
        ctx.issued[step.previous] = changed["previous"]
    new_id = new.get("CertificateID", "")
    return Passed(
        f"changed {', '.join(step.fields.record())}: new version {new_id}",
        {"CertificateID": new_id, "previous": certificate_id},
    )


@execute.register
async def run_correct(step: Correct, ctx: RunContext) -> Passed:
    certificate_id = ctx.resolve(step.correct)
    path = _certificate_path(certificate_id, _validation(step.validate_))
    changed = await ctx.admin(step.node, "PATCH", path, ctx.resolve(step.fields.record()))
    ctx.remember(changed)
    return Passed(f"corrected {', '.join(step.fields.record())}", {"CertificateID": certificate_id})


async def _set_status(ctx: RunContext, node: str, reference: str, to: str, reason: str) -> Passed:
    certificate_id = ctx.resolve(reference)
    body = {"status": to, "reason": ctx.resolve(reason)}
    changed = await ctx.admin(node, "POST", _certificate_path(certificate_id, "/status"), body)
    ctx.remember(changed)
    return Passed(f"status {to}", {"CertificateID": certificate_id, "status": to})


@execute.register
async def run_cancel(step: Cancel, ctx: RunContext) -> Passed:
    return await _set_status(ctx, step.node, step.cancel, "02", step.reason)


@execute.register
async def run_status(step: Status, ctx: RunContext) -> Passed:
    return await _set_status(ctx, step.node, step.status, step.to, step.reason)


# -- waiting --------------------------------------------------------------------------------------
@execute.register
async def run_wait_routable(step: WaitRoutable, ctx: RunContext) -> Passed:
    certificate_id = ctx.resolve(step.wait_routable)
    caller = await ctx.caller(step.node, step.from_ip)
    params = call_params({"CertificateID": certificate_id})
    loop = asyncio.get_running_loop()
    started = loop.time()
    last: CallResult | None = None
    error = ""
    while loop.time() - started <= step.timeout:
        try:
            last = await caller.call(step.method, params)
        except CallError as exc:
            error = str(exc)
        else:
            if last.status == step.answers:
                took = loop.time() - started
                return Passed(f"{last.status} after {took:.1f} s via {route_text(last.route)}",
                              call_facts(last))  # fmt: skip
        await asyncio.sleep(POLL_EVERY)
    got = f"still {last.status}" if last is not None else f"no answer ({error})"
    detail = describe(last) if last is not None else error
    raise StepFailed(
        f"{certificate_id} at {step.node}: expected {step.answers}, {got} after {step.timeout:g} s",
        detail=detail,
        facts=call_facts(last) if last is not None else {},
    )


@execute.register
async def run_expect_anomaly(step: ExpectAnomaly, ctx: RunContext) -> Passed:
    certificate_id = ctx.resolve(step.expect_anomaly)
    path = f"/admin/anomalies?state=all&certificate_id={quote(certificate_id, safe='')}"
    wanted = ctx.resolve(step.error_remark) if step.error_remark is not None else None
    loop = asyncio.get_running_loop()
    started = loop.time()
    rows: list[dict[str, Any]] = []
    while loop.time() - started <= step.timeout:
        rows = (await ctx.admin(step.node, "GET", path)).get("anomalies", [])
        for row in rows:
            if row.get("status") == step.state and (
                wanted is None or wanted in row["error_remark"]
            ):
                took = loop.time() - started
                return Passed(f"{step.state} after {took:.1f} s: {row['error_remark']}",
                              {"anomaly": row})  # fmt: skip
        await asyncio.sleep(POLL_EVERY)
    seen = "; ".join(f"{row.get('status')}: {row.get('error_remark')}" for row in rows) or "none"
    raise StepFailed(
        f"no {step.state} anomaly of {certificate_id} at {step.node}"
        + (f" with {wanted!r}" if wanted else "")
        + f" within {step.timeout:g} s",
        detail=f"anomalies of {certificate_id} at {step.node}: {seen}",
    )


# -- faults ---------------------------------------------------------------------------------------
@execute.register
async def run_fault(step: Fault, ctx: RunContext) -> Passed:
    spec = step.spec()
    try:
        record = await ctx.faults.add(spec)
    except FaultError as exc:
        raise StepFailed(f"cannot apply {spec.describe()}: {exc}") from None
    if spec.kind != "broker-restart":  # over at once: nothing to heal
        ctx.in_force[step.fault] = record
    left = f", heals by itself in {spec.for_seconds:g} s" if spec.for_seconds else ""
    return Passed(f"{record.id}: {spec.describe()}{left}",
                  {"fault": record.id, "nodes": list(record.nodes)})  # fmt: skip


@execute.register
async def run_heal(step: Heal, ctx: RunContext) -> Passed:
    if step.heal == ALL_FAULTS:
        done = await ctx.heal_all()
        return Passed("; ".join(done) or "no fault was in force")
    if step.heal not in ctx.in_force:
        return Passed(f"{step.heal} was healed already")
    return Passed(await ctx.heal(step.heal))


@execute.register
async def run_sleep(step: Sleep, ctx: RunContext) -> Passed:
    await asyncio.sleep(step.sleep)
    return Passed(step.reason)
