"""照面信息 values and 证照编号 per built-in type, from a drafted certificate.

``surface_values`` answers ``{columnName: value}``; the generator lays the values out in the order
of the type's surface template, so a column the builder forgets comes out as ``""``, never missing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from nodes.synth import catalogue as cat
from nodes.synth.issuers import Issuer
from nodes.synth.people import Company, Person, short_place

PUBLICITY_URL = "http://www.gsxt.gov.cn"
PROVINCE_ABBREVIATIONS = MappingProxyType(
    {"23": "黑", "22": "吉", "21": "辽", "11": "京", "31": "沪"}
)
FOOD_FORMATS = (
    ("1", "食品销售经营者（商场超市）", "预包装食品（含冷藏冷冻食品）销售；散装食品销售"),
    ("2", "餐饮服务经营者（中型餐馆）", "热食类食品制售；冷食类食品制售"),
    ("3", "单位食堂（职工食堂）", "热食类食品制售"),
)
DRIVING_CLASSES = ("C1", "C1", "C1", "C2", "B2", "A2", "C1E")
QUALIFICATIONS = ("经营性道路旅客运输驾驶员", "经营性道路货物运输驾驶员", "道路危险货物运输驾驶员")


@dataclass(frozen=True, slots=True)
class Draft:
    """A certificate before it becomes a record: who, by whom, where, when."""

    type_code: str
    issuer: Issuer
    holder: Person | Company
    area_code: str  # CertificateAreaCode
    sequence: int  # per-issuer counter; the serial of the CertificateID is made from it
    issued: date
    effective: date
    expiring: date | None  # None = 长期
    status: str
    spouse: Person | None = None


def _iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def validity(draft: Draft) -> str:
    """``2016.03.01-2026.03.01`` or ``2016.03.01-长期``, as printed on Chinese cards."""
    end = "长期" if draft.expiring is None else f"{draft.expiring:%Y.%m.%d}"
    return f"{draft.effective:%Y.%m.%d}-{end}"


def certificate_number(draft: Draft) -> str:
    holder, area, seq = draft.holder, draft.area_code, draft.sequence % 10**6
    if isinstance(holder, Company):
        if draft.type_code == cat.FOOD_LICENCE:
            digit = str(sum(int(ch) for ch in f"{area}{seq:06d}") % 10)
            return f"JY{1 + seq % 3}{area}{seq:06d}{digit}"
        if draft.type_code == cat.TRANSPORT_PERMIT:
            abbreviation = PROVINCE_ABBREVIATIONS.get(area[:2], short_place(area)[:1])
            return f"{abbreviation}交运管许可{short_place(area)[:1]}字{area}{seq:06d}号"
        return holder.uscc
    if draft.type_code == cat.MARRIAGE:
        return f"J{area}-{draft.issued.year}-{seq:06d}"
    return holder.citizen_id


def _company(draft: Draft) -> Company:
    assert isinstance(draft.holder, Company)
    return draft.holder


def _person(draft: Draft) -> Person:
    assert isinstance(draft.holder, Person)
    return draft.holder


def _business_licence(draft: Draft, rng: random.Random) -> dict[str, str]:
    company = _company(draft)
    state = "注销" if draft.status == "02" else "存续（在营、开业、在册）"
    return {
        "ENTNAME": company.name,
        "dom": company.address,
        "name": company.legal_representative,
        "REPORTTYPE": company.form,
        "regcap": company.capital,
        "opscope": company.scope,
        "regstate": state,
        "compform": "无",
        "oploc": company.address,
        "otherinfo": "无",
        "puburl": PUBLICITY_URL,
        "estdate": min(company.established, draft.issued).isoformat(),
    }


def _food_licence(draft: Draft, rng: random.Random) -> dict[str, str]:
    company = _company(draft)
    _, business_format, items = FOOD_FORMATS[draft.sequence % len(FOOD_FORMATS)]
    return {
        "JYZMC": company.name,
        "SHXYDM": company.uscc,
        "FDDBR": company.legal_representative,
        "ZS": company.address,
        "JYCS": company.address,
        "ZTYT": business_format,
        "JYXM": items,
        "XKZBH": certificate_number(draft),
        "YXQZ": _iso(draft.expiring),
        "FZJG": draft.issuer.name,
    }


def _resident_id(draft: Draft, rng: random.Random) -> dict[str, str]:
    person = _person(draft)
    return {
        "XM": person.name,
        "XB": person.gender,
        "MZ": person.ethnicity,
        "CSRQ": person.birth.isoformat(),
        "ZZ": person.address,
        "GMSFHM": person.citizen_id,
        "QFJG": draft.issuer.name,
        "YXQX": validity(draft),
    }


def _driving_licence(draft: Draft, rng: random.Random) -> dict[str, str]:
    person = _person(draft)
    return {
        "ZH": person.citizen_id,
        "XM": person.name,
        "XB": person.gender,
        "GJ": "中国",
        "ZZ": person.address,
        "CSRQ": person.birth.isoformat(),
        "CCLZRQ": draft.issued.isoformat(),
        "ZJCX": rng.choice(DRIVING_CLASSES),
        "YXQX": validity(draft),
        "FZJG": draft.issuer.name,
    }


def _marriage(draft: Draft, rng: random.Random) -> dict[str, str]:
    person, spouse = _person(draft), draft.spouse
    assert spouse is not None
    man, woman = (person, spouse) if person.gender == "男" else (spouse, person)
    return {
        "CZR": person.name,
        "DJRQ": draft.issued.isoformat(),
        "JHZZH": certificate_number(draft),
        "NFXM": man.name,
        "NFSFZJHM": man.citizen_id,
        "NFCSRQ": man.birth.isoformat(),
        "NVFXM": woman.name,
        "NVFSFZJHM": woman.citizen_id,
        "NVFCSRQ": woman.birth.isoformat(),
        "DJJG": draft.issuer.name.replace("民政局", "民政局婚姻登记处"),
    }


def _transport_qualification(draft: Draft, rng: random.Random) -> dict[str, str]:
    person = _person(draft)
    return {
        "XM": person.name,
        "XB": person.gender,
        "CSRQ": person.birth.isoformat(),
        "ZZ": person.address,
        "ZH": person.citizen_id,
        "CYZGLB": rng.choice(QUALIFICATIONS),
        "CLRQ": draft.issued.isoformat(),
        "YXQX": validity(draft),
        "FZJG": draft.issuer.name,
    }


def _transport_permit(draft: Draft, rng: random.Random) -> dict[str, str]:
    company = _company(draft)
    return {
        "YHMC": company.name,
        "DZ": company.address,
        "JJLX": "私营企业",
        "JYFW": "道路普通货物运输",
        "XKZH": certificate_number(draft),
        "YXQX": validity(draft),
        "FZJG": draft.issuer.name,
    }


_BUILDERS: Mapping[str, Callable[[Draft, random.Random], dict[str, str]]] = MappingProxyType(
    {
        cat.BUSINESS_LICENCE: _business_licence,
        cat.FOOD_LICENCE: _food_licence,
        cat.RESIDENT_ID: _resident_id,
        cat.DRIVING_LICENCE: _driving_licence,
        cat.MARRIAGE: _marriage,
        cat.TRANSPORT_QUALIFICATION: _transport_qualification,
        cat.TRANSPORT_PERMIT: _transport_permit,
    }
)


def surface_values(draft: Draft, rng: random.Random) -> dict[str, str]:
    return _BUILDERS[draft.type_code](draft, rng)


def detail_groups(draft: Draft, rng: random.Random) -> list[dict[str, object]]:
    """A small 明细 group for 道路运输经营许可证 (its vehicles); other types have none."""
    if draft.type_code != cat.TRANSPORT_PERMIT:
        return []
    prefix = PROVINCE_ABBREVIATIONS.get(draft.area_code[:2], "黑")
    plates = [f"{prefix}{'ABCDEFG'[i % 7]}{rng.randint(10000, 99999)}" for i in range(2)]
    return [
        {
            "group": "车辆信息",
            "datalist": [
                {
                    "name": "车牌号",
                    "columnName": "CPH",
                    "valueType": "string",
                    "value": plate,
                    "orderNum": index,
                }
                for index, plate in enumerate(plates, start=1)
            ],
        }
    ]
