"""The suite's HTTP side: calls to the system under test, each kept as an ``Exchange``.

A ``Probe`` calls as a business application from ``--from-ip`` (and, for the IP-binding checks,
from ``--other-ip``), with form bodies as Appendix C shows or JSON bodies (SPEC §3.1). Nothing
here judges an answer: a refused connection, an HTML page or a status ``12`` are all recorded
as they came, and the checks decide. A ``16`` (请求过于频繁) is the one answer the probe acts on:
it waits and sends the request again, as an application must, so that the suite's pace never
fails a check.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlencode

import aiohttp
from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt, wait_random_exponential

from gateway.control.conformance.target import Target
from gateway.control.errors import SourceAddressUnusable
from gateway.core.client import client_session
from gateway.core.protocol import dumps, loads

TOO_FREQUENT = "16"
AUTH_FAILED = "11"
RATE_ATTEMPTS = 12  # sends of one request while the system answers 16
SHOWN_BYTES = 2000  # of an answer's body, in reports
Body = Literal["form", "json", ""]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and what came back (``error`` when nothing did)."""

    request: str  # "POST http://…/ecert/token"
    source: str  # the address it was sent from; "" for the machine's default
    body: Body
    params: Mapping[str, Any] = field(default_factory=dict)  # strings; JSON bodies may nest
    http_status: int | None = None
    content_type: str = ""
    raw: bytes = b""
    answer: Any = None  # the decoded JSON; None when the body is not JSON
    error: str = ""
    attempts: int = 1

    @property
    def status(self) -> str | None:
        """``head.status`` as text, read leniently (a number is read too)."""
        head = self.answer.get("head") if isinstance(self.answer, dict) else None
        status = head.get("status") if isinstance(head, dict) else None
        return None if status is None or isinstance(status, bool) else str(status)

    @property
    def data(self) -> Any:
        return self.answer.get("data") if isinstance(self.answer, dict) else None

    def items(self) -> list[Any]:
        """``data.dataList`` when it is an array, else nothing."""
        items = self.data.get("dataList") if isinstance(self.data, dict) else None
        return items if isinstance(items, list) else []

    def sent(self, *, labels: Mapping[str, str] | None = None) -> str:
        """One line; a value found in ``labels`` is shown as its label (``(the day's token)``)."""
        labels = labels or {}
        params = " ".join(
            f"{k}={labels.get(_text(v)) or _short(_text(v), 60)}" for k, v in self.params.items()
        )
        source = f" from {self.source}" if self.source else ""
        return f"{self.request}{source} {self.body} {params}".strip()

    def came_back(self) -> str:
        if self.error:
            return self.error
        what = f"HTTP {self.http_status} {self.content_type}"
        if self.answer is not None:
            return f"{what} {_short(dumps(self.answer).decode(), 300)}"
        text = self._decoded()
        shown = "" if text is None else f" {_short(text, 120)}"
        return f"{what} ({len(self.raw)} bytes){shown}"

    def text(self) -> str:
        """The body as text when it is text (HTML, a JSON error…); a file is only named."""
        text = self._decoded()
        if text is None:
            return f"({len(self.raw)} bytes of {self.content_type or 'binary data'})"
        return text[:SHOWN_BYTES]

    def _decoded(self) -> str | None:
        try:
            return self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "source": self.source,
            "body": self.body,
            "params": dict(self.params),
            "http_status": self.http_status,
            "content_type": self.content_type,
            "answer": self.answer if self.answer is not None else self.text(),
            "error": self.error,
            "attempts": self.attempts,
        }


def _text(value: Any) -> str:
    """A parameter as a form field carries it: a string, or JSON text (``CertificateData``)."""
    return value if isinstance(value, str) else dumps(value).decode()


def _short(value: str, limit: int) -> str:
    return value if len(value) <= limit else f"{value[: limit - 1]}…"


