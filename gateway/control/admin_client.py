"""A client for one node's admin API (``/admin/...``, header ``X-Ecert-Admin-Key``).

The key is the one the node wrote at first start into ``<state>/<node-id>/admin.key``; admin
requests are only accepted from loopback, so this client runs on the machine of the node.

Failures are ``AdminError`` and its subclasses (``gateway.control.errors``).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import aiohttp

from gateway.control.errors import AdminError, AdminKeyMissing, AdminRejected, NodeNotRunning
from gateway.control.state import StateDir
from gateway.core.client import SessionOwner, client_session, read_json
from gateway.core.topology import NodeSpec, Topology

ADMIN_KEY_HEADER = "X-Ecert-Admin-Key"
DEFAULT_TIMEOUT = 10.0  # seconds for one admin request


class AdminClient(SessionOwner):
    """``async with AdminClient(topology, state, "hlj") as admin: await admin.status()``.

    Pass ``session`` to share one client session between several nodes' clients.
    """

    def __init__(
        self,
        topology: Topology,
        state: StateDir,
        node_id: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        self.node: NodeSpec = topology.node(node_id)
        self.state = state
        self.timeout = timeout
        self._session = session

    def _open_session(self) -> aiohttp.ClientSession:
        return client_session(limit=8, total_timeout=self.timeout)

    # -- the admin API --------------------------------------------------------------------------
    async def healthz(self) -> Any:
        return await self.request("GET", "/healthz", admin=False)

    async def status(self) -> Any:
        return await self.request("GET", "/admin/status")

    async def create_account(
        self, ip: str, name: str | None = None, *, rate_limit: float | None = None
    ) -> Any:
        """An application account bound to ``ip``; ``rate_limit`` in requests/s (the node's
        default, 50, when None)."""
        body: dict[str, Any] = {"ip": ip, "name": name or ip}
        if rate_limit is not None:
            body["rate_limit"] = rate_limit
        return await self.request("POST", "/admin/accounts", json=body)

    async def list_accounts(self) -> Any:
        return await self.request("GET", "/admin/accounts")

    async def disable_account(self, account_id: str) -> Any:
        return await self.request("POST", f"/admin/accounts/{_part(account_id)}/disable")

    async def certificates(self) -> Any:
        return await self.request("GET", "/admin/certificates")

    async def issue(self, record: dict[str, Any]) -> Any:
        """制证签发: the issued record (without a CertificateID the node assigns one)."""
        return await self.request("POST", "/admin/certificates", json=record)

    async def certificate(self, certificate_id: str) -> Any:
        return await self.request("GET", f"/admin/certificates/{_part(certificate_id)}")

    async def lifecycle(self, certificate_id: str, operation: str, body: dict[str, Any]) -> Any:
        """One lifecycle operation (change, extend, cancel, revoke, lose, suspend, restore):
        ``{"certificate": …, "previous": …}`` (previous: the version a change replaced)."""
        path = f"/admin/certificates/{_part(certificate_id)}/{_part(operation)}"
        return await self.request("POST", path, json=body)

    async def history(self, certificate_id: str) -> Any:
        return await self.request("GET", f"/admin/certificates/{_part(certificate_id)}/history")

    async def audit(self, **filters: str | int | None) -> Any:
        """Audit rows, newest first: ``request_id``, ``account``, ``method``, ``since``,
        ``limit`` (those given)."""
        query = "&".join(f"{k}={_part(str(v))}" for k, v in filters.items() if v)
        return await self.request("GET", f"/admin/audit?{query}" if query else "/admin/audit")

    async def seals(self, *, node: str | None = None) -> Any:
        """The seals known at the node; ``node``: only those held there."""
        query = f"?node={_part(node)}" if node else ""
        return await self.request("GET", f"/admin/seals{query}")

    async def create_seal(self, body: dict[str, Any]) -> Any:
        return await self.request("POST", "/admin/seals", json=body)

    async def ensure_seal(self, record: dict[str, Any]) -> Any:
        """The seal of the record's issuing authority held at the node, created when it has
        none (an authority must have a seal before it issues: README "Seals")."""
        code = record.get("CertificateIssuingAuthorityCode")
        for seal in await self.seals(node=self.node.id):
            if seal.get("CertificateIssuingAuthorityCode") == code:
                return seal
        body = {
            "CertificateIssuingAuthorityName": record.get("CertificateIssuingAuthorityName"),
            "CertificateIssuingAuthorityCode": code,
        }
        return await self.create_seal(body)

    async def anomalies(self) -> Any:
        return await self.request("GET", "/admin/anomalies")

    async def types(self) -> Any:
        return await self.request("GET", "/admin/types")

    async def approve_type(self, code: str) -> Any:
        return await self.request("POST", f"/admin/types/{_part(code)}/approve")

    async def faults(self) -> Any:
        """The node's fault table: ``{"node", "faults": [rule, ..., "remaining_s"]}``."""
        return await self.request("GET", "/admin/faults")

    async def add_fault(self, rule: dict[str, Any]) -> Any:
        return await self.request("POST", "/admin/faults", json=rule)

    async def clear_fault(self, fault_id: str) -> Any:
        return await self.request("DELETE", f"/admin/faults/{_part(fault_id)}")

    async def clear_faults(self) -> Any:
        return await self.request("DELETE", "/admin/faults")

    # -- transport ------------------------------------------------------------------------------
    async def request(self, method: str, path: str, *, json: Any = None, admin: bool = True) -> Any:
        """Send one request; the decoded JSON answer, or an ``AdminError``."""
        session = self.session
        headers = {ADMIN_KEY_HEADER: await self._admin_key()} if admin else {}
        node_id = self.node.id
        try:
            async with session.request(
                method, f"{self.node.url}{path}", json=json, headers=headers
            ) as response:
                body = await _decode(response)
                status = response.status
        except TimeoutError as exc:
            raise AdminError(
                f"node {node_id} did not answer {method} {path} within {self.timeout:g} s",
                node_id=node_id,
            ) from exc
        except (aiohttp.ClientConnectionError, ConnectionError) as exc:
            raise NodeNotRunning(
                f"node {node_id} is not running (nothing answers at {self.node.url})",
                node_id=node_id,
            ) from exc
        if status >= 400:
            reason = body.get("error") if isinstance(body, dict) else None
            raise AdminRejected(
                f"node {node_id} refused {method} {path}: {reason or f'HTTP {status}'}",
                node_id=node_id,
                status=status,
            )
        return body

    async def _admin_key(self) -> str:
        try:
            return self.admin_key()
        except AdminKeyMissing:
            await self.healthz()  # a node that is down says so rather than "no key"
            raise

    def admin_key(self) -> str:
        path = self.state.admin_key_path(self.node.id)
        try:
            return path.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise AdminKeyMissing(
                f"node {self.node.id} has no admin key at {path} (was it ever started there?)",
                node_id=self.node.id,
            ) from exc


async def _decode(response: aiohttp.ClientResponse) -> Any:
    try:
        return await read_json(response)
    except ValueError:
        text = (await response.text(errors="replace")).strip()
        return {"error": text[:200] or f"HTTP {response.status}"}
    except asyncio.IncompleteReadError as exc:  # pragma: no cover - connection dropped mid-body
        raise aiohttp.ClientConnectionError(str(exc)) from exc


def _part(value: str) -> str:
    return quote(value, safe="")
