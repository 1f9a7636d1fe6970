"""fileUrl relaying (SPEC §3.3): a file held further along the cascade is served by the node the
caller asked. Each node that passes on a neighbour's file or picture answer replaces the fileUrl
by a relay link of its own; a GET of that link fetches the next hop's link, which may relay
further, so the file travels back along the route.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog
from aiohttp import web

from gateway.core.errors import ForwardError
from nodes.context import NodeContext
from nodes.errors import CascadeUnreachable
from nodes.sharing.call import Answer
from nodes.store.files import FileFormat, FileLink, FileLinkRepo, new_file_token

log = structlog.get_logger()

FILE_DEADLINE_MS = 10_000.0  # a relayed file may take longer than a data answer
_FILE_FORMATS: dict[str, FileFormat] = {"ofd": "ofd", "pdf": "pdf", "zip": "zip"}


async def relay_links(ctx: NodeContext, answer: Answer) -> None:
    """Replace every fileUrl in a neighbour's answer by a relay link on this node."""
    items = answer.data.get("dataList") if isinstance(answer.data, dict) else None
    if not isinstance(items, list):
        return
    expires_at = ctx.clock.now().timestamp() + ctx.settings.file_link_ttl
    base = f"{ctx.node.url}{ctx.topology.path}/file"
    links: list[FileLink] = []
    for item in items:
        upstream = item.get("fileUrl") if isinstance(item, dict) else None
        if not isinstance(upstream, str) or not upstream:
            continue
        file_format = _FILE_FORMATS.get(upstream.rsplit(".", 1)[-1].lower(), "ofd")
        link = FileLink(
            token=new_file_token(),
            kind="relay",
            file_format=file_format,
            expires_at=expires_at,
            upstream_url=upstream,
        )
        links.append(link)
        item["fileUrl"] = f"{base}{link.token}.{file_format}"
    await FileLinkRepo(ctx.db).add(links)


async def relay_file(ctx: NodeContext, link: FileLink) -> web.Response:
    """Serve a relay link: fetch the next hop's fileUrl (which may relay further) and pass it on.

    The next hop's status passes through (404 for an expired link there); a next hop that cannot
    be reached is 30.
    """
    forwarder = ctx.forwarder
    if forwarder is None:
        raise CascadeUnreachable(ctx.node_id, "the cascade is not running")
    neighbour = _node_at(ctx, link.upstream_url)
    try:
        fetched = await forwarder.fetch_file(
            link.upstream_url, node_id=neighbour, deadline_ms=FILE_DEADLINE_MS
        )
    except ForwardError as exc:
        log.warning("file.relay_failed", neighbour=neighbour, error=str(exc))
        raise CascadeUnreachable(neighbour, str(exc).removeprefix(f"{neighbour}: ")) from exc
    headers = {"Content-Disposition": fetched.disposition} if fetched.disposition else None
    return web.Response(
        body=fetched.body,
        status=fetched.status,
        content_type=fetched.content_type,
        headers=headers,
    )


def _node_at(ctx: NodeContext, url: str) -> str:
    """The id of the neighbour a fileUrl points at (its host:port), for messages."""
    parts = urlsplit(url)
    for node in ctx.topology.neighbours(ctx.node_id):
        if (node.host, node.port) == (parts.hostname, parts.port):
            return node.id
    return parts.netloc or "upstream"
