"""Who may call (SPEC §4): the checks every call passes, in this order —

1. AccountId present (12); 2. the account is known and enabled (11); 3. the caller's IP is the
account's bound IP (14); 4. AccessToken present (12); 5. the token is this account's token of
today in the network's time zone (11); 6. the account's rate limit (16; peer accounts have none).

``Token`` runs checks 1–3 and answers the account's token of the day (the same one all day). It is
rate-limited too: per calling address before anything is looked up (``TOKEN_RATE_PER_ADDRESS``,
so unknown AccountIds cannot be tried at will), then at the account's own rate in a bucket apart
from its calls' (16).
Accounts and today's tokens are cached in memory, so an authenticated call costs no SQLite read.
"""

from __future__ import annotations

import ipaddress

from gateway.core.protocol import ReturnCode
from nodes.access.ratelimit import RateLimiter
from nodes.clock import Clock
from nodes.errors import AuthenticationFailed, IpMismatch, ParameterMissing, TooFrequent
from nodes.store.accounts import DEFAULT_RATE_LIMIT, Account, AccountRepo
from nodes.store.tokens import TokenRepo

_AUTH = ReturnCode.AUTH_FAILED.message
TOKEN_RATE_PER_ADDRESS = 20.0  # Token calls per second from one address, whatever the account


def same_ip(a: str, b: str) -> bool:
    """Equal addresses, also across IPv4 and its IPv6-mapped form."""
    if a == b:
        return True
    try:
        left, right = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return False
    left4 = getattr(left, "ipv4_mapped", None) or left
    right4 = getattr(right, "ipv4_mapped", None) or right
    return left4 == right4


class Access:
    def __init__(
        self,
        accounts: AccountRepo,
        tokens: TokenRepo,
        clock: Clock,
        *,
        limiter: RateLimiter | None = None,
    ):
        self.clock = clock
        self.accounts = accounts
        self.tokens = tokens
        self.limiter = limiter or RateLimiter()
        # Token calls, by calling address and by account: a bucket of their own, so that fetching
        # the day's token never takes a request from the account's budget for the methods
        self.token_limiter = RateLimiter()
        self._accounts: dict[str, Account] = {}
        self._day = ""
        self._valid: set[tuple[str, str]] = set()  # (AccountId, AccessToken) valid on self._day

    # -- the checks ----------------------------------------------------------------------------
    async def issue_token(self, account_id: str, peer_ip: str) -> str:
        """The Token method: the account's AccessToken of today."""
        if not self.token_limiter.allow(f"ip:{peer_ip}", TOKEN_RATE_PER_ADDRESS):
            raise TooFrequent(f"{ReturnCode.TOO_FREQUENT.message}: Token calls from {peer_ip}")
        account = await self._account_at(account_id, peer_ip)
        self._limit(account, self.token_limiter, f"account:{account.account_id}")
        day = self._today()
        token = await self.tokens.issue(account_id, day)
        self._valid.add((account_id, token))
        return token

    async def authenticate(self, account_id: str, token: str, peer_ip: str) -> Account:
        """Every other method: account, IP, token of today, rate limit."""
        account = await self._account_at(account_id, peer_ip)
        if not token:
            raise ParameterMissing("AccessToken")
        day = self._today()
        if (account_id, token) not in self._valid:
            if await self.tokens.day_of(account_id, token) != day:
                raise AuthenticationFailed(
                    f"{_AUTH}: AccessToken is not this account's token of {day}"
                )
            self._valid.add((account_id, token))
        self._limit(account, self.limiter, account.account_id)
        return account

    @staticmethod
    def _limit(account: Account, limiter: RateLimiter, key: str) -> None:
        if not account.is_peer and not limiter.allow(key, account.rate_limit):
            raise TooFrequent(
                f"{ReturnCode.TOO_FREQUENT.message}: over {account.rate_limit:g} requests/s"
            )

    async def _account_at(self, account_id: str, peer_ip: str) -> Account:
        if not account_id:
            raise ParameterMissing("AccountId")
        account = self._accounts.get(account_id)  # known accounts: no store read, no await
        if account is None:
            account = await self.account(account_id)
        if account is None:
            raise AuthenticationFailed(f"{_AUTH}: unknown AccountId")
        if account.disabled:
            raise AuthenticationFailed(f"{_AUTH}: the account is disabled")
        if not same_ip(account.bound_ip, peer_ip):
            raise IpMismatch(f"{ReturnCode.IP_MISMATCH.message}: calling from {peer_ip}")
        return account

    def _today(self) -> str:
        day = self.clock.today_iso()
        if day != self._day:  # a new day: yesterday's tokens are void
            self._day = day
            self._valid.clear()
        return day

    # -- accounts ------------------------------------------------------------------------------
    async def account(self, account_id: str) -> Account | None:
        account = self._accounts.get(account_id)
        if account is None:
            account = await self.accounts.get(account_id)
            if account is not None:
                self._accounts[account_id] = account
        return account

    async def create_account(
        self, *, ip: str, name: str = "", rate_limit: float = DEFAULT_RATE_LIMIT
    ) -> Account:
        account = await self.accounts.create(
            ip=ip, name=name, rate_limit=rate_limit, now=self.clock.stamp()
        )
        self._accounts[account.account_id] = account
        return account

    async def disable(self, account_id: str) -> Account | None:
        account = await self.accounts.disable(account_id)
        if account is not None:
            self._accounts[account_id] = account
            self._valid = {pair for pair in self._valid if pair[0] != account_id}
            self.limiter.forget(account_id)
        return account
