"""The wire contract shared by every node and the gateway (SPEC §3.1, §3.4, §5).

Return codes of Appendix D, the JSON envelope, and the ``X-Ecert-*`` headers that carry the
request id, route, hop budget and deadline along the cascade.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType
from typing import Any

import orjson


class ReturnCode(IntEnum):
    """Appendix D return codes; ``message`` is the standard's text."""

    SUCCESS = 0
    UNKNOWN_METHOD = 2
    NOT_FOUND = 10
    AUTH_FAILED = 11
    REQUIRED_PARAMETER_EMPTY = 12
    TYPE_NOT_PUBLISHED = 13
    IP_MISMATCH = 14
    INVALID_PARAMETER = 15
    TOO_FREQUENT = 16
    CERTIFICATE_REVOKED = 21
    CERTIFICATE_EXPIRED = 22
    CERTIFICATE_RESTRICTED = 23
    CASCADE_UNREACHABLE = 30
    PARTIAL_RESULT = 31
    HOP_LIMIT = 32
    OTHER = 99

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES: Mapping[ReturnCode, str] = MappingProxyType(
    {
        ReturnCode.SUCCESS: "接口调用成功",
        ReturnCode.UNKNOWN_METHOD: "证照源未提供此服务接口",
        ReturnCode.NOT_FOUND: "未找到匹配的证照信息",
        ReturnCode.AUTH_FAILED: "身份验证不通过",
        ReturnCode.REQUIRED_PARAMETER_EMPTY: "要求必填的输入参数值不为空",
        ReturnCode.TYPE_NOT_PUBLISHED: "证照类型不存在或未发布",
        ReturnCode.IP_MISMATCH: "访问IP与账号绑定IP不符",
        ReturnCode.INVALID_PARAMETER: "参数值不符合规范",
        ReturnCode.TOO_FREQUENT: "请求过于频繁",
        ReturnCode.CERTIFICATE_REVOKED: "该电子证照已废止或已注销",
        ReturnCode.CERTIFICATE_EXPIRED: "该电子证照已过期",
        ReturnCode.CERTIFICATE_RESTRICTED: "该电子证照已受限使用",
        ReturnCode.CASCADE_UNREACHABLE: "级联共享系统不可达",
        ReturnCode.PARTIAL_RESULT: "部分结果",
        ReturnCode.HOP_LIMIT: "级联跳数超限",
        ReturnCode.OTHER: "其他异常",
    }
)

# The ten §7.3 methods, in the standard's order.
METHODS: tuple[str, ...] = (
    "Token",
    "GetCertificateFileByHolder",
    "GetCertificateFileByCertificateID",
    "GetCertificateDataByHolder",
    "GetCertificateDataByCertificateID",
    "VerifyCertificate",
    "GetCertificatePictureByCertificateID",
    "GetCertificatePictureByHolder",
    "GetCertificateType",
    "Retrieval",
)

# Table 11: the keys of VerifyCertificate's CertificateData, the first eleven of a Table 8 data
# item (the first nine required).
CERTIFICATE_DATA_KEYS: tuple[str, ...] = (
    "certificateType",
    "certificateName",
    "certificateHolder",
    "certificateHolderCode",
    "certificateHolderType",
    "issueDept",
    "issueDeptCode",
    "certificateNumber",
    "issueDate",
    "certificateValidateStart",
    "certificateValidateEnd",
)

# Headers carried along the cascade (SPEC §5).
HEADER_REQUEST_ID = "X-Ecert-Request-Id"
HEADER_ROUTE = "X-Ecert-Route"
HEADER_HOPS = "X-Ecert-Hops"  # remaining hop budget
HEADER_DEADLINE_MS = "X-Ecert-Deadline-Ms"  # remaining time budget in milliseconds
HEADER_CALLER = "X-Ecert-Caller"  # original caller assertion, for the audit log only
HEADER_EXPLAIN = "X-Ecert-Explain"
HEADER_TIMING = "Server-Timing"  # per-hop handling time, "node;dur=ms" entries

DEFAULT_HOP_BUDGET = 8
DEFAULT_DEADLINE_MS = 3000


def envelope(code: ReturnCode, data: Any = None, message: str | None = None) -> dict[str, Any]:
    """Build the Appendix C envelope; ``status`` is always a string."""
    body: dict[str, Any] = {"head": {"status": str(int(code)), "message": message or code.message}}
    body["data"] = {} if data is None else data
    return body


def list_data(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Lists come as ``data.total`` (a string count) and ``data.dataList``."""
    return {"total": str(len(items)), "dataList": items}


def dumps(body: Any) -> bytes:
    return orjson.dumps(body)


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)
