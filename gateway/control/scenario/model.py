"""The scenario file as pydantic models; ``Scenario.model_json_schema()`` is its JSON Schema.

A scenario names a network (``topology``: a path relative to the file, or the topology inline),
the synthetic data the network starts with when the runner starts it (``seed``, ``per_node``),
and ``steps``. A step is a mapping with exactly one *kind key* — ``call``, ``issue``, ``change``,
``correct``, ``cancel``, ``status``, ``wait_routable``, ``expect_anomaly``, ``fault``, ``heal`` or
``sleep`` — whose value is the step's subject (the method, the name to give a certificate or a
fault, the certificate, the seconds), and the kind's other keys beside it. Adding a kind is one
class here (with ``KIND``, one line in ``StepKinds``) and one executor in
``gateway.control.scenario.steps``; the values steps hold are in
``gateway.control.scenario.values``.

A string anywhere in a step may hold ``${issued.NAME}`` (the CertificateID the ``issue`` step
``NAME`` got), ``${issued.NAME.FIELD}`` (a field of that certificate's record) or ``${run.id}``
(unique to the run; see ``gateway.control.scenario.refs``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from gateway.control.errors import FaultInvalid
from gateway.control.faults import FaultSpec, check_spec
from gateway.control.scenario.values import (
    ALL_FAULTS,
    DEFAULT_FROM_IP,
    DEFAULT_PER_NODE,
    DEFAULT_SEED,
    EXTENSION_PREFIX,
    ByIdMethod,
    CertificateFields,
    CertificateRef,
    CertificateStatusCode,
    Duration,
    Expect,
    FaultKindName,
    IpAddress,
    Method,
    Name,
    NodeId,
    ReturnCodeValue,
    Seconds,
    Strict,
)
from gateway.core.topology import Topology

# -- steps ----------------------------------------------------------------------------------------
Loc = tuple[str | int, ...]  # where in the step, as pydantic names it


class StepBase(Strict):
    KIND: ClassVar[str]
    name: str | None = Field(None, description="how the report names the step")

    @property
    def subject(self) -> Any:
        """The value of the step's kind key."""
        return getattr(self, self.KIND)

    def title(self) -> str:
        return self.name or f"{self.KIND} {self.subject}"

    def node_refs(self) -> Iterator[tuple[Loc, str]]:
        """Every node id the step names, with where; each must be in the topology."""
        node = getattr(self, "node", None)
        if isinstance(node, str):
            yield ("node",), node

    def problems(self, topology: Topology) -> Iterator[tuple[Loc, str]]:
        """What is wrong with the step in this network, beyond unknown node ids."""
        return iter(())


class Call(StepBase):
    """Call a method at an entry node as a business application, and check the answer."""

    KIND: ClassVar[str] = "call"
    call: Method
    node: NodeId = Field(description="the entry node")
    params: dict[str, str | dict[str, Any]] = Field(
        default_factory=dict,
        description="request parameters (UseFor defaults to 'ecert scenario'); a mapping is "
        "sent as JSON (VerifyCertificate's CertificateData)",
    )
    from_ip: IpAddress = Field(DEFAULT_FROM_IP, description="the application's address")
    as_peer: NodeId | None = Field(
        None,
        description="call as this neighbour of the entry node (its peer account, from its "
        "address), which may hand the call a hop budget",
    )
    hops: Annotated[int, Field(ge=0, le=64)] | None = Field(
        None, description="the hop budget handed over (with as_peer only)"
    )
    deadline_ms: Annotated[int, Field(ge=1)] | None = None
    expect: Expect = Field(default_factory=Expect)

    def title(self) -> str:
        return self.name or f"{self.call} at {self.node}"

    def node_refs(self) -> Iterator[tuple[Loc, str]]:
        yield from super().node_refs()
        if self.as_peer is not None:
            yield ("as_peer",), self.as_peer
        for index, node_id in enumerate(self.expect.route or []):
            yield ("expect", "route", index), node_id

    def problems(self, topology: Topology) -> Iterator[tuple[Loc, str]]:
        if self.hops is not None and self.as_peer is None:
            yield ("hops",), "a hop budget is handed over by a node: give as_peer too"
        if self.as_peer is not None and {self.as_peer, self.node} <= topology.by_id.keys():
            neighbours = {node.id for node in topology.neighbours(self.node)}
            if self.as_peer not in neighbours:
                yield ("as_peer",), f"{self.as_peer} is not a neighbour of {self.node}"


class Issue(StepBase):
    """Issue a certificate at a node (制证签发, admin API); ``issue`` names it for later steps."""

    KIND: ClassVar[str] = "issue"
    issue: Name
    node: NodeId
    certificate: CertificateFields
    validate_: bool = Field(
        True,
        alias="validate",
        description="false: store the record as given, faults included (to provoke anomalies)",
    )

    def title(self) -> str:
        return self.name or f"issue {self.issue} at {self.node}"


