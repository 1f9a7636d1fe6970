"""Field types shared by the models: a value of this type has passed its code-set check."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from gateway.core.areas import is_area_code
from nodes.model.codes import is_type_code
from nodes.model.dates import normalise_date, normalise_optional_date
from nodes.model.identifiers import is_uscc, parse_certificate_id


def _type_code(value: str) -> str:
    if not is_type_code(value):
        raise ValueError("must be an 18-char USCC of the defining authority + 3 digits (A.4)")
    return value


def _uscc(value: str) -> str:
    if not is_uscc(value):
        raise ValueError("must be a valid 统一社会信用代码 (GB 32100)")
    return value


def _area_code(value: str) -> str:
    if not is_area_code(value):
        raise ValueError(f"{value!r} is not a GB/T 2260 code (A.1)")
    return value


def _certificate_id(value: str) -> str:
    parse_certificate_id(value)
    return value


TypeCode = Annotated[str, AfterValidator(_type_code)]
Uscc = Annotated[str, AfterValidator(_uscc)]
AreaCode = Annotated[str, AfterValidator(_area_code)]
CertificateId = Annotated[str, AfterValidator(_certificate_id)]
IsoDate = Annotated[str, AfterValidator(normalise_date)]  # stored as YYYY-MM-DD
OptionalIsoDate = Annotated[str, AfterValidator(normalise_optional_date)]  # "" means 长期
