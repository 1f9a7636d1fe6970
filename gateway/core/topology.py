"""The topology file (SPEC §8): the network, its exchange and every node, validated strictly.

``load_topology(path)`` is the only reader; every error names the line of the offending entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.core.areas import is_area_code, is_province
from gateway.core.errors import TopologyError

NODE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"


class Tier(StrEnum):
    NATIONAL = "national"
    MINISTRY = "ministry"
    PROVINCE = "province"
    DEPARTMENT = "department"
    CITY = "city"


# Which tiers a node of each tier may hang under (SPEC §1).
ALLOWED_PARENTS: Mapping[Tier, frozenset[Tier]] = MappingProxyType(
    {
        Tier.NATIONAL: frozenset(),
        Tier.MINISTRY: frozenset({Tier.NATIONAL}),
        Tier.PROVINCE: frozenset({Tier.NATIONAL}),
        Tier.DEPARTMENT: frozenset({Tier.PROVINCE, Tier.CITY}),
        Tier.CITY: frozenset({Tier.PROVINCE}),
    }
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeSpec(_Strict):
    """One sharing-system node."""

    id: Annotated[str, Field(pattern=NODE_ID_PATTERN, max_length=63)]
    tier: Tier
    parent: str | None = None
    name: str
    area_code: Annotated[str | None, Field(pattern=r"^\d{6}$")] = None
    data_source: Annotated[str | None, Field(pattern=r"^[0-9][0-9A-Za-z]{2}$")] = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)]
    # proxies in front of this node: only from them is X-Forwarded-For believed
    trusted_proxies: tuple[IPvAnyAddress, ...] = ()

    @field_validator("area_code")
    @classmethod
    def _known_area(cls, value: str | None) -> str | None:
        if value is not None and not is_area_code(value):
            raise ValueError(f"{value!r} is not a GB/T 2260 area code (A.1)")
        return value

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


LAUNCHED_BROKERS = ("embedded", "mosquitto")  # brokers ``ecert up`` starts with the network


class ExchangeSpec(_Strict):
    """The catalog exchange: ``embedded`` (amqtt started with the network), ``mosquitto``
    (Mosquitto started with the network, same logins and topic ACLs) or ``mqtt://host:port``
    (a broker run by its operator)."""

    broker: str = "embedded"
    host: str = "127.0.0.1"  # where the broker started with the network listens
    port: Annotated[int, Field(ge=0, le=65535)] = 1883
    interval: Annotated[float, Field(gt=0, le=3600)] = 2.0  # seconds between pushes
    ack_timeout: Annotated[float, Field(gt=0, le=3600)] = (
        5.0  # resend an unacknowledged batch after
    )

    @field_validator("broker")
    @classmethod
    def _broker_form(cls, value: str) -> str:
        if value not in LAUNCHED_BROKERS and not re.fullmatch(r"mqtt://[^:/\s]+:\d{1,5}", value):
            raise ValueError("broker must be 'embedded', 'mosquitto' or 'mqtt://host:port'")
        return value

    @property
    def launched(self) -> bool:
        """The network starts its broker itself (on ``host:port``)."""
        return self.broker in LAUNCHED_BROKERS

    @property
    def broker_host(self) -> str:
        return self.host if self.launched else self.broker[7:].rsplit(":", 1)[0]

    @property
    def broker_port(self) -> int:
        return self.port if self.launched else int(self.broker.rsplit(":", 1)[1])


class RemindersSpec(_Strict):
    """Expiry reminders (§8.3.4): certificates expiring within ``within_days`` days, found by
    every node every ``every`` seconds (a day by default)."""

    within_days: Annotated[int, Field(ge=1, le=3650)] = 30
    every: Annotated[float, Field(gt=0, le=7 * 86400)] = 86400.0


class Topology(_Strict):
    network: Annotated[str, Field(pattern=NODE_ID_PATTERN)]
    timezone: str = "Asia/Shanghai"
    path: Annotated[str, Field(pattern=r"^(/[A-Za-z0-9._-]+)+$")] = "/ecert"
    exchange: ExchangeSpec = ExchangeSpec()
    reminders: RemindersSpec = RemindersSpec()
    nodes: tuple[NodeSpec, ...]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _tree(self) -> Topology:
        _check_tree(self.nodes)
        return self

    # -- queries -------------------------------------------------------------------------------
    @cached_property
    def by_id(self) -> dict[str, NodeSpec]:
        return {node.id: node for node in self.nodes}

    @cached_property
    def _children(self) -> dict[str, tuple[NodeSpec, ...]]:
        found: dict[str, list[NodeSpec]] = {node.id: [] for node in self.nodes}
        for node in self.nodes:
            if node.parent is not None:
                found[node.parent].append(node)
        return {node_id: tuple(children) for node_id, children in found.items()}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def node(self, node_id: str) -> NodeSpec:
        try:
            return self.by_id[node_id]
        except KeyError:
            raise TopologyError(f"no node {node_id!r} in network {self.network!r}") from None

    def root(self) -> NodeSpec:
        return next(node for node in self.nodes if node.parent is None)

    def children(self, node_id: str) -> list[NodeSpec]:
        """In topology-file order (a fan-out merges its children's answers in this order)."""
        return list(self._children.get(node_id, ()))

    def parent(self, node_id: str) -> NodeSpec | None:
        parent = self.node(node_id).parent
        return None if parent is None else self.by_id[parent]

    def ancestors(self, node_id: str) -> list[NodeSpec]:
        """Parent first, root last."""
        chain: list[NodeSpec] = []
        current = self.parent(node_id)
        while current is not None:
            chain.append(current)
            current = self.parent(current.id)
        return chain

    def subtree(self, node_id: str) -> list[NodeSpec]:
        """The node and everything below it, depth first in file order."""
        found = [self.node(node_id)]
        for child in self.children(node_id):
            found.extend(self.subtree(child.id))
        return found

    def neighbours(self, node_id: str) -> list[NodeSpec]:
        parent = self.parent(node_id)
        return ([parent] if parent else []) + self.children(node_id)

    def province_of(self, node_id: str) -> NodeSpec | None:
        """The province a node belongs to (itself for a province), None above provinces."""
        for node in [self.node(node_id), *self.ancestors(node_id)]:
            if node.tier is Tier.PROVINCE:
                return node
        return None

    def jurisdiction(self, node_id: str) -> str | None:
        """The area-code prefix a node's certificates must carry (SPEC §6.2), None for any."""
        node = self.node(node_id)
        if node.area_code is None or node.tier in (Tier.NATIONAL, Tier.MINISTRY):
            return None
        code = node.area_code
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
        return code


def _check_tree(nodes: tuple[NodeSpec, ...]) -> None:
    """Whole-file rules; each error names the offending node (mapped to a line by the loader)."""
    first: dict[str, int] = {}
    for index, node in enumerate(nodes):
        if node.id in first:
            raise _NodeRuleError(node.id, f"duplicate node id {node.id!r}", index=index, key="id")
        first[node.id] = index
    by_id = {node.id: node for node in nodes}
    roots = [node for node in nodes if node.parent is None]
    if len(roots) != 1:
        culprit = roots[1].id if roots else nodes[0].id if nodes else ""
        raise _NodeRuleError(culprit, f"the network needs exactly one root, found {len(roots)}")
    for node in nodes:
        if node.parent is not None and node.parent not in by_id:
            message = f"parent {node.parent!r} of {node.id!r} is not defined"
            raise _NodeRuleError(node.id, message, key="parent")
    _check_cycles(nodes, by_id)
    endpoints: dict[tuple[str, int], str] = {}
    for node in nodes:
        _check_parent_tier(node, by_id)
        if node.port:
            key = (node.host, node.port)
            if key in endpoints:
                message = f"{node.id!r} listens on {node.host}:{node.port} like {endpoints[key]!r}"
                raise _NodeRuleError(node.id, message, key="port")
            endpoints[key] = node.id
    _check_data_sources(nodes, by_id)
    for node in nodes:
        _check_area(node, by_id)
        _check_data_source_form(node, by_id)


def _province_of(node: NodeSpec, by_id: dict[str, NodeSpec]) -> NodeSpec | None:
    current: NodeSpec | None = node
    while current is not None and current.tier is not Tier.PROVINCE:
        current = by_id[current.parent] if current.parent else None
    return current


def _check_area(node: NodeSpec, by_id: dict[str, NodeSpec]) -> None:
    """A province has a province-level code; a city or department lies inside its province."""
    code = node.area_code
    if code is None:
        return
    if node.tier is Tier.PROVINCE and not is_province(code):
        message = f"province {node.id!r} has area_code {code!r}, not a province-level code"
        raise _NodeRuleError(node.id, message, key="area_code")
    if node.tier is Tier.CITY and is_province(code):
        message = f"city {node.id!r} has the province-level area_code {code!r}"
        raise _NodeRuleError(node.id, message, key="area_code")
    province = _province_of(node, by_id)
    if province is None or province.area_code is None or province is node:
        return
    if code[:2] != province.area_code[:2]:
        message = f"area_code {code!r} of {node.id!r} lies outside its province {province.id!r}"
        raise _NodeRuleError(node.id, message, key="area_code")


def _check_data_source_form(node: NodeSpec, by_id: dict[str, NodeSpec]) -> None:
    """A.3: a provincial department's data source is ``0xx``, a city's ``1xx``."""
    source = node.data_source
    if source is None:
        return
    parent = by_id[node.parent] if node.parent else None
    provincial_department = node.tier is Tier.DEPARTMENT and parent and parent.tier is Tier.PROVINCE
    if node.tier is Tier.CITY and source[0] != "1":
        message = f"city {node.id!r} has data_source {source!r}; a city's starts with 1 (A.3)"
        raise _NodeRuleError(node.id, message, key="data_source")
    if provincial_department and source[0] != "0":
        message = (
            f"provincial department {node.id!r} has data_source {source!r};"
            " a provincial department's starts with 0 (A.3)"
        )
        raise _NodeRuleError(node.id, message, key="data_source")


def _check_parent_tier(node: NodeSpec, by_id: dict[str, NodeSpec]) -> None:
    if node.parent is None:
        if node.tier is not Tier.NATIONAL:
            message = f"the root must be a national node, not {node.tier}"
            raise _NodeRuleError(node.id, message, key="tier")
        return
    parent_tier = by_id[node.parent].tier
    if parent_tier not in ALLOWED_PARENTS[node.tier]:
        message = f"a {node.tier} node cannot hang under a {parent_tier} ({node.parent!r})"
        raise _NodeRuleError(node.id, message, key="parent")


def _check_cycles(nodes: tuple[NodeSpec, ...], by_id: dict[str, NodeSpec]) -> None:
    """A node whose parent chain comes back to it (the first such node in file order)."""
    for node in nodes:
        seen = {node.id}
        current = node.parent
        while current is not None and current not in seen:
            seen.add(current)
            current = by_id[current].parent
        if current == node.id:
            raise _NodeRuleError(node.id, f"cycle through {node.id!r}", key="parent")


def _check_data_sources(nodes: tuple[NodeSpec, ...], by_id: dict[str, NodeSpec]) -> None:
    seen: dict[tuple[str | None, str], str] = {}
    for node in nodes:
        if node.data_source is None:
            continue
        province = _province_of(node, by_id)
        key = (province.id if province else None, node.data_source)
        if key in seen:
            message = f"data_source {node.data_source!r} of {node.id!r} is already {seen[key]!r}'s"
            raise _NodeRuleError(node.id, message, key="data_source")
        seen[key] = node.id


class _NodeRuleError(ValueError):
    """A whole-file rule broken by one node: its id, or its position, and the offending key."""

    def __init__(
        self, node_id: str, message: str, *, index: int | None = None, key: str | None = None
    ):
        super().__init__(message)
        self.node_id = node_id
        self.index = index
        self.key = key


# -- loading ------------------------------------------------------------------------------------


def parse_topology(text: str, *, source: str = "<topology>") -> Topology:
    """Parse and validate topology YAML; raise TopologyError naming the offending line."""
    try:
        raw = yaml.safe_load(text)
        lines = _node_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise TopologyError(f"{source}: not valid YAML ({exc})", line=line) from exc
    if not isinstance(raw, dict):
        raise TopologyError(f"{source}: the topology must be a mapping", line=1)
    try:
        return Topology.model_validate(raw)
    except ValidationError as exc:
        raise _explain(exc, raw, lines, source) from exc


def load_topology(path: str | Path) -> Topology:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TopologyError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_topology(text, source=str(path))


def _node_lines(text: str) -> dict[Any, int]:
    """Map ``("nodes", i)`` and ``("nodes", i, key)`` and top-level keys to 1-based lines."""
    lines: dict[Any, int] = {}
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key_node, value_node in root.value:
        lines[(key_node.value,)] = key_node.start_mark.line + 1
        if key_node.value == "nodes" and isinstance(value_node, yaml.SequenceNode):
            for index, item in enumerate(value_node.value):
                lines[("nodes", index)] = item.start_mark.line + 1
                if isinstance(item, yaml.MappingNode):
                    for field_key, _ in item.value:
                        lines[("nodes", index, field_key.value)] = field_key.start_mark.line + 1
        elif isinstance(value_node, yaml.MappingNode):
            for field_key, _ in value_node.value:
                lines[(key_node.value, field_key.value)] = field_key.start_mark.line + 1
    return lines


def _explain(
    exc: ValidationError, raw: dict[str, Any], lines: dict[Any, int], source: str
) -> TopologyError:
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _NodeRuleError):
        index = cause.index if cause.index is not None else _index_of(raw, cause.node_id)
        line = None
        if index is not None:
            line = lines.get(("nodes", index, cause.key)) or lines.get(("nodes", index))
        return TopologyError(f"{source}: {cause}", line=line, node_id=cause.node_id)
    line = None
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in lines:
            line = lines[loc[:cut]]
            break
    node_id = None
    if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
        nodes = raw.get("nodes") or []
        if loc[1] < len(nodes) and isinstance(nodes[loc[1]], dict):
            node_id = nodes[loc[1]].get("id")
    where = ".".join(str(part) for part in loc) or "topology"
    label = f" (node {node_id!r})" if node_id else ""
    return TopologyError(f"{source}: {where}{label}: {error['msg']}", line=line, node_id=node_id)


def _index_of(raw: dict[str, Any], node_id: str) -> int | None:
    for index, node in enumerate(raw.get("nodes") or []):
        if isinstance(node, dict) and node.get("id") == node_id:
            return index
    return None