class Change(StepBase):
    """Change a certificate at the node that holds it (证照维护): a new version (same 流水号,
    版本号 + 1, a new CertificateID; an I row upward, and a D row for the old version, which
    answers 21 naming the new one). Every name that referred to the certificate follows the new
    version; ``previous`` names the old one."""

    KIND: ClassVar[str] = "change"
    change: CertificateRef
    node: NodeId
    fields: CertificateFields
    reason: Annotated[str, Field(min_length=1)] = "变更"
    previous: Name | None = Field(None, description="a name for the old version")

    def title(self) -> str:
        return self.name or f"change {self.change} at {self.node}"


class Correct(StepBase):
    """Correct in place a record the parent's catalog refused (§7.6 e, an open E.2 anomaly):
    the same CertificateID, a U row upward."""

    KIND: ClassVar[str] = "correct"
    correct: CertificateRef
    node: NodeId
    fields: CertificateFields
    validate_: bool = Field(True, alias="validate")

    def title(self) -> str:
        return self.name or f"correct {self.correct} at {self.node}"


class Cancel(StepBase):
    """Cancel a certificate (注销, status 02): a D row upward."""

    KIND: ClassVar[str] = "cancel"
    cancel: CertificateRef
    node: NodeId
    reason: str = "注销"

    def title(self) -> str:
        return self.name or f"cancel {self.cancel} at {self.node}"


class Status(StepBase):
    """Set a certificate's status (B.2): 01 正常, 02 注销, 03 吊销, 04 挂失, 05 暂扣."""

    KIND: ClassVar[str] = "status"
    status: CertificateRef
    node: NodeId
    to: CertificateStatusCode
    reason: str = ""

    def title(self) -> str:
        return self.name or f"status {self.to} for {self.status} at {self.node}"


class WaitRoutable(StepBase):
    """Call a by-ID method from an entry node until the certificate ``answers`` that code."""

    KIND: ClassVar[str] = "wait_routable"
    wait_routable: CertificateRef
    node: NodeId = Field(description="the entry node")
    method: ByIdMethod = "GetCertificateDataByCertificateID"
    answers: ReturnCodeValue = Field(0, description="the return code waited for")
    from_ip: IpAddress = DEFAULT_FROM_IP
    timeout: Seconds = 60.0

    def title(self) -> str:
        return self.name or f"wait until {self.wait_routable} answers {self.answers} at {self.node}"


class ExpectAnomaly(StepBase):
    """Wait until an E.2 row (§7.6 d) of the certificate is at a node, open or resolved."""

    KIND: ClassVar[str] = "expect_anomaly"
    expect_anomaly: CertificateRef
    node: NodeId
    error_remark: str | None = Field(None, description="text the row's error_remark contains")
    state: Literal["open", "resolved"] = "open"
    timeout: Seconds = 60.0

    def title(self) -> str:
        return self.name or f"{self.state} anomaly of {self.expect_anomaly} at {self.node}"


class Fault(StepBase):
    """Apply a fault (``gateway.control.faults``), named for ``heal`` steps; every fault of a
    scenario is healed when the scenario ends, however it ends."""

    KIND: ClassVar[str] = "fault"
    fault: Annotated[Name, Field(description="the name heal steps use ('all' is heal's)")]
    kind: FaultKindName
    node: NodeId | None = Field(None, description="the node (every kind but the broker's)")
    peer: NodeId | None = Field(
        None, description="a neighbour of node: cut, latency, drop on that link; error, slow "
        "for requests from it",
    )  # fmt: skip
    direction: Literal["out", "in", "both"] | None = Field(
        None, description="with peer: out node → peer, in peer → node, both (default)"
    )
    from_ip: IpAddress | None = Field(None, description="only the requests of this application")
    latency: Duration | None = Field(None, description="latency: milliseconds, or 200ms, 1s")
    jitter: Duration | None = Field(None, description="latency: ± milliseconds")
    delay: Duration | None = Field(None, description="slow: milliseconds before answering")
    fraction: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="the share of requests hit (default all)"
    )
    skew: Duration | None = Field(None, description="skew: seconds, or 1d, -2h")
    for_: Duration | None = Field(
        None, alias="for", description="heals by itself after: seconds, or 3s, 500ms"
    )

    def title(self) -> str:
        return self.name or f"fault {self.fault}: {self.kind}" + (
            f" {self.node}" if self.node else ""
        )

    def spec(self) -> FaultSpec:
        """The ``FaultSpec`` the step asks for; FaultInvalid when it does not fit its kind."""
        given = {SPEC_FIELDS.get(key, key): value
                 for key, value in self.model_dump(exclude={"name", "fault"}).items()
                 if value is not None}  # fmt: skip
        return FaultSpec.parse(given)

    def node_refs(self) -> Iterator[tuple[Loc, str]]:
        yield from super().node_refs()
        if self.peer is not None:
            yield ("peer",), self.peer

    def problems(self, topology: Topology) -> Iterator[tuple[Loc, str]]:
        if self.fault == ALL_FAULTS:
            yield ("fault",), f"{ALL_FAULTS!r} is heal's word for every fault: name it otherwise"
        if any(node_id not in topology.by_id for _, node_id in self.node_refs()):
            return  # named as an unknown node already
        try:
            launched = topology.exchange.launched
            check_spec(topology, self.spec(), embedded_broker=launched)
        except FaultInvalid as exc:
            yield ("kind",), _step_words(str(exc))


