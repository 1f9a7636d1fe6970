"""Faults a node holds (issue #12): rules set through its admin API, matched per request.

A node keeps its rules in a ``FaultTable``, in memory only. An **inbound** rule is honoured by the
node's HTTP server before one of the ten methods is handled; an **outbound** rule by its forwarder
before a call to a neighbour. A rule matches a request when every scope it names holds:

- ``peer``: inbound, the request comes from that neighbour (its host is the TCP peer); outbound,
  the call goes to that neighbour (outbound rules always name one);
- ``from_ip``: the business application's address: the TCP peer at its entry node, the address
  its entry node wrote into ``X-Ecert-Caller`` (``<account>@<ip>``) everywhere beyond.

What a matching rule does (each with probability ``fraction``, 1 unless given):

==========  ==========================================================================
cut         inbound: the connection is closed unanswered; outbound: the call fails at once,
            as a refused connection does
latency     the request waits ``latency_ms`` ± up to ``jitter_ms`` (uniform) first
drop        the request is never answered: the caller waits out its deadline
error       the node answers 99 (inbound only)
slow        the node answers after ``delay_ms`` (inbound only)
skew        the node's clock runs ``skew_seconds`` ahead, or behind when negative (no scope;
            the table only holds it, the node applies it)
==========  ==========================================================================

Rules with ``for_seconds`` expire on the table's monotonic clock (a skewed wall clock cannot
bring them back); ``expire()`` removes them, and matching ignores them from that instant on.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.core.topology import NODE_ID_PATTERN

RULE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_DELAY_MS = 600_000.0  # ten minutes: beyond any deadline a call can carry
MAX_SKEW_SECONDS = 10 * 365 * 86_400.0
MAX_FOR_SECONDS = 30 * 86_400.0


def ip_address_text(value: str) -> str:
    """An IP address as ``ipaddress`` writes it (a caller's address a fault is kept to)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None


class RuleKind(StrEnum):
    CUT = "cut"
    LATENCY = "latency"
    DROP = "drop"
    ERROR = "error"
    SLOW = "slow"
    SKEW = "skew"


class Side(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


INBOUND_ONLY = frozenset({RuleKind.ERROR, RuleKind.SLOW})
_PARAMETERS: Mapping[RuleKind, frozenset[str]] = MappingProxyType(
    {  # the numbers each kind takes besides fraction
        RuleKind.CUT: frozenset(),
        RuleKind.LATENCY: frozenset({"latency_ms", "jitter_ms"}),
        RuleKind.DROP: frozenset(),
        RuleKind.ERROR: frozenset(),
        RuleKind.SLOW: frozenset({"delay_ms"}),
        RuleKind.SKEW: frozenset({"skew_seconds"}),
    }
)
_NUMBERS = ("latency_ms", "jitter_ms", "delay_ms", "skew_seconds")


class FaultRule(BaseModel):
    """One rule of a node's fault table, as its admin API takes and shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=RULE_ID_PATTERN)]
    kind: RuleKind
    side: Side = Side.INBOUND
    peer: Annotated[str | None, Field(pattern=NODE_ID_PATTERN, max_length=63)] = None
    from_ip: str | None = None
    latency_ms: Annotated[float, Field(ge=0, le=MAX_DELAY_MS)] = 0.0
    jitter_ms: Annotated[float, Field(ge=0, le=MAX_DELAY_MS)] = 0.0
    delay_ms: Annotated[float, Field(ge=0, le=MAX_DELAY_MS)] = 0.0
    skew_seconds: Annotated[float, Field(ge=-MAX_SKEW_SECONDS, le=MAX_SKEW_SECONDS)] = 0.0
    fraction: Annotated[float, Field(gt=0, le=1)] = 1.0
    for_seconds: Annotated[float | None, Field(gt=0, le=MAX_FOR_SECONDS)] = None

    @field_validator("from_ip")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        return None if value is None else ip_address_text(value)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        kind = self.kind
        if kind is RuleKind.SKEW:
            if self.peer or self.from_ip or self.side is not Side.INBOUND or self.fraction != 1:
                raise ValueError("a clock skew is the whole node's: no peer, from_ip or fraction")
            if not self.skew_seconds:
                raise ValueError("skew needs skew_seconds (not 0)")
        if kind in INBOUND_ONLY and self.side is Side.OUTBOUND:
            raise ValueError(f"{kind} is inbound only: the node itself answers")
        if self.side is Side.OUTBOUND and self.peer is None:
            raise ValueError("an outbound rule names the neighbour (peer) it applies to")
        if kind is RuleKind.LATENCY and not self.latency_ms:
            raise ValueError("latency needs latency_ms (above 0)")
        if kind is RuleKind.SLOW and not self.delay_ms:
            raise ValueError("slow needs delay_ms (above 0)")
        given = {name for name in _NUMBERS if getattr(self, name)}
        extra = sorted(given - _PARAMETERS[kind])
        if extra:
            raise ValueError(f"{kind} takes no {', '.join(extra)}")
        return self

    def describe(self) -> str:
        """One line for logs and listings: ``latency 200 ms ± 50 ms, outbound to hlj``."""
        what = {
            RuleKind.CUT: "cut",
            RuleKind.LATENCY: f"latency {self.latency_ms:g} ms"
            + (f" ± {self.jitter_ms:g} ms" if self.jitter_ms else ""),
            RuleKind.DROP: "drop",
            RuleKind.ERROR: "answer 99",
            RuleKind.SLOW: f"answer after {self.delay_ms:g} ms",
            RuleKind.SKEW: f"clock {self.skew_seconds:+g} s",
        }[self.kind]
        if self.fraction != 1:
            what += f" ({self.fraction:.0%} of requests)"
        if self.kind is not RuleKind.SKEW:
            where = "to" if self.side is Side.OUTBOUND else "from"
            scope = [f"{self.side} {where} {self.peer}" if self.peer else str(self.side)]
            if self.from_ip:
                scope.append(f"application {self.from_ip}")
            what += ", " + ", ".join(scope)
        return what


@dataclass(frozen=True, slots=True)
class Held:
    """A rule in a table: when it was set and when it expires (the table's monotonic clock)."""

    rule: FaultRule
    applied: float
    expires: float | None

    def remaining(self, now: float) -> float | None:
        return None if self.expires is None else max(0.0, self.expires - now)


@dataclass(frozen=True, slots=True)
class Injected:
    """What the rules matching one request do to it (the ids of the rules that took effect)."""

    faults: tuple[str, ...]
    delay_s: float = 0.0
    cut: bool = False
    drop: bool = False
    error: bool = False

    @property
    def fault(self) -> str:
        return ",".join(self.faults)


class FaultConflict(ValueError):
    """A rule with this id is held already."""


@dataclass
class _Scoped:
    """The rules of one side, split for matching: by peer, and those naming no peer."""

    by_peer: dict[str, list[Held]] = field(default_factory=dict)
    any_peer: list[Held] = field(default_factory=list)


class FaultTable:
    """The rules one node holds. ``empty`` is the hot path's only cost while there are none."""

    def __init__(
        self,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        self.monotonic = monotonic
        self.rng = rng or random.Random()
        self._held: dict[str, Held] = {}
        self._inbound = _Scoped()
        self._outbound = _Scoped()
        self.empty = True  # no rule that matches requests (a skew does not)

    # -- changes ---------------------------------------------------------------------------------
    def add(self, rule: FaultRule) -> Held:
        if rule.id in self._held:
            raise FaultConflict(f"a fault {rule.id} is held already")
        now = self.monotonic()
        expires = None if rule.for_seconds is None else now + rule.for_seconds
        held = self._held[rule.id] = Held(rule, now, expires)
        self._reindex()
        return held

    def remove(self, fault_id: str) -> Held | None:
        held = self._held.pop(fault_id, None)
        if held is not None:
            self._reindex()
        return held

    def clear(self) -> list[Held]:
        removed = list(self._held.values())
        self._held.clear()
        self._reindex()
        return removed

    def expire(self) -> list[Held]:
        """Remove and answer the rules whose time is up."""
        now = self.monotonic()
        due = [held for held in self._held.values() if _over(held, now)]
        for held in due:
            del self._held[held.rule.id]
        if due:
            self._reindex()
        return due

    def _reindex(self) -> None:
        self._inbound, self._outbound = _Scoped(), _Scoped()
        for held in self._held.values():
            rule = held.rule
            if rule.kind is RuleKind.SKEW:
                continue
            scoped = self._outbound if rule.side is Side.OUTBOUND else self._inbound
            if rule.peer is None:
                scoped.any_peer.append(held)
            else:
                scoped.by_peer.setdefault(rule.peer, []).append(held)
        self.empty = not (
            self._inbound.any_peer
            or self._inbound.by_peer
            or self._outbound.by_peer
            or self._outbound.any_peer
        )

    # -- queries ---------------------------------------------------------------------------------
    def held(self) -> list[Held]:
        """Every rule in force, in the order set."""
        now = self.monotonic()
        return [held for held in self._held.values() if not _over(held, now)]

    def get(self, fault_id: str) -> Held | None:
        held = self._held.get(fault_id)
        return None if held is None or _over(held, self.monotonic()) else held

    def next_expiry(self) -> float | None:
        """The monotonic time the first timed rule expires, None without one."""
        times = [held.expires for held in self._held.values() if held.expires is not None]
        return min(times) if times else None

    def inbound(self, *, peer: str | None, addresses: tuple[str, ...]) -> Injected | None:
        """What happens to a request arriving from ``peer`` (None: not a neighbour), sent by the
        application at one of ``addresses`` (the TCP peer, the caller's address)."""
        if self.empty:
            return None
        candidates = self._inbound.any_peer
        if peer is not None and peer in self._inbound.by_peer:
            candidates = candidates + self._inbound.by_peer[peer]
        return self._effect(candidates, addresses)

    def outbound(self, neighbour: str, *, addresses: tuple[str, ...]) -> Injected | None:
        """What happens to a call to ``neighbour`` made for the application at ``addresses``."""
        if self.empty:
            return None
        return self._effect(self._outbound.by_peer.get(neighbour, []), addresses)

    def _effect(self, candidates: list[Held], addresses: tuple[str, ...]) -> Injected | None:
        if not candidates:
            return None
        now = self.monotonic()
        hit: list[str] = []
        delay, cut, drop, error = 0.0, False, False, False
        for held in candidates:
            rule = held.rule
            if _over(held, now) or (rule.from_ip is not None and rule.from_ip not in addresses):
                continue
            if rule.fraction < 1 and self.rng.random() >= rule.fraction:
                continue
            hit.append(rule.id)
            if rule.kind is RuleKind.LATENCY:
                jitter = self.rng.uniform(-rule.jitter_ms, rule.jitter_ms) if rule.jitter_ms else 0
                delay += max(0.0, rule.latency_ms + jitter) / 1000
            elif rule.kind is RuleKind.SLOW:
                delay += rule.delay_ms / 1000
            cut |= rule.kind is RuleKind.CUT
            drop |= rule.kind is RuleKind.DROP
            error |= rule.kind is RuleKind.ERROR
        if not hit:
            return None
        return Injected(tuple(hit), delay, cut=cut, drop=drop, error=error)


def _over(held: Held, now: float) -> bool:
    return held.expires is not None and held.expires <= now


def caller_address(caller: str | None) -> str | None:
    """The application's address in an ``X-Ecert-Caller`` value ``<account>@<ip>``."""
    if not caller or "@" not in caller:
        return None
    return caller.rpartition("@")[2] or None
