"""Deterministic synthetic certificates for every node of a topology (SPEC §2).

``generate(topology, seed=...)`` answers ``{node_id: [Certificate, ...]}`` for all nodes at once, so
every node process can call it and keep its own list, and all processes agree on the shared ones.
Each node draws from ``random.Random(f"{seed}:{node_id}")`` (never the global generator, never
``hash()``, never the clock), so a node's certificates do not change when another node is added.

A node gets ``per_node`` certificates of its own issuers (see ``issuers``): about one in twelve
expired, one in twelve 注销 (02) and one in twelve 暂扣 (05), the rest 正常 and valid for at least
three years after ``today``. The travelling holders of ``shared`` add a few certificates on top.
Serials are 9 digits counted per issuer, so CertificateIDs are unique across the network.

``generate_bulk`` yields plain dict records (``Certificate.model_validate`` accepts each) without
pydantic, for benchmarks of a million certificates; its holder codes are distinct within one call.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

from gateway.core.areas import area_name
from gateway.core.topology import NodeSpec, Tier, Topology
from nodes.model.certificate import Certificate
from nodes.synth.drafting import (
    CANCELLED,
    EXPIRED,
    NORMAL,
    RESTRICTED,
    draft_certificate,
    make_holder,
    pick_type,
    to_record,
)
from nodes.synth.issuers import Issuer, home_areas, issuers_of
from nodes.synth.people import PERSON_SLOTS
from nodes.synth.shared import HolderSummary, shared_records

DEFAULT_TODAY = date(2026, 1, 1)  # the reference day when none is passed; fixed, never the clock
BULK_FATES = ((0.02, EXPIRED), (0.04, CANCELLED), (0.06, RESTRICTED))


def generate(
    topology: Topology, *, seed: int, per_node: int = 40, today: date | None = None
) -> dict[str, list[Certificate]]:
    """Certificates of every node (the national node gets none), validated as ``Certificate``."""
    day = today or DEFAULT_TODAY
    result = {
        node.id: [
            Certificate.model_validate(record)
            for record in node_records(node, seed=seed, count=per_node, today=day)
        ]
        for node in topology.nodes
    }
    for _, pairs in shared_records(topology, seed, day):
        for node_id, record in pairs:
            result[node_id].append(Certificate.model_validate(record))
    return result


def generate_for(
    topology: Topology, node_id: str, *, seed: int, per_node: int = 40, today: date | None = None
) -> list[Certificate]:
    """``generate(...)[node_id]`` without making every other node's certificates: a node's
    first start costs its own share, not the network's (431 nodes each making all 8,620
    certificates at start was most of a China tree's start-up)."""
    day = today or DEFAULT_TODAY
    node = topology.node(node_id)
    mine = [
        Certificate.model_validate(record)
        for record in node_records(node, seed=seed, count=per_node, today=day)
    ]
    for _, pairs in shared_records(topology, seed, day):
        mine += [Certificate.model_validate(r) for owner, r in pairs if owner == node_id]
    return mine


def shared_holders(
    topology: Topology, seed: int, *, today: date | None = None
) -> list[HolderSummary]:
    """The holders ``generate`` gives certificates at two or more nodes (pass its ``today``)."""
    return [summary for summary, _ in shared_records(topology, seed, today or DEFAULT_TODAY)]


def node_records(node: NodeSpec, *, seed: int, count: int, today: date) -> list[dict[str, Any]]:
    """The node's own ``count`` records (no shared holders); empty for a node without issuers."""
    issuers = issuers_of(node)
    if not issuers:
        return []
    rng = random.Random(f"{seed}:{node.id}")
    state = _NodeState(node, issuers, today)
    return [state.record(rng, fate, prefix="") for fate in _fates(rng, count)]


def generate_bulk(
    node_id: str, area_code: str, *, count: int, seed: int, today: date | None = None
) -> Iterator[dict[str, Any]]:
    """``count`` records of a city-like node ``node_id`` in ``area_code``, lazily.

    Records are dicts that ``Certificate.model_validate`` accepts; serials are ``B`` + digits, so
    they never collide with ``generate``'s. Up to PERSON_SLOTS (14 million) records have distinct
    holder codes. About 2 % each are expired, 注销 and 暂扣.
    """
    name = f"{area_name(area_code) or area_code}电子证照共享系统"
    node = NodeSpec(id=node_id, tier=Tier.CITY, name=name, area_code=area_code, port=0)
    rng = random.Random(f"{seed}:bulk:{node_id}")
    state = _NodeState(node, issuers_of(node), today or DEFAULT_TODAY)
    offset = rng.randrange(PERSON_SLOTS)
    for index in range(count):
        draw = rng.random()
        fate = next((fate for limit, fate in BULK_FATES if draw < limit), NORMAL)
        yield state.record(rng, fate, prefix="B", index=offset + index)


def _fates(rng: random.Random, count: int) -> list[str]:
    """``count`` fates with at least one of each unusual kind once there is room for them."""
    each = max(1, count // 12) if count >= 4 else 0
    fates = [EXPIRED] * each + [CANCELLED] * each + [RESTRICTED] * each
    fates += [NORMAL] * (count - len(fates))
    rng.shuffle(fates)
    return fates


class _NodeState:
    """What one node's generation remembers: its issuers, home areas and per-issuer counters."""

    def __init__(self, node: NodeSpec, issuers: tuple[Issuer, ...], today: date):
        self.node, self.issuers, self.today = node, issuers, today
        self.areas = home_areas(node)
        self.sequences: Counter[str] = Counter()

    def record(
        self, rng: random.Random, fate: str, *, prefix: str, index: int | None = None
    ) -> dict[str, Any]:
        issuer, type_code = pick_type(rng, self.issuers, fate)
        area = self.areas[0] if len(self.areas) == 1 else rng.choice(self.areas)
        holder = make_holder(rng, type_code, area, index=index)
        self.sequences[issuer.code] += 1
        sequence = self.sequences[issuer.code]
        draft, status = draft_certificate(
            rng,
            self.node,
            issuer,
            type_code,
            holder,
            fate=fate,
            sequence=sequence,
            today=self.today,
        )
        return to_record(draft, status, f"{prefix}{sequence:09d}", rng)
