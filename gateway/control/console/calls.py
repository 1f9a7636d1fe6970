"""Calls from the console's form: any method, from any node, as a business application.

The console holds its own account at each node it calls from (``AppCaller`` with the name
``ecert-console``, remembered in the state directory as the CLI's are). A call is made twice:
first as an explain (the planned route, nothing fetched), then for real; both come back to the
page, with the envelope, the route (``X-Ecert-Route``) and each hop's ms (``Server-Timing``). The
last ``KEEP`` calls are kept, newest first, to be listed and replayed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from gateway.control.app_client import DEFAULT_FROM_IP, AppCaller
from gateway.control.console.hops import hop_tree, timings_of
from gateway.control.errors import AdminError, CallError
from gateway.control.state import StateDir
from gateway.core.protocol import METHODS
from gateway.core.topology import Topology

KEEP = 30  # recent calls listed
CALLER_NAME = "ecert-console"
CALLABLE = tuple(method for method in METHODS if method != "Token")
MAX_PARAMS = 20
MAX_VALUE = 4096  # characters of one parameter value from the page


class FormInvalid(ValueError):
    """What the page sent is not a call (an unknown node or method, parameters not strings)."""


@dataclass(frozen=True)
class Request:
    """A call as the form states it."""

    node: str
    method: str
    params: dict[str, str]
    deadline_ms: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"node": self.node, "method": self.method, "params": self.params,
                "deadline_ms": self.deadline_ms}  # fmt: skip


def request_of(body: object, topology: Topology) -> Request:
    """The form's JSON as a Request; FormInvalid says what is wrong."""
    if not isinstance(body, dict):
        raise FormInvalid("the body must be a JSON object")
    node, method, params = body.get("node"), body.get("method"), body.get("params", {})
    if not isinstance(node, str) or node not in {spec.id for spec in topology.nodes}:
        raise FormInvalid(f"no node {str(node)[:64]!r} in this network")
    if method not in CALLABLE:  # the node would say 2; the page offers only these
        raise FormInvalid(f"no method {str(method)[:64]!r}; one of {', '.join(CALLABLE)}")
    if not isinstance(params, dict) or len(params) > MAX_PARAMS:
        raise FormInvalid(f"params must be an object of at most {MAX_PARAMS} members")
    if not all(isinstance(v, str) and len(v) <= MAX_VALUE for v in params.values()):
        raise FormInvalid(f"every parameter value must be a string of at most {MAX_VALUE}")
    deadline = body.get("deadline_ms")
    if deadline is not None and (not isinstance(deadline, int) or not 1 <= deadline <= 60_000):
        raise FormInvalid("deadline_ms must be an integer from 1 to 60000")
    return Request(node, str(method), {str(k): v for k, v in params.items()}, deadline)


class ConsoleCalls:
    """``async with ConsoleCalls(topology, state) as calls: await calls.make(request)``."""

    def __init__(self, topology: Topology, state: StateDir, *, from_ip: str = DEFAULT_FROM_IP):
        self.topology = topology
        self.state = state
        self.from_ip = from_ip
        self.recent: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self._callers: dict[str, AppCaller] = {}
        self._stack = AsyncExitStack()
        self._numbers = itertools.count(1)
        self._opening = asyncio.Lock()

    async def __aenter__(self) -> ConsoleCalls:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._stack.aclose()

    async def _caller(self, node_id: str) -> AppCaller:
        async with self._opening:  # one account per node, also when calls arrive together
            if node_id not in self._callers:
                caller = AppCaller(
                    self.topology, self.state, node_id, from_ip=self.from_ip, name=CALLER_NAME
                )
                self._callers[node_id] = await self._stack.enter_async_context(caller)
            caller = self._callers[node_id]
            await caller.token()
            return caller

    async def make(self, request: Request) -> dict[str, Any]:
        """The call's record: its explain plan and its answer (or why there is none)."""
        record: dict[str, Any] = {
            "number": next(self._numbers), "at": time.time(), "request": request.as_dict(),
        }  # fmt: skip
        try:
            caller = await self._caller(request.node)
            plan = await caller.call(
                request.method, request.params, explain=True, deadline_ms=request.deadline_ms
            )
            answer = await caller.call(
                request.method, request.params, deadline_ms=request.deadline_ms
            )
        except (CallError, AdminError) as exc:  # no account, no token, no answer
            record["error"] = str(exc)
        else:
            record["plan"] = plan.data.get("plan", []) if isinstance(plan.data, dict) else []
            record["plan_request_id"] = plan.request_id  # the explain's, in the event stream too
            record["answer"] = answer.as_dict()
            record["status"] = answer.status
            record["tree"] = hop_tree(  # drawn at once; the event stream adds failed branches
                self.topology,
                record["answer"]["route"],
                timings_of(record["answer"]["timings"]),
                status=answer.status,
            )
        self.recent.appendleft(record)
        return record
