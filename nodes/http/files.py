"""``GET <path>/file<32 HEX>.<ofd|pdf|zip>``: the copy a fileUrl names (SPEC §3.3, B.3).

A plain GET, no credentials: the URL itself is the unguessable, expiring capability. A ``local``
link renders this node's certificate with the B.3 copy items recorded when the link was handed
out; a ``relay`` link fetches the file from the next hop (the entry node relays along the cascade).
An unknown or expired link is a 404 carrying a status-10 envelope.

Every download is an audit row (``method`` ``file``): the return code (0 when the file went
out), the copy's cause (UseFor), and ``<CertificateID>.<ext>`` or, for a relayed one, ``relay``.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import orjson
import structlog
from aiohttp import web

from gateway.core.protocol import ReturnCode
from nodes.context import NodeContext
from nodes.errors import MethodNotAllowed, NodeError, NotFound
from nodes.files import render
from nodes.http.keys import CONTEXT, FILE_RELAY
from nodes.http.middleware import REQUEST_ID
from nodes.model.certificate import Certificate
from nodes.seals.sealing import signing_key
from nodes.store.audit import AuditRecord
from nodes.store.files import FileLink

log = structlog.get_logger()
_FILE_NAME = re.compile(r"(?P<token>[0-9A-F]{32})\.(?P<ext>ofd|pdf|zip)")


class FileNotFound(NotFound):
    """10 with HTTP 404: the fileUrl is unknown, expired or its certificate is gone."""

    http_status = 404

    def __init__(self, reason: str):
        super().__init__(f"{ReturnCode.NOT_FOUND.message}: {reason}")


async def download(request: web.Request) -> web.StreamResponse:
    """The file, and its audit row whatever the outcome."""
    trail: dict[str, str] = {"detail": request.match_info["name"][:80]}
    code = ReturnCode.SUCCESS
    try:
        response = await _download(request, trail)
        if response.status >= 400:  # a relayed file the next hop did not hand out
            code = ReturnCode.NOT_FOUND if response.status == 404 else ReturnCode.OTHER
        return response
    except NodeError as exc:
        code = exc.code
        raise
    finally:
        _audit(request, trail, code)


def _audit(request: web.Request, trail: dict[str, str], code: ReturnCode) -> None:
    ctx = request.app[CONTEXT]
    ctx.store.audit_log.record(
        AuditRecord(
            time=ctx.clock.stamp(),
            request_id=request[REQUEST_ID],
            account_id="",  # a fileUrl is its own capability
            peer_ip=request.remote or "",
            method="file",
            use_for=trail.get("use_for", ""),
            status=str(int(code)),
            route=ctx.node_id,
            detail=trail["detail"],
        )
    )


async def _download(request: web.Request, trail: dict[str, str]) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    if request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed("a fileUrl", request.method, "GET")
    named = _FILE_NAME.fullmatch(request.match_info["name"])
    if named is None:
        raise FileNotFound("not a fileUrl this node hands out")
    token, ext = named.group("token"), named.group("ext")
    link = await ctx.store.files.get(token, now=ctx.clock.now().timestamp())
    if link is None or link.file_format != ext:
        raise FileNotFound("the file link is unknown or has expired")
    if link.kind == "relay":
        trail["detail"] = f"relay {token}.{ext}"
        return await _relay(request, link)
    trail["detail"] = f"{link.certificate_id}.{ext}"
    if link.copy is not None:
        trail["use_for"] = link.copy.CertificateCopyCreationCause[:200]
    cert = await _certificate(ctx, link.certificate_id)
    if link.copy is None:
        raise FileNotFound("the file link records no copy")
    key = await signing_key(ctx, cert.to_record())
    if key is None:
        log.warning("file.unsealed", certificate_id=link.certificate_id, reason="no seal here")
    # rendering OFD/PDF/PNG is CPU work: off the event loop
    body, media_type = await asyncio.to_thread(render, cert, link.copy, link.file_format, key)
    log.info("file.served", certificate_id=link.certificate_id, file_format=ext, size=len(body))
    filename = f"{link.certificate_id}.{ext}"
    return web.Response(
        body=body,
        headers={
            "Content-Type": media_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


async def _certificate(ctx: NodeContext, certificate_id: str) -> Certificate:
    """The stored certificate; a record stored without validation (fault injection) as is."""
    stored = await ctx.store.certificates.record(certificate_id)
    if stored is None:
        raise FileNotFound(f"certificate {certificate_id} is no longer held here")
    record: dict[str, Any] = orjson.loads(stored)
    try:
        return Certificate.model_validate(record)
    except ValueError:
        return Certificate.model_construct(**record)


async def _relay(request: web.Request, link: FileLink) -> web.StreamResponse:
    """A file held further along the cascade: fetched from the next hop and passed on with its
    status (404 for a link expired there); a next hop that cannot be reached is 30."""
    fetched = await request.app[FILE_RELAY].fetch(link)
    headers = {"Content-Disposition": fetched.disposition} if fetched.disposition else None
    return web.Response(
        body=fetched.body,
        status=fetched.status,
        content_type=fetched.content_type,
        headers=headers,
    )
