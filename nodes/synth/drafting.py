"""Turning a choice of type, issuer and holder into a certificate record (a plain dict).

A record has exactly the fields of ``nodes.model.certificate.Certificate`` and
``Certificate.model_validate(record)`` accepts it; building dicts keeps bulk generation free of
pydantic in its hot path.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from gateway.core.topology import NodeSpec, Tier
from nodes.model.identifiers import make_certificate_id
from nodes.model.types import CertificateType
from nodes.synth.catalogue import (
    BY_CODE,
    FOOD_LICENCE,
    MARRIAGE,
    PERSON,
    PROFILES,
    TRANSPORT_PERMIT,
)
from nodes.synth.issuers import Issuer, home_areas
from nodes.synth.people import PERSON_SLOTS, Company, Person, make_company, make_person
from nodes.synth.surfaces import Draft, certificate_number, detail_groups, surface_values

NORMAL, EXPIRED, CANCELLED, RESTRICTED = "normal", "expired", "02", "05"
# a certificate not meant to be expired stays valid this long after today
VALID_MARGIN_DAYS = 3 * 365
LONG_TERM_BACK_DAYS = 15 * 365  # how far back a 长期 certificate may have been issued


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def pick_type(rng: random.Random, issuers: tuple[Issuer, ...], fate: str) -> tuple[Issuer, str]:
    """An (issuer, type code) of the node that can meet ``fate`` (expire, be restricted)."""
    options = [(issuer, code) for issuer in issuers for code in issuer.type_codes]
    if fate == EXPIRED:
        fitting = [option for option in options if PROFILES[option[1]].can_expire]
    elif fate == RESTRICTED:
        fitting = [option for option in options if PROFILES[option[1]].restrict_reasons]
    else:
        fitting = options
    return rng.choice(fitting or options)


def make_holder(
    rng: random.Random, type_code: str, area_code: str, *, index: int | None = None
) -> Person | Company:
    """A holder of the type's category. Distinct ``index`` values below PERSON_SLOTS give distinct
    holder codes (a multiplicative bijection onto birth day + sequence, or onto the org code)."""
    if BY_CODE[type_code].CertificateHolderCategory == PERSON:
        slot = None if index is None else index * 7919 % PERSON_SLOTS
        return make_person(rng, area_code, slot=slot)
    kind = {FOOD_LICENCE: "food", TRANSPORT_PERMIT: "transport"}.get(type_code)
    number = None if index is None else index * 48271 % 10**8
    return make_company(rng, area_code, number=number, kind=kind)


def certificate_area(node: NodeSpec, holder_area: str) -> str:
    """CertificateAreaCode: a city's own code, else the holder's prefecture if inside the node's
    jurisdiction, else the first prefecture of the node's province."""
    code = node.area_code
    if code and not code.endswith("0000") and node.tier not in (Tier.NATIONAL, Tier.MINISTRY):
        return code
    if code is None or node.tier is Tier.MINISTRY or holder_area.startswith(code[:2]):
        return holder_area
    return home_areas(node)[0]


def draw_dates(
    rng: random.Random, type_code: str, fate: str, today: date
) -> tuple[date, date | None]:
    """(effective = issued, expiring) for the fate: expired ones lapsed 10-900 days ago, all
    others stay valid for at least VALID_MARGIN_DAYS."""
    choices = PROFILES[type_code].validity_years
    if fate == EXPIRED:
        choices = tuple(years for years in choices if years is not None) or choices
    years = rng.choice(choices)
    if years is None:
        return today - timedelta(days=rng.randint(30, LONG_TERM_BACK_DAYS)), None
    if fate == EXPIRED:
        expiring = today - timedelta(days=rng.randint(10, 900))
        return add_years(expiring, -years), expiring
    back = rng.randint(30, max(30, years * 365 - VALID_MARGIN_DAYS))
    issued = today - timedelta(days=back)
    return issued, add_years(issued, years)


def status_change(
    rng: random.Random, type_code: str, fate: str, issued: date, today: date
) -> tuple[str, str, str]:
    """(CertificateStatus, CertificateStatusChangeReason, CertificateStatusChangeTime)."""
    profile = PROFILES[type_code]
    if fate == CANCELLED:
        reasons = profile.cancel_reasons
    elif fate == RESTRICTED:
        reasons = profile.restrict_reasons or ("依法暂扣证照",)
    else:
        return "01", "", ""
    span = max(1, (today - issued).days - 1)
    day = issued + timedelta(days=rng.randint(1, span))
    seconds = rng.randint(8 * 3600, 18 * 3600)
    moment = f"{day.isoformat()} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return fate, rng.choice(reasons), moment


def draft_certificate(
    rng: random.Random,
    node: NodeSpec,
    issuer: Issuer,
    type_code: str,
    holder: Person | Company,
    *,
    fate: str,
    sequence: int,
    today: date,
) -> tuple[Draft, tuple[str, str, str]]:
    issued, expiring = draw_dates(rng, type_code, fate, today)
    status = status_change(rng, type_code, fate, issued, today)
    spouse = None
    if type_code == MARRIAGE and isinstance(holder, Person):
        spouse = make_person(rng, holder.area_code, gender="女" if holder.gender == "男" else "男")
    draft = Draft(
        type_code=type_code,
        issuer=issuer,
        holder=holder,
        area_code=certificate_area(node, holder.area_code),
        sequence=sequence,
        issued=issued,
        effective=issued,
        expiring=expiring,
        status=status[0],
        spouse=spouse,
    )
    return draft, status


def to_record(
    draft: Draft, status: tuple[str, str, str], serial: str, rng: random.Random
) -> dict[str, Any]:
    kind = BY_CODE[draft.type_code]
    holder = draft.holder
    if isinstance(holder, Person):
        holder_code, holder_type = holder.citizen_id, "111"
    else:
        holder_code, holder_type = holder.uscc, "001"
    values = surface_values(draft, rng)
    return {
        "CertificateID": make_certificate_id(draft.type_code, draft.issuer.code, serial),
        "CertificateName": kind.CertificateTypeName,
        "CertificateTypeName": kind.CertificateTypeName,
        "CertificateTypeCode": draft.type_code,
        "RelatedItemName": kind.RelatedItemName,
        "RelatedItemCode": kind.RelatedItemCode,
        "CertificateIssuingAuthorityName": draft.issuer.name,
        "CertificateIssuingAuthorityCode": draft.issuer.code,
        "CertificateAreaCode": draft.area_code,
        "CertificateHolderName": holder.name,
        "CertificateHolderCode": holder_code,
        "CertificateHolderTypeCode": holder_type,
        "CertificateNumber": certificate_number(draft),
        "CertificateIssuedDate": draft.issued.isoformat(),
        "CertificateEffectiveDate": draft.effective.isoformat(),
        "CertificateExpiringDate": "" if draft.expiring is None else draft.expiring.isoformat(),
        "CertificateStatus": status[0],
        "CertificateStatusChangeReason": status[1],
        "CertificateStatusChangeTime": status[2],
        "surface": _surface(kind, values),
        "detail": detail_groups(draft, rng),
    }


def _surface(kind: CertificateType, values: dict[str, str]) -> list[dict[str, str]]:
    """The type's template filled in: one ``{name, columnName, valueType, value}`` per column."""
    return [
        {
            "name": column.name,
            "columnName": column.columnName,
            "valueType": column.valueType,
            "value": values.get(column.columnName, ""),
        }
        for column in kind.surface_template
    ]
