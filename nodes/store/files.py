"""fileUrl links (SPEC §3.3): unguessable, expiring tokens naming a local copy or a relay.

A ``local`` link names one of this node's certificates and the B.3 copy items recorded when the
link was handed out; a ``relay`` link names the next hop's fileUrl (the entry node relays files
held further along the cascade).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import orjson

from nodes.model.certificate import CertificateCopy
from nodes.store.db import Database, Row

LinkKind = Literal["local", "relay"]
FileFormat = Literal["ofd", "pdf", "zip"]

_COLUMNS = "token, kind, certificate_id, file_format, upstream_url, copy, expires_at"


def new_file_token() -> str:
    """32 upper-case hex characters: 128 random bits."""
    return secrets.token_hex(16).upper()


@dataclass(frozen=True, slots=True)
class FileLink:
    token: str
    kind: LinkKind
    file_format: FileFormat
    expires_at: float  # POSIX seconds, compared with the node's clock
    certificate_id: str = ""  # kind "local"
    copy: CertificateCopy | None = None  # kind "local": the B.3 items of this copy
    upstream_url: str = ""  # kind "relay": the next hop's fileUrl

    def values(self) -> tuple[str, str, str, str, str, bytes, float]:
        copy = b"{}" if self.copy is None else orjson.dumps(self.copy.model_dump(mode="json"))
        return (
            self.token,
            self.kind,
            self.certificate_id,
            self.file_format,
            self.upstream_url,
            copy,
            self.expires_at,
        )


def _link(row: Row) -> FileLink:
    raw_copy = orjson.loads(row["copy"])
    kind: LinkKind = "relay" if row["kind"] == "relay" else "local"
    file_format: FileFormat = row["file_format"]
    return FileLink(
        token=row["token"],
        kind=kind,
        file_format=file_format,
        expires_at=float(row["expires_at"]),
        certificate_id=row["certificate_id"],
        copy=CertificateCopy.model_validate(raw_copy) if raw_copy else None,
        upstream_url=row["upstream_url"],
    )


class FileLinkRepo:
    def __init__(self, db: Database):
        self.db = db

    async def add(self, links: Iterable[FileLink]) -> None:
        """Store links in one transaction."""
        rows = [link.values() for link in links]
        if not rows:
            return
        async with self.db.transaction() as tx:
            await tx.executemany(
                f"INSERT INTO file_link ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows
            )

    async def get(self, token: str, *, now: float) -> FileLink | None:
        """The link, unless unknown or expired at ``now`` (POSIX seconds)."""
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM file_link WHERE token = ? AND expires_at > ?", (token, now)
        )
        return None if row is None else _link(row)

    async def purge(self, *, now: float) -> int:
        """Forget expired links; return how many."""
        return await self.db.execute("DELETE FROM file_link WHERE expires_at <= ?", (now,))
