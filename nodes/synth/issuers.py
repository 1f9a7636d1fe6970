"""Which authorities issue certificates at which node, and where the node's holders live.

- national: nothing (it only aggregates catalogs);
- ministry: the central authority its name mentions (交通运输部 → 道路运输 certificates); a ministry
  the catalogue does not know issues the 交通运输部 types under its own name;
- province: 公安厅交通警察总队 (机动车驾驶证, signed at provincial level as real licences are);
- department: the authority its name mentions (市场监督, 公安, 交通警察, 民政, 交通运输),
  by default 市场监督;
- city: 公安局 (居民身份证), 市场监督管理局 (营业执照, 食品经营许可证), 民政局 (结婚证).

An issuer's USCC embeds the node's area code (``100000`` for central ones) and an organisation code
that depends only on the node id and the kind of authority, so it is stable across seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from gateway.core.areas import prefectures
from gateway.core.topology import NodeSpec, Tier
from nodes.synth import catalogue as cat
from nodes.synth.ids import NATIONAL_AREA, authority_uscc, stable_body
from nodes.synth.people import place


@dataclass(frozen=True, slots=True)
class Issuer:
    name: str  # CertificateIssuingAuthorityName
    code: str  # CertificateIssuingAuthorityCode
    type_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Kind:
    key: str
    city_suffix: str
    province_suffix: str
    type_codes: tuple[str, ...]
    keywords: tuple[str, ...]


_KINDS = (  # keyword order matters: 交通警察 before 公安
    _Kind(
        "traffic",
        "公安局交通警察支队",
        "公安厅交通警察总队",
        (cat.DRIVING_LICENCE,),
        ("交通警察", "交警"),
    ),
    _Kind("psb", "公安局", "公安厅", (cat.RESIDENT_ID,), ("公安",)),
    _Kind(
        "amr",
        "市场监督管理局",
        "市场监督管理局",
        (cat.BUSINESS_LICENCE, cat.FOOD_LICENCE),
        ("市场监督", "市场监管"),
    ),
    _Kind("civil", "民政局", "民政厅", (cat.MARRIAGE,), ("民政",)),
    _Kind(
        "transport",
        "交通运输局",
        "交通运输厅",
        (cat.TRANSPORT_QUALIFICATION, cat.TRANSPORT_PERMIT),
        ("交通运输",),
    ),
)
_BY_KEY = MappingProxyType({kind.key: kind for kind in _KINDS})
_TIER_KINDS = MappingProxyType({Tier.CITY: ("psb", "amr", "civil"), Tier.PROVINCE: ("traffic",)})
# Where the holders of national and ministry certificates live in synthetic data: the prefectures
# of Jilin and Heilongjiang, the demo network's provinces (so its seeded data stays as it was).
CENTRAL_HOME_AREAS = prefectures("220000") + prefectures("230000")
_CENTRAL = (
    (("交通运输部",), cat.MOT, (cat.TRANSPORT_QUALIFICATION, cat.TRANSPORT_PERMIT)),
    (("公安部",), cat.MPS, (cat.DRIVING_LICENCE,)),
    (("民政部",), cat.MCA, (cat.MARRIAGE,)),
    (("市场监督管理总局", "市场监管总局"), cat.SAMR, (cat.BUSINESS_LICENCE, cat.FOOD_LICENCE)),
)


def issuers_of(node: NodeSpec) -> tuple[Issuer, ...]:
    """The issuing authorities whose certificates the node holds (empty for national)."""
    if node.tier is Tier.NATIONAL:
        return ()
    if node.tier is Tier.MINISTRY:
        return (_central(node),)
    if node.tier is Tier.DEPARTMENT:
        keys: tuple[str, ...] = (_department_kind(node.name),)
    else:
        keys = _TIER_KINDS[node.tier]
    return tuple(_local(node, _BY_KEY[key]) for key in keys)


def _central(node: NodeSpec) -> Issuer:
    for keywords, authority, type_codes in _CENTRAL:
        if any(word in node.name for word in keywords):
            return Issuer(authority.name, authority.code, type_codes)
    name = node.name.removesuffix("电子证照共享系统").removesuffix("电子证照系统") or node.id
    code = authority_uscc(NATIONAL_AREA, stable_body(node.id, "ministry"))
    return Issuer(name, code, (cat.TRANSPORT_QUALIFICATION, cat.TRANSPORT_PERMIT))


def _department_kind(name: str) -> str:
    for kind in _KINDS:
        if any(word in name for word in kind.keywords):
            return kind.key
    return "amr"


def _local(node: NodeSpec, kind: _Kind) -> Issuer:
    area = node.area_code or NATIONAL_AREA
    province, prefecture = place(area)
    if area.endswith("0000") or not prefecture:
        name = province + kind.province_suffix
    else:
        name = prefecture + kind.city_suffix
    return Issuer(name, authority_uscc(area, stable_body(node.id, kind.key)), kind.type_codes)


def home_areas(node: NodeSpec) -> tuple[str, ...]:
    """Prefecture codes the node's own holders are registered in (sorted, never a ``xx0000``)."""
    code = node.area_code
    if code is None or node.tier in (Tier.NATIONAL, Tier.MINISTRY):
        return CENTRAL_HOME_AREAS
    if code.endswith("0000"):
        return prefectures(code) or (f"{code[:2]}0100",)
    return (code,)
