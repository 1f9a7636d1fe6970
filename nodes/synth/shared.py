"""Travelling holders: people and companies with certificates at several nodes.

The plan is drawn from ``Random(f"{seed}:shared")`` alone and uses no dates, so which holder holds
which certificate at which node (and its CertificateID) depends only on the topology and the seed.
Dates come from a second generator, ``Random(f"{seed}:shared-dates")``, and from ``today``.

- a person (``PERSONS`` of them) has a 居民身份证 at a city, a 机动车驾驶证 at a node of the same
  province, a 从业资格证 at a ministry (every other person) and a 结婚证 at a city of another
  province;
- a company (``COMPANIES``) has a 营业执照 at a market-regulation node (a department when the
  network has one), 食品经营许可证 at a city of its province and at a city of another province, and
  the first one a 道路运输经营许可证 at a ministry.
Steps whose type no node issues are skipped; a holder left with fewer than two nodes is dropped.
Every shared certificate is 正常 and valid; serials are ``S`` + 8 digits, so they never meet the
node's own (digits only) serials.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.core.topology import NodeSpec, Tier, Topology
from nodes.synth import catalogue as cat
from nodes.synth.drafting import NORMAL, draft_certificate, to_record
from nodes.synth.issuers import Issuer, home_areas, issuers_of
from nodes.synth.people import Company, Person, make_company, make_person

PERSONS = 4
COMPANIES = 3


@dataclass(frozen=True, slots=True)
class HeldCertificate:
    node_id: str
    CertificateTypeCode: str
    CertificateID: str
    CertificateNumber: str


@dataclass(frozen=True, slots=True)
class HolderSummary:
    """A holder with certificates at several nodes (for tests and the demo)."""

    CertificateHolderName: str
    CertificateHolderCode: str
    CertificateHolderTypeCode: str  # 111 or 001
    home_node: str
    certificates: tuple[HeldCertificate, ...]

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(held.node_id for held in self.certificates))


@dataclass(frozen=True, slots=True)
class _Plan:
    holder: Person | Company
    home: NodeSpec
    steps: tuple[tuple[NodeSpec, Issuer, str], ...]


class _Offers:
    """Which nodes issue which type, in file order."""

    def __init__(self, topology: Topology):
        self.topology = topology
        self.by_type: dict[str, list[tuple[NodeSpec, Issuer]]] = {}
        for node in topology.nodes:
            for issuer in issuers_of(node):
                for code in issuer.type_codes:
                    self.by_type.setdefault(code, []).append((node, issuer))

    def province(self, node: NodeSpec) -> str | None:
        found = self.topology.province_of(node.id)
        return None if found is None else found.id

    def pick(
        self, rng: random.Random, type_code: str, home: NodeSpec, *, same_province: bool | None
    ) -> tuple[NodeSpec, Issuer, str] | None:
        """A node issuing ``type_code``: in home's province (True), in another one (False), any."""
        offers = self.by_type.get(type_code, [])
        if same_province is not None:
            home_province = self.province(home)
            offers = [
                (node, issuer)
                for node, issuer in offers
                if (self.province(node) == home_province) is same_province
                and self.province(node) is not None
            ]
        if not offers:
            return None
        node, issuer = rng.choice(offers)
        return node, issuer, type_code


def _person_plan(rng: random.Random, offers: _Offers, index: int) -> _Plan | None:
    homes = offers.by_type.get(cat.RESIDENT_ID, [])
    if not homes:
        return None
    home, issuer = homes[(index + rng.randrange(len(homes))) % len(homes)]
    person = make_person(rng, rng.choice(home_areas(home)))
    steps = [
        (home, issuer, cat.RESIDENT_ID),
        offers.pick(rng, cat.DRIVING_LICENCE, home, same_province=True),
        offers.pick(rng, cat.TRANSPORT_QUALIFICATION, home, same_province=None)
        if index % 2 == 0
        else None,
        offers.pick(rng, cat.MARRIAGE, home, same_province=False),
    ]
    return _Plan(person, home, tuple(step for step in steps if step is not None))


def _company_plan(rng: random.Random, offers: _Offers, index: int) -> _Plan | None:
    homes = offers.by_type.get(cat.BUSINESS_LICENCE, [])
    departments = [offer for offer in homes if offer[0].tier is Tier.DEPARTMENT]
    homes = departments or homes
    if not homes:
        return None
    home, issuer = homes[(index + rng.randrange(len(homes))) % len(homes)]
    company = make_company(rng, rng.choice(home_areas(home)), kind="food")
    steps = [
        (home, issuer, cat.BUSINESS_LICENCE),
        offers.pick(rng, cat.FOOD_LICENCE, home, same_province=True),
        offers.pick(rng, cat.FOOD_LICENCE, home, same_province=False),
        offers.pick(rng, cat.TRANSPORT_PERMIT, home, same_province=None) if index == 0 else None,
    ]
    return _Plan(company, home, tuple(step for step in steps if step is not None))


def _plans(topology: Topology, seed: int) -> list[_Plan]:
    rng = random.Random(f"{seed}:shared")
    offers = _Offers(topology)
    plans = [_person_plan(rng, offers, index) for index in range(PERSONS)]
    plans += [_company_plan(rng, offers, index) for index in range(COMPANIES)]
    return [
        plan
        for plan in plans
        if plan is not None and len({node.id for node, _, _ in plan.steps}) >= 2
    ]


def shared_records(
    topology: Topology, seed: int, today: date
) -> list[tuple[HolderSummary, list[tuple[str, dict[str, Any]]]]]:
    """Each travelling holder with its ``(node_id, record)`` pairs."""
    dates = random.Random(f"{seed}:shared-dates")
    sequences: Counter[str] = Counter()
    result = []
    for plan in _plans(topology, seed):
        pairs: list[tuple[str, dict[str, Any]]] = []
        for node, issuer, type_code in plan.steps:
            sequences[issuer.code] += 1
            sequence = sequences[issuer.code]
            draft, status = draft_certificate(
                dates,
                node,
                issuer,
                type_code,
                plan.holder,
                fate=NORMAL,
                sequence=sequence,
                today=today,
            )
            pairs.append((node.id, to_record(draft, status, f"S{sequence:08d}", dates)))
        result.append((_summary(plan, pairs), pairs))
    return result


def _summary(plan: _Plan, pairs: list[tuple[str, dict[str, Any]]]) -> HolderSummary:
    first = pairs[0][1]
    return HolderSummary(
        CertificateHolderName=first["CertificateHolderName"],
        CertificateHolderCode=first["CertificateHolderCode"],
        CertificateHolderTypeCode=first["CertificateHolderTypeCode"],
        home_node=plan.home.id,
        certificates=tuple(
            HeldCertificate(
                node_id,
                record["CertificateTypeCode"],
                record["CertificateID"],
                record["CertificateNumber"],
            )
            for node_id, record in pairs
        ),
    )
