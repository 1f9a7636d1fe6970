"""fileUrl relaying (SPEC §3.3): a file held further along the cascade is served by the node the
caller asked. Each node that passes on a neighbour's file or picture answer replaces the fileUrl
by a relay link of its own (``relay_links``); a GET of that link fetches the next hop's link
(``fetch``), which may relay further, so the file travels back along the route.
"""

from __future__ import annotations

from types import MappingProxyType
from urllib.parse import urlsplit

import structlog

from gateway.core.errors import ForwardError
from gateway.core.forwarder import FetchedFile
from gateway.core.neighbours import Neighbours
from nodes.call import Answer
from nodes.context import NodeContext
from nodes.errors import CascadeUnreachable
from nodes.store.files import FileFormat, FileLink, new_file_token

log = structlog.get_logger()

FILE_DEADLINE_MS = 10_000.0  # a relayed file may take longer than a data answer
_FILE_FORMATS: MappingProxyType[str, FileFormat] = MappingProxyType(
    {"ofd": "ofd", "pdf": "pdf", "zip": "zip"}
)


class FileRelay:
    """Relay links of one node, and the neighbours that serve what they name."""

    def __init__(self, ctx: NodeContext, neighbours: Neighbours):
        self.ctx = ctx
        self.neighbours = neighbours

    async def relay_links(self, answer: Answer) -> None:
        """Replace every fileUrl in a neighbour's answer by a relay link on this node."""
        ctx = self.ctx
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
        await ctx.store.files.add(links)

    async def fetch(self, link: FileLink) -> FetchedFile:
        """What a relay link names, from the next hop (which may relay further).

        The next hop's status passes through (404 for an expired link there); a next hop that
        cannot be reached is 30 (CascadeUnreachable).
        """
        neighbour = self._node_at(link.upstream_url)
        try:
            return await self.neighbours.fetch_file(
                link.upstream_url, node_id=neighbour, deadline_ms=FILE_DEADLINE_MS
            )
        except ForwardError as exc:
            log.warning("file.relay_failed", neighbour=neighbour, error=str(exc))
            raise CascadeUnreachable(neighbour, str(exc).removeprefix(f"{neighbour}: ")) from exc

    def _node_at(self, url: str) -> str:
        """The id of the neighbour a fileUrl points at (its host:port), for messages."""
        parts = urlsplit(url)
        for node in self.ctx.topology.neighbours(self.ctx.node_id):
            if (node.host, node.port) == (parts.hostname, parts.port):
                return node.id
        return parts.netloc or "upstream"
