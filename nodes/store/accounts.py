"""Accounts of business applications and of neighbour nodes (SPEC §4), each bound to one IP."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from nodes.store.db import Database, Row

AccountKind = Literal["app", "peer"]
DEFAULT_RATE_LIMIT = 50.0  # requests per second for an application account
PEER_PREFIX = "peer-"

_COLUMNS = "account_id, name, bound_ip, kind, rate_limit, disabled, created_at"


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str  # the standard's AccountId
    name: str
    bound_ip: str
    kind: AccountKind
    rate_limit: float  # requests per second; peers are not limited
    disabled: bool
    created_at: str

    @property
    def is_peer(self) -> bool:
        return self.kind == "peer"

    @property
    def neighbour_id(self) -> str | None:
        """The neighbour node a peer account belongs to (``peer-<id>``)."""
        return self.account_id.removeprefix(PEER_PREFIX) if self.is_peer else None

    def public(self) -> dict[str, object]:
        """The admin API's view of an account."""
        return {
            "AccountId": self.account_id,
            "ip": self.bound_ip,
            "name": self.name,
            "kind": self.kind,
            "rate_limit": self.rate_limit,
            "disabled": self.disabled,
        }


def _account(row: Row) -> Account:
    kind: AccountKind = "peer" if row["kind"] == "peer" else "app"
    return Account(
        account_id=row["account_id"],
        name=row["name"],
        bound_ip=row["bound_ip"],
        kind=kind,
        rate_limit=float(row["rate_limit"]),
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
    )


def new_account_id() -> str:
    """An unguessable AccountId: 128 random bits, lower-case hex."""
    return secrets.token_hex(16)


class AccountRepo:
    def __init__(self, db: Database):
        self.db = db

    async def create(
        self,
        *,
        ip: str,
        name: str = "",
        now: str,
        kind: AccountKind = "app",
        rate_limit: float = DEFAULT_RATE_LIMIT,
        account_id: str | None = None,
    ) -> Account:
        """A new account bound to ``ip``; the AccountId is random unless given."""
        account_id = account_id or new_account_id()
        await self.db.execute(
            f"INSERT INTO account ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, 0, ?)",
            (account_id, name, ip, kind, rate_limit, now),
        )
        return Account(account_id, name, ip, kind, rate_limit, False, now)

    async def ensure_peer(self, neighbour_id: str, *, ip: str, name: str, now: str) -> Account:
        """The account ``peer-<neighbour>``; created once, its bound IP kept up to date."""
        await self.db.execute(
            f"INSERT INTO account ({_COLUMNS}) VALUES (?, ?, ?, 'peer', 0, 0, ?)"
            " ON CONFLICT (account_id) DO UPDATE SET bound_ip = excluded.bound_ip,"
            " name = excluded.name, kind = 'peer'",
            (PEER_PREFIX + neighbour_id, name, ip, now),
        )
        account = await self.get(PEER_PREFIX + neighbour_id)
        assert account is not None
        return account

    async def get(self, account_id: str) -> Account | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM account WHERE account_id = ?", (account_id,)
        )
        return None if row is None else _account(row)

    async def list(self) -> list[Account]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM account ORDER BY created_at, account_id"
        )
        return [_account(row) for row in rows]

    async def disable(self, account_id: str) -> Account | None:
        """Disable an account for good; None when there is no such account."""
        changed = await self.db.execute(
            "UPDATE account SET disabled = 1 WHERE account_id = ?", (account_id,)
        )
        return await self.get(account_id) if changed else None
