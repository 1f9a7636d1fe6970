"""A business application's client of one node (SPEC §4): account, day token, calls.

``AppCaller`` holds an account at the node bound to ``from_ip`` (created through the admin API the
first time and remembered in ``<state>/cli-accounts.json``, or one given, such as the node's peer
account of a neighbour, called from that neighbour's address), fetches the day's token from that
address, and calls the methods from it. Each ``CallResult`` carries the envelope, the route the
call took (``X-Ecert-Route``) and each hop's time (``Server-Timing``). The CLI's ``call`` and
``demo`` commands, the scenarios and the tests use it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from gateway.control.admin_client import AdminClient
from gateway.control.errors import CallError
from gateway.control.state import StateDir, private_dir, write_private
from gateway.core.client import SessionOwner, client_session
from gateway.core.links import HEADER_LINK_SIGNATURE, sign
from gateway.core.protocol import (
    HEADER_DEADLINE_MS,
    HEADER_EXPLAIN,
    HEADER_REQUEST_ID,
    HEADER_ROUTE,
    HEADER_TIMING,
    ReturnCode,
    dumps,
    loads,
)
from gateway.core.topology import Topology
from gateway.core.trace import Timing, decode_route, decode_timing

DEFAULT_FROM_IP = "127.0.9.1"  # a loopback address no node of the demo network listens on
ACCOUNTS_FILE = "cli-accounts.json"
CALL_TIMEOUT = 30.0  # seconds for one call as a whole


@dataclass(frozen=True, slots=True)
class CallResult:
    """One call as the application saw it."""

    envelope: dict[str, Any]
    route: list[str] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)
    elapsed_ms: float = 0.0
    request_id: str = ""

    @property
    def status(self) -> int:
        return int(self.envelope.get("head", {}).get("status", ReturnCode.OTHER))

    @property
    def data(self) -> Any:
        return self.envelope.get("data")

    def as_dict(self) -> dict[str, Any]:
        return {
            "envelope": self.envelope,
            "route": self.route,
            "timings": [{"node": node, "ms": ms} for node, ms in self.timings],
            "elapsed_ms": round(self.elapsed_ms, 3),
            "request_id": self.request_id,
        }


class AppCaller(SessionOwner):
    """``async with AppCaller(topology, state, "hlj-harbin") as app: await app.call(...)``."""

    def __init__(
        self,
        topology: Topology,
        state: StateDir,
        node_id: str,
        *,
        from_ip: str = DEFAULT_FROM_IP,
        name: str = "ecert-cli",
        rate_limit: float | None = None,
        account_id: str | None = None,
        link_key: bytes | None = None,
    ):
        self.topology = topology
        self.state = state
        self.node = topology.node(node_id)
        self.from_ip = from_ip
        self.name = name
        self.rate_limit = rate_limit  # requests/s of a new account; None: the node's default
        self._token: str | None = None
        self._account = ""
        self._given_account = account_id  # an existing account (a peer's), used as it is
        self.link_key = link_key  # a peer's calls carry its link's signature (gateway.core.links)
        taken = {node.host: node.id for node in topology.nodes}
        if from_ip in taken and account_id is None:
            raise CallError(f"--from-ip {from_ip} is the address of node {taken[from_ip]}")

    def _open_session(self) -> aiohttp.ClientSession:
        return client_session(local_host=self.from_ip, limit=64, total_timeout=CALL_TIMEOUT)

    # -- account and token -----------------------------------------------------------------------
    @property
    def _accounts_path(self) -> Path:
        return self.state.root / ACCOUNTS_FILE

    def _remembered(self) -> dict[str, str]:
        try:
            known = json.loads(self._accounts_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in known.items()} if isinstance(known, dict) else {}

    async def account_id(self, *, fresh: bool = False) -> str:
        if self._given_account is not None:
            return self._given_account
        key = f"{self.topology.network}/{self.node.id}/{self.from_ip}/{self.name}"
        known = self._remembered()
        if key in known and not fresh:
            return known[key]
        async with AdminClient(self.topology, self.state, self.node.id) as admin:
            created = await admin.create_account(
                self.from_ip, self.name, rate_limit=self.rate_limit
            )
        account = str(created["AccountId"])
        known[key] = account
        private_dir(self._accounts_path.parent)
        write_private(self._accounts_path, json.dumps(known, indent=2).encode())
        return account

    async def token(self) -> str:
        """The day's token; a forgotten account (a new state dir) is created again once."""
        if self._token is not None:
            return self._token
        for fresh in (False, True):
            account = await self.account_id(fresh=fresh)
            result = await self.post("token", {"AccountId": account})
            token = result.data.get("dataList") if isinstance(result.data, dict) else None
            if result.status == ReturnCode.SUCCESS and isinstance(token, str):
                self._token = token
                self._account = account
                return token
            if result.status != ReturnCode.AUTH_FAILED:
                break
        message = result.envelope.get("head", {}).get("message", "")
        raise CallError(f"{self.node.id} gave no token to {self.from_ip}: {message}")

    # -- calls -----------------------------------------------------------------------------------
    async def call(
        self,
        method: str,
        params: dict[str, str],
        *,
        explain: bool = False,
        deadline_ms: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> CallResult:
        """Call ``method`` with our account and token; the envelope, route and timings.
        ``headers``: more request headers (a peer's hop budget and route)."""
        token = await self.token()
        body = {**params, "AccountId": self._account, "AccessToken": token}
        headers = dict(headers or {})
        if explain:
            headers[HEADER_EXPLAIN] = "1"
        if deadline_ms is not None:
            headers[HEADER_DEADLINE_MS] = str(deadline_ms)
        return await self.post(method, body, headers=headers)

    async def post(
        self, method: str, body: dict[str, str], *, headers: dict[str, str] | None = None
    ) -> CallResult:
        url = f"{self.node.url}{self.topology.path}/{method}"
        data, sent = dumps(body), {"Content-Type": "application/json", **(headers or {})}
        if self.link_key is not None and method != "token":
            sent[HEADER_LINK_SIGNATURE] = sign(self.link_key, method, sent, data)
        started = time.perf_counter()
        try:
            async with self.session.post(url, data=data, headers=sent) as response:
                raw = await response.read()
                answered = response.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CallError(f"{self.node.id} at {self.node.url} did not answer: {exc}") from exc
        elapsed = (time.perf_counter() - started) * 1000
        try:
            envelope = loads(raw)
        except ValueError as exc:
            raise CallError(f"{self.node.id} answered something that is not JSON") from exc
        return CallResult(
            envelope=envelope if isinstance(envelope, dict) else {"data": envelope},
            route=decode_route(answered.get(HEADER_ROUTE)),
            timings=decode_timing(answered.get(HEADER_TIMING)),
            elapsed_ms=elapsed,
            request_id=answered.get(HEADER_REQUEST_ID, ""),
        )

    async def download(self, url: str) -> tuple[int, bytes, str]:
        """GET a fileUrl from the application's address: (HTTP status, body, content type)."""
        try:
            async with self.session.get(url) as response:
                return response.status, await response.read(), response.content_type
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CallError(f"cannot download {url}: {exc}") from exc
