"""Code sets of Appendix A (SPEC §2.4) and the B.2 status codes; A.1 (GB/T 2260) is in
``gateway.core.areas``, which the topology check shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from nodes.model.identifiers import is_uscc


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
