"""What a fault is (issue #12): ``FaultSpec`` as a user asks for one, ``FaultRecord`` once in force.

A spec names a kind and what it applies to; every kind takes some of the fields below and
refuses the others (``ALLOWED``), so a mistyped fault is an error before anything changes:

================  =====================================================  ======================
kind              what it does                                           takes
================  =====================================================  ======================
kill              SIGKILL the node; heal: start it again                 node
pause             SIGSTOP the node; heal: SIGCONT                        node
cut               requests fail as a refused connection does             node, peer, direction,
                                                                         from_ip, fraction
latency           requests wait latency_ms ± jitter_ms first             (as cut) latency_ms,
                                                                         jitter_ms
drop              requests are never answered (the caller's deadline)    (as cut)
error             the node answers 99                                    node, peer, from_ip,
                                                                         fraction
slow              the node answers after delay_ms                        (as error) delay_ms
skew              the node's clock runs skew_seconds ahead (or behind)   node, skew_seconds
broker-restart    stop the embedded broker and start it again at once    -
broker-down       stop the embedded broker; heal: start it               -
================  =====================================================  ======================

``for_seconds`` (every kind but broker-restart) heals the fault by itself. ``peer`` makes cut,
latency and drop a fault of the link between ``node`` and its neighbour ``peer``
(``direction``: ``out`` the requests node → peer, ``in`` peer → node, ``both``, the default);
for error and slow it keeps the fault to requests arriving from that neighbour. ``from_ip``
keeps any of these five to the requests of one business application (its address), at its
entry node and at every node its requests pass through.

Durations may be numbers or text with a unit: ``200ms``, ``30s``, ``1.5m``, ``2h``, ``1d``
(``latency_ms``/``jitter_ms``/``delay_ms`` count milliseconds, the others seconds).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.control.errors import FaultInvalid
from gateway.core.faults import (
    MAX_DELAY_MS,
    MAX_FOR_SECONDS,
    MAX_SKEW_SECONDS,
    ip_address_text,
)
from gateway.core.topology import NODE_ID_PATTERN


class FaultKind(StrEnum):
    KILL = "kill"
    PAUSE = "pause"
    CUT = "cut"
    LATENCY = "latency"
    DROP = "drop"
    ERROR = "error"
    SLOW = "slow"
    SKEW = "skew"
    BROKER_RESTART = "broker-restart"
    BROKER_DOWN = "broker-down"


class Direction(StrEnum):
    OUT = "out"  # the requests node → peer
    IN = "in"  # the requests peer → node
    BOTH = "both"


HELD_BY_NODES = frozenset(
    {
        FaultKind.CUT,
        FaultKind.LATENCY,
        FaultKind.DROP,
        FaultKind.ERROR,
        FaultKind.SLOW,
        FaultKind.SKEW,
    }
)
LINK_KINDS = frozenset({FaultKind.CUT, FaultKind.LATENCY, FaultKind.DROP})
HEALED_BY_KEEPER = frozenset({FaultKind.KILL, FaultKind.PAUSE, FaultKind.BROKER_DOWN})
BROKER_KINDS = frozenset({FaultKind.BROKER_RESTART, FaultKind.BROKER_DOWN})

_SCOPES = frozenset({"node", "peer", "from_ip", "fraction"})
ALLOWED: Mapping[FaultKind, frozenset[str]] = MappingProxyType(
    {
        FaultKind.KILL: frozenset({"node"}),
        FaultKind.PAUSE: frozenset({"node"}),
        FaultKind.CUT: _SCOPES | {"direction"},
        FaultKind.LATENCY: _SCOPES | {"direction", "latency_ms", "jitter_ms"},
        FaultKind.DROP: _SCOPES | {"direction"},
        FaultKind.ERROR: _SCOPES,
        FaultKind.SLOW: _SCOPES | {"delay_ms"},
        FaultKind.SKEW: frozenset({"node", "skew_seconds"}),
        FaultKind.BROKER_RESTART: frozenset(),
        FaultKind.BROKER_DOWN: frozenset(),
    }
)
REQUIRED: Mapping[FaultKind, tuple[str, ...]] = MappingProxyType(
    {
        FaultKind.LATENCY: ("latency_ms",),
        FaultKind.SLOW: ("delay_ms",),
        FaultKind.SKEW: ("skew_seconds",),
    }
)
_OPTION = MappingProxyType(
    {  # how the CLI spells each field, for messages
        "node": "--node",
        "peer": "--peer",
        "direction": "--direction",
        "from_ip": "--from-ip",
        "fraction": "--fraction",
        "latency_ms": "--latency",
        "jitter_ms": "--jitter",
        "delay_ms": "--delay",
        "skew_seconds": "--skew",
        "for_seconds": "--for",
    }
)

_DURATION = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$")
_UNITS = MappingProxyType({"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0})


def parse_duration(value: Any, *, unit: str = "s") -> float:
    """``200ms``, ``30s``, ``1.5m``, ``2h``, ``1d`` or a number (of ``unit``), in ``unit``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number or text such as 30s, 200ms, 2h")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value).strip())
    if match is None:
        raise ValueError(f"{value!r} is not a duration (such as 30s, 200ms, 1.5m, 2h, 1d)")
    number, given = match.groups()
    return float(number) * _UNITS[given or unit] / _UNITS[unit]