SPEC_FIELDS = MappingProxyType(
    {  # a fault step's key → the FaultSpec field
        "latency": "latency_ms",
        "jitter": "jitter_ms",
        "delay": "delay_ms",
        "skew": "skew_seconds",
        "for_": "for_seconds",
    }
)
_OPTION_WORDS = MappingProxyType(
    {  # FaultSpec's messages name the CLI's options → the step's keys
        "--from-ip": "from_ip",
        "--latency": "latency",
        "--jitter": "jitter",
        "--delay": "delay",
        "--skew": "skew",
        "--for": "for",
        "--node": "node",
        "--peer": "peer",
        "--direction": "direction",
        "--fraction": "fraction",
    }
)


def _step_words(message: str) -> str:
    """A FaultSpec message in the keys of a fault step (it speaks the CLI's options)."""
    for option, key in _OPTION_WORDS.items():
        message = re.sub(rf"{option}\b", key, message)
    return message


class Heal(StepBase):
    """Heal a fault an earlier step applied (by its name), or ``all`` of the scenario's."""

    KIND: ClassVar[str] = "heal"
    heal: Annotated[Name, Field(description="a fault step's name, or 'all'")]

    def title(self) -> str:
        return self.name or ("heal every fault" if self.heal == ALL_FAULTS else f"heal {self.heal}")


class Sleep(StepBase):
    """Let time pass, only where time itself is the subject (say why in ``reason``)."""

    KIND: ClassVar[str] = "sleep"
    sleep: Seconds
    reason: Annotated[str, Field(min_length=1)]

    def title(self) -> str:
        return self.name or f"sleep {self.sleep:g} s: {self.reason}"


# Every kind, each tagged with its kind key: a new kind is one line here.
StepKinds = (
    Annotated[Call, Tag(Call.KIND)]
    | Annotated[Issue, Tag(Issue.KIND)]
    | Annotated[Change, Tag(Change.KIND)]
    | Annotated[Correct, Tag(Correct.KIND)]
    | Annotated[Cancel, Tag(Cancel.KIND)]
    | Annotated[Status, Tag(Status.KIND)]
    | Annotated[WaitRoutable, Tag(WaitRoutable.KIND)]
    | Annotated[ExpectAnomaly, Tag(ExpectAnomaly.KIND)]
    | Annotated[Fault, Tag(Fault.KIND)]
    | Annotated[Heal, Tag(Heal.KIND)]
    | Annotated[Sleep, Tag(Sleep.KIND)]
)
STEP_CLASSES: tuple[type[StepBase], ...] = tuple(
    get_args(member)[0] for member in get_args(StepKinds)
)
STEP_KINDS = tuple(cls.KIND for cls in STEP_CLASSES)


def step_kind(value: Any) -> str | None:
    """The kind of a step: its one kind key (None when it has none or several)."""
    if isinstance(value, StepBase):
        return value.KIND
    if not isinstance(value, dict):
        return None
    kinds = [key for key in value if key in STEP_KINDS]
    return kinds[0] if len(kinds) == 1 else None


Step = Annotated[
    StepKinds,
    Discriminator(
        step_kind,
        custom_error_type="step_kind",
        custom_error_message=f"a step names exactly one of: {', '.join(STEP_KINDS)}",
    ),
]


def _topology_form(value: Any) -> str:
    return "path" if isinstance(value, str) else "inline"


def _without_extensions(value: Any) -> Any:
    """Top-level keys starting with ``x-`` hold what YAML anchors refer to (as in Compose
    files): they are not part of the scenario."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if not str(k).startswith(EXTENSION_PREFIX)}
    return value


class Scenario(BaseModel):
    """A scenario file. Top-level keys starting with ``x-`` are ignored (for YAML anchors)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="ecert scenario",
        json_schema_extra={"patternProperties": {f"^{EXTENSION_PREFIX}": {}}},
    )

    name: str | None = Field(None, description="default: the file name")
    description: str = ""
    topology: Annotated[
        Annotated[str, Tag("path")] | Annotated[Topology, Tag("inline")],
        Discriminator(_topology_form),
    ] = Field(description="a topology file (relative to this file), or the topology inline")
    seed: int | None = Field(
        DEFAULT_SEED,
        description="synthetic data of a network the runner starts (null: none)",
    )
    per_node: Annotated[int, Field(ge=0, le=100_000)] = DEFAULT_PER_NODE
    steps: Annotated[list[Step], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _extensions(cls, value: Any) -> Any:
        return _without_extensions(value)
