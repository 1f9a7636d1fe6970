"""Made-up holders: people with valid 公民身份号码 and companies with valid USCCs, in real places.

Every function takes its ``random.Random``; nothing here touches global state. A ``slot`` or
``number`` argument, when given, fixes the holder code so that bulk generation can keep codes
unique (see ``generator.generate_bulk``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from gateway.core.areas import area_name, prefecture_name, province_code
from nodes.model.identifiers import make_citizen_id
from nodes.synth.ids import company_uscc

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁"
    "魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹"
)
MALE = (
    "伟刚勇毅俊峰强军平东文辉力明永健志义兴良海山波宁福龙国胜学祥才武"
    "新利清飞彬顺杰涛成康光天达安岩中林博诚磊民超浩亮宏鹏泽晨"
)
FEMALE = (
    "秀娟英华慧巧美娜静淑惠玉萍红玲芬芳燕春兰凤洁梅琳云莲雪荣霞月艳瑞"
    "佳琼珍莉晶妍秋婷颖露瑶怡丹蓉君琴薇梦岚馨悦冰欣晓"
)
ETHNICITIES = ("汉",) * 12 + ("满", "朝鲜", "蒙古", "回")
DISTRICTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "230100": ("道里区", "南岗区", "道外区", "香坊区", "松北区", "平房区"),
        "230200": ("龙沙区", "建华区", "铁锋区", "昂昂溪区"),
        "230600": ("萨尔图区", "让胡路区", "龙凤区", "红岗区"),
        "220100": ("朝阳区", "南关区", "宽城区", "绿园区", "二道区"),
        "220200": ("船营区", "昌邑区", "龙潭区", "丰满区"),
    }
)
ROADS = (
    "中山路",
    "人民大街",
    "红旗大街",
    "学府路",
    "长江路",
    "黄河路",
    "建设街",
    "和平路",
    "解放大路",
    "新华街",
    "文化街",
    "友谊路",
    "胜利街",
    "工农大街",
    "光明路",
    "松花江街",
    "南京路",
    "西安大路",
)
TRADE_NAMES = (
    "恒达",
    "华信",
    "鑫源",
    "北方",
    "龙江",
    "宏远",
    "金诚",
    "瑞丰",
    "天润",
    "博远",
    "新科",
    "盛世",
    "安泰",
    "众成",
    "永盛",
    "佳禾",
    "润泽",
    "东升",
    "明德",
    "万顺",
    "兴隆",
    "嘉华",
    "鼎盛",
    "长白",
    "松原",
    "雪乡",
    "黑土",
    "寒地",
    "冰城",
    "北大仓",
)
# (行业, 经营范围, kind): a "food" company can hold a food licence, "transport" a transport permit
INDUSTRIES = (
    ("食品", "预包装食品销售；散装食品销售；农副产品收购", "food"),
    ("餐饮管理", "餐饮服务；食品销售；餐饮管理", "food"),
    ("商贸", "日用百货销售；食品销售；五金产品零售", "food"),
    ("乳业", "乳制品生产；乳制品销售", "food"),
    ("物流", "道路货物运输（不含危险货物）；仓储服务；国内货物运输代理", "transport"),
    ("运输", "道路货物运输（不含危险货物）；汽车租赁", "transport"),
    ("科技", "软件开发；信息技术咨询服务；计算机系统服务", "other"),
    ("建筑工程", "建设工程施工；建筑材料销售", "other"),
    ("农业科技", "谷物种植；农产品收购；农业技术推广服务", "other"),
)
COMPANY_FORMS = (
    ("有限公司", "有限责任公司（自然人投资或控股）"),
    ("有限责任公司", "有限责任公司（自然人独资）"),
    ("股份有限公司", "股份有限公司（非上市、自然人投资或控股）"),
)
BIRTH_FIRST = date(1950, 1, 1)
BIRTH_DAYS = (date(1988, 12, 31) - BIRTH_FIRST).days + 1
PERSON_SLOTS = BIRTH_DAYS * 1000  # (birth day, 3-digit sequence) pairs per area code


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    gender: str  # 男 / 女
    ethnicity: str
    birth: date
    citizen_id: str
    area_code: str
    address: str


@dataclass(frozen=True, slots=True)
class Company:
    name: str
    uscc: str
    area_code: str
    address: str
    legal_representative: str
    form: str  # 类型 REPORTTYPE
    capital: str
    scope: str
    kind: str  # food / transport / other
    established: date


def place(area_code: str) -> tuple[str, str]:
    """(province name, prefecture name) of an area code; the prefecture may be ``""``."""
    return area_name(province_code(area_code)) or "", prefecture_name(area_code) or ""


def short_place(area_code: str) -> str:
    """哈尔滨市 → 哈尔滨, 大兴安岭地区 → 大兴安岭, 延边朝鲜族自治州 → 延边; else the province."""
    province, prefecture = place(area_code)
    name = prefecture or province
    for suffix in ("朝鲜族自治州", "地区", "市", "省"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def address(rng: random.Random, area_code: str, *, home: bool) -> str:
    province, prefecture = place(area_code)
    districts = DISTRICTS.get(f"{area_code[:4]}00", ("",))
    street = f"{rng.choice(districts)}{rng.choice(ROADS)}{rng.randint(1, 399)}号"
    if home:
        building, unit = rng.randint(1, 30), rng.randint(1, 6)
        street += f"{building}栋{unit}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}室"
    return province + prefecture + street


def person_name(rng: random.Random, gender: str) -> str:
    chars = MALE if gender == "男" else FEMALE
    given = "".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def make_person(
    rng: random.Random, area_code: str, *, slot: int | None = None, gender: str | None = None
) -> Person:
    """A person registered in ``area_code``; ``slot`` < PERSON_SLOTS fixes birth and sequence."""
    if slot is None:
        sequence = rng.randrange(1000)
        if gender is not None and (sequence % 2 == 1) != (gender == "男"):
            sequence ^= 1  # GB 11643: an odd sequence is a man
        birth = BIRTH_FIRST + timedelta(days=rng.randrange(BIRTH_DAYS))
    else:
        birth = BIRTH_FIRST + timedelta(days=slot // 1000)
        sequence = slot % 1000
    sex = "男" if sequence % 2 else "女"
    return Person(
        name=person_name(rng, sex),
        gender=sex,
        ethnicity=rng.choice(ETHNICITIES),
        birth=birth,
        citizen_id=make_citizen_id(area_code, birth, sequence),
        area_code=area_code,
        address=address(rng, area_code, home=True),
    )


def make_company(
    rng: random.Random, area_code: str, *, number: int | None = None, kind: str | None = None
) -> Company:
    """A company registered in ``area_code``; ``number`` fixes its organisation code."""
    industries = [row for row in INDUSTRIES if kind is None or row[2] == kind]
    industry, scope, industry_kind = rng.choice(industries)
    suffix, form = rng.choice(COMPANY_FORMS)
    code = number if number is not None else rng.randrange(10**8)
    return Company(
        name=f"{short_place(area_code)}{rng.choice(TRADE_NAMES)}{industry}{suffix}",
        uscc=company_uscc(area_code, code),
        area_code=area_code,
        address=address(rng, area_code, home=False),
        legal_representative=person_name(rng, rng.choice("男女")),
        form=form,
        capital=f"{rng.choice((50, 100, 200, 300, 500, 1000, 2000, 5000))}万元人民币",
        scope=scope,
        kind=industry_kind,
        established=date(rng.randint(1998, 2022), rng.randint(1, 12), rng.randint(1, 28)),
    )
