"""The scenario file as pydantic models; ``Scenario.model_json_schema()`` is its JSON Schema.

A scenario names a network (``topology``: a path relative to the file, or the topology inline),
the synthetic data the network starts with when the runner starts it (``seed``, ``per_node``),
and ``steps``. A step is a mapping with exactly one *kind key* — ``call``, ``issue``, ``change``,
``cancel``, ``status``, ``wait_routable``, ``expect_anomaly`` or ``sleep`` — whose value is the
step's subject (the method, the name to give a certificate, the certificate, the seconds), and
the kind's other keys beside it. Adding a kind is one class here (with ``KIND``, listed in
``Step``) and one executor in ``gateway.control.scenario.steps``.

A string anywhere in a step may hold ``${issued.NAME}`` (the CertificateID the ``issue`` step
``NAME`` got), ``${issued.NAME.FIELD}`` (a field of that certificate's record) or ``${run.id}``
(unique to the run; see ``gateway.control.scenario.refs``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from gateway.core.protocol import METHODS, ReturnCode
from gateway.core.topology import NODE_ID_PATTERN, Topology

DEFAULT_FROM_IP = "127.0.9.1"  # as gateway.control.app_client's: no node of a network there
DEFAULT_SEED = 2836  # ``ecert up``'s
DEFAULT_PER_NODE = 40
EXTENSION_PREFIX = "x-"

NodeId = Annotated[str, Field(pattern=NODE_ID_PATTERN, description="a node id of the topology")]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63)]
Seconds = Annotated[float, Field(gt=0, le=3600)]
CertificateRef = Annotated[
    str,
    Field(min_length=1, description="a CertificateID, or ${issued.NAME} of an earlier issue step"),
]
Method = Literal[
    "GetCertificateFileByHolder",
    "GetCertificateFileByCertificateID",
    "GetCertificateDataByHolder",
    "GetCertificateDataByCertificateID",
    "VerifyCertificate",
    "GetCertificatePictureByCertificateID",
    "GetCertificatePictureByHolder",
    "GetCertificateType",
    "Retrieval",
]
ByIdMethod = Literal[
    "GetCertificateDataByCertificateID",
    "GetCertificateFileByCertificateID",
    "GetCertificatePictureByCertificateID",
]
CertificateStatusCode = Literal["01", "02", "03", "04", "05"]
RETURN_CODES = [int(code) for code in ReturnCode]
ROUTED_METHODS = tuple(method for method in METHODS if method != "Token")


def _known_code(code: int) -> int:
    if code not in RETURN_CODES:
        raise ValueError(f"{code} is not a return code of SPEC §3.4 ({RETURN_CODES})")
    return code


ReturnCodeValue = Annotated[
    int, AfterValidator(_known_code), Field(json_schema_extra={"enum": RETURN_CODES})
]


def _date_text(value: Any) -> Any:
    """A date YAML read unquoted (2020-05-01) as the text it was."""
    return value.isoformat() if isinstance(value, date) else value


DateText = Annotated[str, BeforeValidator(_date_text)]


def _ip(value: str) -> str:
    ipaddress.ip_address(value)  # raises ValueError for what is not an address
    return value


IpAddress = Annotated[str, AfterValidator(_ip)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# -- what a call must answer ----------------------------------------------------------------------
class Expect(_Strict):
    """What the answer of a ``call`` must be. Only what is given is checked; ``status`` is 0
    unless given."""

    status: ReturnCodeValue = Field(0, description="head.status, as a number")
    route: list[NodeId] | None = Field(
        None, description="the exact X-Ecert-Route: every node that handled the call, in order"
    )
    total: Annotated[int, Field(ge=0)] | None = Field(
        None, description="data.total: how many items"
    )
    keys: list[str] | None = Field(None, description="keys every item of data.dataList has")
    verifyResult: bool | None = Field(None, description="VerifyCertificate's data.verifyResult")
    fields: dict[str, str | int | bool | None] | None = Field(
        None,
        description="values in data by dotted path, e.g. dataList.0.certificateHolderCode; "
        "strings are compared with the value as text",
    )
    max_ms: Annotated[float, Field(gt=0)] | None = Field(
        None, description="the whole call, as the application timed it, in milliseconds"
    )


# -- certificates ---------------------------------------------------------------------------------
class CertificateFields(_Strict):
    """Fields of a certificate record (SPEC §2.1, B.1 and B.2 elements), all optional here: the
    node checks the record. Without ``CertificateID`` the node assigns one."""

    CertificateID: str | None = None
    CertificateName: str | None = None
    CertificateTypeName: str | None = None
    CertificateTypeCode: str | None = None
    RelatedItemName: str | None = None
    RelatedItemCode: str | None = None
    CertificateIssuingAuthorityName: str | None = None
    CertificateIssuingAuthorityCode: str | None = None
    CertificateAreaCode: str | None = None
    CertificateHolderName: str | None = None
    CertificateHolderCode: str | None = None
    CertificateHolderTypeCode: str | None = None
    CertificateNumber: str | None = None
    CertificateIssuedDate: DateText | None = None
    CertificateEffectiveDate: DateText | None = None
    CertificateExpiringDate: DateText | None = None
    CertificateStatus: CertificateStatusCode | None = None
    CertificateStatusChangeReason: str | None = None
    surface: list[dict[str, Any]] | None = None
    detail: list[dict[str, Any]] | None = None

    def record(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


CERTIFICATE_FIELDS = frozenset(CertificateFields.model_fields)


# -- steps ----------------------------------------------------------------------------------------
Loc = tuple[str | int, ...]  # where in the step, as pydantic names it


class StepBase(_Strict):
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
    """Correct fields of a certificate at the node that holds it (证照维护): a U row upward."""

    KIND: ClassVar[str] = "change"
    change: CertificateRef
    node: NodeId
    fields: CertificateFields
    validate_: bool = Field(True, alias="validate")

    def title(self) -> str:
        return self.name or f"change {self.change} at {self.node}"


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


class Sleep(StepBase):
    """Let time pass, only where time itself is the subject (say why in ``reason``)."""

    KIND: ClassVar[str] = "sleep"
    sleep: Seconds
    reason: Annotated[str, Field(min_length=1)]

    def title(self) -> str:
        return self.name or f"sleep {self.sleep:g} s: {self.reason}"


STEP_CLASSES: tuple[type[StepBase], ...] = (
    Call,
    Issue,
    Change,
    Cancel,
    Status,
    WaitRoutable,
    ExpectAnomaly,
    Sleep,
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
    Annotated[Call, Tag("call")]
    | Annotated[Issue, Tag("issue")]
    | Annotated[Change, Tag("change")]
    | Annotated[Cancel, Tag("cancel")]
    | Annotated[Status, Tag("status")]
    | Annotated[WaitRoutable, Tag("wait_routable")]
    | Annotated[ExpectAnomaly, Tag("expect_anomaly")]
    | Annotated[Sleep, Tag("sleep")],
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
