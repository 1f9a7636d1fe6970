"""Day tokens (SPEC §4): one AccessToken per account and day, 32 upper-case hex characters."""

from __future__ import annotations

import secrets

from nodes.store.db import Database


def new_token() -> str:
    return secrets.token_hex(16).upper()


class TokenRepo:
    def __init__(self, db: Database):
        self.db = db

    async def issue(self, account_id: str, day: str) -> str:
        """The account's token for ``day`` (ISO date): the one already issued, or a new one."""
        await self.db.execute(
            "INSERT INTO access_token (account_id, day, token) VALUES (?, ?, ?)"
            " ON CONFLICT (account_id, day) DO NOTHING",
            (account_id, day, new_token()),
        )
        token = await self.db.scalar(
            "SELECT token FROM access_token WHERE account_id = ? AND day = ?", (account_id, day)
        )
        return str(token)

    async def day_of(self, account_id: str, token: str) -> str | None:
        """The day ``token`` was issued to ``account_id`` for; None if it is not that account's."""
        value = await self.db.scalar(
            "SELECT day FROM access_token WHERE account_id = ? AND token = ?", (account_id, token)
        )
        return None if value is None else str(value)