def _milliseconds(value: Any) -> float:
    return parse_duration(value, unit="ms")


def _seconds(value: Any) -> float:
    return parse_duration(value, unit="s")


Milliseconds = Annotated[float, BeforeValidator(_milliseconds), Field(ge=0, le=MAX_DELAY_MS)]
Skew = Annotated[float, BeforeValidator(_seconds), Field(ge=-MAX_SKEW_SECONDS, le=MAX_SKEW_SECONDS)]
Lifetime = Annotated[float, BeforeValidator(_seconds), Field(gt=0, le=MAX_FOR_SECONDS)]


class FaultSpec(BaseModel):
    """A fault to apply; see the module's table for what each kind takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    node: Annotated[str | None, Field(pattern=NODE_ID_PATTERN)] = None
    peer: Annotated[str | None, Field(pattern=NODE_ID_PATTERN)] = None
    direction: Direction | None = None
    from_ip: str | None = None
    latency_ms: Milliseconds = 0.0
    jitter_ms: Milliseconds = 0.0
    delay_ms: Milliseconds = 0.0
    skew_seconds: Skew = 0.0
    fraction: Annotated[float, Field(gt=0, le=1)] = 1.0
    for_seconds: Lifetime | None = None

    @field_validator("from_ip")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        return None if value is None else ip_address_text(value)

    @model_validator(mode="after")
    def _fits_its_kind(self) -> Self:
        kind = self.kind
        given = {name for name in _OPTION if name != "for_seconds" and _is_given(self, name)}
        extra = sorted(given - ALLOWED[kind])
        if extra:
            raise ValueError(f"{kind} takes no {', '.join(_OPTION[name] for name in extra)}")
        if kind not in BROKER_KINDS and self.node is None:
            raise ValueError(f"{kind} needs --node")
        missing = [name for name in REQUIRED.get(kind, ()) if not getattr(self, name)]
        if missing:
            raise ValueError(f"{kind} needs {', '.join(_OPTION[name] for name in missing)}")
        if self.direction is not None and self.peer is None:
            raise ValueError("--direction is the link's: it needs --peer")
        if kind is FaultKind.BROKER_RESTART and self.for_seconds is not None:
            raise ValueError("broker-restart is over at once: it takes no --for (see broker-down)")
        if self.peer is not None and self.peer == self.node:
            raise ValueError("--peer must be another node than --node")
        return self

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> FaultSpec:
        """``model_validate`` with the first problem as a ``FaultInvalid`` in one line."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise FaultInvalid(f"invalid fault: {first_error(exc)}") from None

    @property
    def link_direction(self) -> Direction:
        return self.direction or Direction.BOTH

    def describe(self) -> str:
        """One line: ``latency 200 ms ± 50 ms on hlj-harbin ↔ hlj (application 127.0.9.5)``."""
        text = _what(self)
        if self.fraction != 1:
            text += f", {self.fraction:.0%} of requests"
        if self.from_ip:
            text += f", application {self.from_ip} only"
        return text


def _is_given(spec: FaultSpec, name: str) -> bool:
    value = getattr(spec, name)
    default = FaultSpec.model_fields[name].default
    return value is not None and value != default


def _what(spec: FaultSpec) -> str:
    kind, node = spec.kind, spec.node or ""
    if kind in LINK_KINDS:
        action = {
            FaultKind.CUT: "cut",
            FaultKind.LATENCY: f"latency {spec.latency_ms:g} ms"
            + (f" ± {spec.jitter_ms:g} ms" if spec.jitter_ms else ""),
            FaultKind.DROP: "drop",
        }[kind]
        if spec.peer is None:
            return f"{action} requests to {node}"
        arrow = {Direction.OUT: "→", Direction.IN: "←", Direction.BOTH: "↔"}[spec.link_direction]
        return f"{action} on {node} {arrow} {spec.peer}"
    source = f" to requests from {spec.peer}" if spec.peer else ""
    return {
        FaultKind.KILL: f"kill {node}",
        FaultKind.PAUSE: f"pause {node}",
        FaultKind.ERROR: f"{node} answers 99{source}",
        FaultKind.SLOW: f"{node} answers after {spec.delay_ms:g} ms{source}",
        FaultKind.SKEW: f"{node}'s clock {spec.skew_seconds:+g} s",
        FaultKind.BROKER_RESTART: "restart the broker",
        FaultKind.BROKER_DOWN: "broker down",
    }[kind]


def first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{_OPTION.get(where, where)}: {message}" if where else message


class FaultRecord(BaseModel):
    """A fault in force: its id, its spec, when it was applied and when it heals by itself.

    ``nodes`` are those holding a rule with this id (the kinds nodes hold); ``pid`` is the process
    a pause stopped.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    spec: FaultSpec
    applied_at: datetime
    expires_at: datetime | None = None
    nodes: tuple[str, ...] = ()
    pid: int | None = None
    by: str = "control"

    def time_left(self, now: datetime | None = None) -> float | None:
        """Seconds until it heals by itself (0 when overdue), None when it waits for a clear."""
        if self.expires_at is None:
            return None
        return max(0.0, (self.expires_at - (now or datetime.now(UTC))).total_seconds())
