"""Code sets of Appendix A (SPEC §2.4) and the B.2 status codes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from nodes.model.identifiers import is_uscc

# A.1 行政区划代码 (GB/T 2260): the provinces, and the prefecture-level units of the provinces the
# demo network models. A code is valid when its province is known and, for a province listed in
# PREFECTURES, its prefecture is one of them.
PROVINCES: Mapping[str, str] = MappingProxyType(
    {
        "110000": "北京市",
        "120000": "天津市",
        "130000": "河北省",
        "140000": "山西省",
        "150000": "内蒙古自治区",
        "210000": "辽宁省",
        "220000": "吉林省",
        "230000": "黑龙江省",
        "310000": "上海市",
        "320000": "江苏省",
        "330000": "浙江省",
        "340000": "安徽省",
        "350000": "福建省",
        "360000": "江西省",
        "370000": "山东省",
        "410000": "河南省",
        "420000": "湖北省",
        "430000": "湖南省",
        "440000": "广东省",
        "450000": "广西壮族自治区",
        "460000": "海南省",
        "500000": "重庆市",
        "510000": "四川省",
        "520000": "贵州省",
        "530000": "云南省",
        "540000": "西藏自治区",
        "610000": "陕西省",
        "620000": "甘肃省",
        "630000": "青海省",
        "640000": "宁夏回族自治区",
        "650000": "新疆维吾尔自治区",
        "710000": "台湾省",
        "810000": "香港特别行政区",
        "820000": "澳门特别行政区",
    }
)
PREFECTURES: Mapping[str, str] = MappingProxyType(
    {
        "230100": "哈尔滨市",
        "230200": "齐齐哈尔市",
        "230300": "鸡西市",
        "230400": "鹤岗市",
        "230500": "双鸭山市",
        "230600": "大庆市",
        "230700": "伊春市",
        "230800": "佳木斯市",
        "230900": "七台河市",
        "231000": "牡丹江市",
        "231100": "黑河市",
        "231200": "绥化市",
        "232700": "大兴安岭地区",
        "220100": "长春市",
        "220200": "吉林市",
        "220300": "四平市",
        "220400": "辽源市",
        "220500": "通化市",
        "220600": "白山市",
        "220700": "松原市",
        "220800": "白城市",
        "222400": "延边朝鲜族自治州",
    }
)
_AREA = re.compile(r"^\d{6}$")


def area_name(code: str) -> str | None:
    return PREFECTURES.get(code) or PROVINCES.get(code)


def is_area_code(code: str) -> bool:
    """A GB/T 2260 code as far as A.1 here knows it (province, prefecture, county under them)."""
    if not _AREA.match(code) or f"{code[:2]}0000" not in PROVINCES:
        return False
    if code.endswith("0000"):
        return True
    listed = {c[:4] for c in PREFECTURES if c[:2] == code[:2]}
    return not listed or code[:4] in listed


def in_jurisdiction(code: str, prefix: str | None) -> bool:
    """``prefix`` is what ``Topology.jurisdiction`` returns: None means anywhere."""
    return prefix is None or code.startswith(prefix)


class HolderType(StrEnum):
    """A.2 持证主体代码类型."""

    USCC = "001"  # 统一社会信用代码
    OTHER_ORGANISATION = "099"  # 其他法人或其他组织有效证件代码
    CITIZEN_ID = "111"  # 公民身份号码
    OFFICER = "114"  # 军官证
    ARMED_POLICE_OFFICER = "115"  # 武警警官证
    SOLDIER = "118"  # 士兵证
    ARMED_POLICE_SOLDIER = "119"  # 武警士兵证
    CIVILIAN_STAFF = "120"  # 文职人员证
    ARMED_POLICE_CIVILIAN = "122"  # 武警文职人员证
    DIPLOMATIC_PASSPORT = "411"  # 外交护照
    SERVICE_PASSPORT = "412"  # 公务护照
    PUBLIC_AFFAIRS_PASSPORT = "413"  # 公务普通护照
    PASSPORT = "414"  # 普通护照
    TAIWAN_PERMIT = "511"  # 台湾居民来往大陆通行证
    HK_MACAO_PERMIT = "516"  # 港澳居民来往内地通行证
    OTHER_PERSON = "999"  # 其他自然人有效证件代码


HOLDER_TYPE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "001": "统一社会信用代码",
        "099": "其他法人或其他组织有效证件代码",
        "111": "公民身份号码",
        "114": "军官证",
        "115": "武警警官证",
        "118": "士兵证",
        "119": "武警士兵证",
        "120": "文职人员证",
        "122": "武警文职人员证",
        "411": "外交护照",
        "412": "公务护照",
        "413": "公务普通护照",
        "414": "普通护照",
        "511": "台湾居民来往大陆通行证",
        "516": "港澳居民来往内地通行证",
        "999": "其他自然人有效证件代码",
    }
)


class CertificateStatus(StrEnum):
    """B.2 证照状态."""

    NORMAL = "01"  # 正常
    CANCELLED = "02"  # 注销
    REVOKED = "03"  # 吊销
    LOST = "04"  # 挂失
    SUSPENDED = "05"  # 暂扣


class CdOperation(StrEnum):
    """E.1 cd_operation."""

    INSERT = "I"
    UPDATE = "U"
    DELETE = "D"


_DATA_SOURCE = re.compile(r"^[0-9][0-9A-Za-z]{2}$")
_TYPE_CODE = re.compile(r"^[0-9A-Z]{18}\d{3}$")


def is_data_source(code: str) -> bool:
    """A.3: 3 characters, ``0xx`` provincial departments, ``1xx`` cities."""
    return bool(_DATA_SOURCE.match(code))


def is_type_code(code: str) -> bool:
    """A.4 证照类型代码: an 18-char USCC of the defining authority + a 3-digit sequence."""
    return bool(_TYPE_CODE.match(code)) and is_uscc(code[:18])