def check_source_address(ip: str, option: str) -> None:
    """Raise ``SourceAddressUnusable`` unless this machine can send from ``ip``."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((ip, 0))
        except OSError as exc:
            raise SourceAddressUnusable(
                f"cannot send from {option} {ip}: this machine has no such address ({exc.strerror})"
            ) from exc


class Probe:
    """``async with Probe(target) as probe: await probe.call("GetCertificateType")``."""

    def __init__(self, target: Target):
        self.target = target
        self.token = ""  # the day's AccessToken, once the runner has it
        self.exchanges: list[Exchange] = []
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    def take(self) -> list[Exchange]:
        """The exchanges since the last ``take``."""
        taken, self.exchanges = self.exchanges, []
        return taken

    # -- requests --------------------------------------------------------------------------------
    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        json: bool = False,
        other: bool = False,
        omit: Sequence[str] = (),
    ) -> Exchange:
        """``method`` with the account and its token of the day, ``params``, less ``omit``.

        A 11 to the day's own token, when Token now answers another one, means a new day began
        (§7.3.1): the call is made again with the new token, as an application must.
        """
        body = {"AccountId": self.target.account, "AccessToken": self.token, **(params or {})}
        body = {k: v for k, v in body.items() if k not in omit}
        exchange = await self.post(method, body, json=json, other=other)
        ours = (
            body.get("AccountId") == self.target.account and body.get("AccessToken") == self.token
        )
        if exchange.status == AUTH_FAILED and ours and await self._new_day():
            exchange = await self.post(
                method, body | {"AccessToken": self.token}, json=json, other=other
            )
        return exchange

    async def _new_day(self) -> bool:
        """Whether Token now answers another token than the day's (which then replaces it)."""
        fresh = await self.token_call()
        data = fresh.data if fresh.status == "0" else None
        token = data.get("dataList") if isinstance(data, dict) else None
        if isinstance(token, str) and token and token != self.token:
            self.token = token
            return True
        return False

    async def token_call(
        self, account: str | None = None, *, json: bool = False, other: bool = False
    ) -> Exchange:
        """Appendix C.1: ``POST <path>/token`` with ``AccountId``."""
        account = self.target.account if account is None else account
        return await self.post("token", {"AccountId": account}, json=json, other=other)

    async def post(
        self, method: str, params: Mapping[str, Any], *, json: bool = False, other: bool = False
    ) -> Exchange:
        """One request, sent again while the system answers 16; recorded as it ended."""
        attempts = 0

        async def send() -> Exchange:
            nonlocal attempts
            attempts += 1
            return await self._post(method, params, json=json, other=other)

        retrying = AsyncRetrying(
            retry=retry_if_result(lambda exchange: exchange.status == TOO_FREQUENT),
            wait=wait_random_exponential(multiplier=0.05, max=2.0),
            stop=stop_after_attempt(RATE_ATTEMPTS),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        exchange: Exchange = await retrying(send)
        if attempts > 1:
            exchange = replace(exchange, attempts=attempts)
        self.exchanges.append(exchange)
        return exchange

    async def download(self, url: str) -> Exchange:
        """A plain GET of a ``fileUrl`` from the application's address."""
        exchange = await self._send("GET", url, b"", {}, body="", params={}, other=False)
        self.exchanges.append(exchange)
        return exchange

    async def _post(
        self, method: str, params: Mapping[str, Any], *, json: bool, other: bool
    ) -> Exchange:
        if json:
            data, content_type = dumps(dict(params)), "application/json"
        else:
            data = urlencode({k: _text(v) for k, v in params.items()}).encode("ascii")
            content_type = "application/x-www-form-urlencoded"
        return await self._send(
            "POST",
            self.target.method_url(method),
            data,
            {"Content-Type": content_type},
            body="json" if json else "form",
            params=params,
            other=other,
        )

    async def _send(
        self,
        verb: str,
        url: str,
        data: bytes,
        headers: dict[str, str],
        *,
        body: Body,
        params: Mapping[str, Any],
        other: bool,
    ) -> Exchange:
        source = (self.target.other_ip if other else self.target.from_ip) or ""
        sent = Exchange(f"{verb} {url}", source, body, dict(params))
        try:
            async with self._session(other).request(
                verb, url, data=data or None, headers=headers
            ) as response:
                raw = await response.read()
                status, content_type = response.status, response.content_type
        except TimeoutError:
            return replace(sent, error=f"no answer within {self.target.timeout:g} s")
        except aiohttp.ClientError as exc:
            return replace(sent, error=f"no answer: {exc or type(exc).__name__}")
        return _answered(sent, status, content_type, raw)

    def _session(self, other: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(other)
        if session is None:
            address = self.target.other_ip if other else self.target.from_ip
            session = client_session(local_host=address, limit=4, total_timeout=self.target.timeout)
            self._sessions[other] = session
        return session


def _answered(sent: Exchange, status: int, content_type: str, raw: bytes) -> Exchange:
    answer: Any = None
    if raw.lstrip()[:1] in (b"{", b"["):
        try:
            answer = loads(raw)
        except ValueError:
            answer = None
    return replace(sent, http_status=status, content_type=content_type, raw=raw, answer=answer)
