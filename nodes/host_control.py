"""The control port of a node host: the launcher stops, aborts or starts one node of it.

A TCP port on 127.0.0.1 chosen by the system; the host writes ``{"port": P, "key": K}`` to the
file ``--control`` names (in the state directory's private ``run/`` folder, 0600), and every
request carries that key (a Unix socket would do, but its path is limited to 108 bytes). One JSON
object a line each way::

    {"key": K, "op": "abort", "node": "hlj-harbin"}  ->  {"ok": true, "running": ["hlj", ...]}
    {"op": "stop" | "start", "node": ID}    ->  the same; "start" answers once the node listens
    {"op": "running"}                       ->  {"ok": true, "running": [...]}
    anything else                           ->  {"ok": false, "error": "..."}

``abort`` is what ``ecert fault kill`` does to a node of a shared host: the node ends as a crash
would (``nodes.host``) while the others keep serving. The host writes the ids of the nodes it
serves to ``<control file>.nodes`` (one a line) after every change, so the launcher can tell a node
that was aborted from one that runs without asking.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import structlog

from nodes.errors import NodeStartFailed
from nodes.host import HostError, NodeHost

log = structlog.get_logger()
MAX_LINE = 4096


@contextlib.asynccontextmanager
async def host_control(host: NodeHost, path: Path) -> AsyncIterator[None]:
    """Serve the control port, announced in the file ``path``, for the duration of the block."""
    key = secrets.token_hex(16)
    listing = nodes_listing_path(path)
    write_listing(listing, host.running())
    server = await asyncio.start_server(
        lambda reader, writer: _session(host, key, listing, reader, writer), host="127.0.0.1"
    )
    port = server.sockets[0].getsockname()[1]
    _write_at_once(path, json.dumps({"port": port, "key": key, "pid": os.getpid()}))
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()
        _remove(path)
        _remove(listing)


def nodes_listing_path(control_path: Path) -> Path:
    return control_path.with_name(f"{control_path.name}.nodes")


def write_listing(path: Path, node_ids: list[str]) -> None:
    """Replace the listing at once: a reader sees the old one or the new one."""
    _write_at_once(path, "".join(f"{node_id}\n" for node_id in node_ids))


def _write_at_once(path: Path, text: str) -> None:
    partial = path.with_name(f"{path.name}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def _session(
    host: NodeHost,
    key: str,
    listing: Path,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    try:
        while line := await reader.readline():
            reply = await _answer(host, key, line[:MAX_LINE])
            write_listing(listing, host.running())
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _answer(host: NodeHost, key: str, line: bytes) -> dict[str, Any]:
    try:
        request = json.loads(line)
        op, node_id, given = request.get("op"), request.get("node"), str(request.get("key"))
    except (ValueError, AttributeError):
        return {"ok": False, "error": "not a JSON object"}
    if not hmac.compare_digest(given.encode(), key.encode()):
        return {"ok": False, "error": "wrong key"}
    if op != "running" and not isinstance(node_id, str):
        return {"ok": False, "error": f"{op!r} needs a node id"}
    try:
        if op == "abort":
            await host.abort(str(node_id))
        elif op == "stop":
            await host.stop(str(node_id))
        elif op == "start":
            await host.start(str(node_id))
        elif op != "running":
            return {"ok": False, "error": f"unknown op {op!r}"}
    except (HostError, NodeStartFailed, ValueError) as exc:
        return {"ok": False, "error": str(exc), "running": host.running()}
    log.info("host.controlled", op=op, target=node_id)
    return {"ok": True, "running": host.running()}
