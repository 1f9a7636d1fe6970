"""Parameter validation of the ten methods (SPEC §3.2, §3.3): 12 for missing, 15 for malformed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.core.protocol import METHODS, ReturnCode
from nodes.errors import NodeError, ParameterInvalid, ParameterMissing
from nodes.sharing.params import PARAMS, certificate_data, parse_params

CERTIFICATE_ID = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
CITIZEN = "11010519491231002X"
USCC = "91610800064834709T"
TYPE_CODE = "11100000000013127D001"
CREDS = {"AccountId": "acc", "AccessToken": "B76945CD70DE62848CF777C879C2CBCA"}
BY_ID = {**CREDS, "CertificateID": CERTIFICATE_ID, "UseFor": "办事"}
BY_HOLDER = {
    **CREDS,
    "CertificateHolderCode": CITIZEN,
    "CertificateHolderType": "111",
    "CertificateTypeCode": TYPE_CODE,
    "UseFor": "办事",
}
DATA = {
    "certificateType": "居民身份证",
    "certificateName": "居民身份证",
    "certificateHolder": "张三",
    "certificateHolderCode": CITIZEN,
    "certificateHolderType": "111",
    "issueDept": "某公安局",
    "issueDeptCode": USCC,
    "certificateNumber": CITIZEN,
    "issueDate": "1995年3月1日",
}
VERIFY = {
    **CREDS,
    "CertificateTypeCode": TYPE_CODE,
    "CertificateData": orjson.dumps(DATA).decode(),
    "UseFor": "核验",
}


def failure(method: str, raw: dict[str, Any]) -> NodeError:
    with pytest.raises(NodeError) as caught:
        parse_params(method, raw)
    return caught.value


def test_every_method_has_a_model_with_the_standard_names() -> None:
    assert set(PARAMS) == set(METHODS)
    assert list(PARAMS["GetCertificateFileByHolder"].model_fields) == [
        "AccountId",
        "AccessToken",
        "CertificateHolderCode",
        "CertificateHolderType",
        "CertificateTypeCode",
        "CertificateNumber",
        "UseFor",
        "Format",
    ]
    assert list(PARAMS["Token"].model_fields) == ["AccountId"]
    assert list(PARAMS["GetCertificateType"].model_fields) == ["AccountId", "AccessToken"]


def test_valid_parameters_come_back_as_strings_without_the_absent_ones() -> None:
    assert parse_params("GetCertificateDataByCertificateID", {**BY_ID, "Extra": "x"}) == BY_ID
    params = parse_params("GetCertificateDataByHolder", {**BY_HOLDER, "CertificateNumber": " "})
    assert "CertificateNumber" not in params


@pytest.mark.parametrize(
    ("method", "raw", "named"),
    [
        ("GetCertificateDataByCertificateID", {**BY_ID, "UseFor": ""}, "UseFor"),
        ("GetCertificateDataByCertificateID", {**BY_ID, "CertificateID": None}, "CertificateID"),
        (
            "GetCertificateFileByHolder",
            {**BY_HOLDER, "CertificateTypeCode": "  "},
            "CertificateTypeCode",
        ),
        ("Retrieval", {**CREDS, "UseFor": "x"}, "CertificateHolderCode"),
        ("Token", {}, "AccountId"),
        ("GetCertificateType", {"AccountId": "a"}, "AccessToken"),
        ("VerifyCertificate", {**VERIFY, "CertificateData": ""}, "CertificateData"),
        (
            "VerifyCertificate",
            {**VERIFY, "CertificateData": orjson.dumps({**DATA, "issueDeptCode": ""}).decode()},
            "CertificateData.issueDeptCode",
        ),
    ],
)
def test_missing_or_empty_required_is_12_naming_it(
    method: str, raw: dict[str, Any], named: str
) -> None:
    error = failure(method, raw)
    assert isinstance(error, ParameterMissing)
    assert error.code is ReturnCode.REQUIRED_PARAMETER_EMPTY
    assert error.parameter == named


@pytest.mark.parametrize(
    ("method", "raw", "named"),
    [
        ("GetCertificateDataByCertificateID", {**BY_ID, "UseFor": "x" * 201}, "UseFor"),
        (
            "GetCertificateDataByCertificateID",
            {**BY_ID, "CertificateID": CERTIFICATE_ID[:-1] + "G"},
            "CertificateID",
        ),
        ("GetCertificateDataByCertificateID", {**BY_ID, "CertificateID": 12}, "CertificateID"),
        (
            "GetCertificateDataByCertificateID",
            {**BY_ID, "CertificateID": [CERTIFICATE_ID]},
            "CertificateID",
        ),
        (
            "GetCertificateDataByHolder",
            {**BY_HOLDER, "CertificateHolderType": "110"},
            "CertificateHolderType",
        ),
        (
            "GetCertificateDataByHolder",
            {**BY_HOLDER, "CertificateHolderCode": CITIZEN[:-1] + "1"},
            "CertificateHolderCode",
        ),
        (
            "GetCertificateDataByHolder",
            {**BY_HOLDER, "CertificateHolderType": "001", "CertificateHolderCode": USCC[:-1] + "A"},
            "CertificateHolderCode",
        ),
        (
            "GetCertificatePictureByHolder",
            {**BY_HOLDER, "CertificateTypeCode": "D001"},
            "CertificateTypeCode",
        ),
        (
            "Retrieval",
            {**BY_HOLDER, "CertificateTypeCode": "11100000000013127D00A"},
            "CertificateTypeCode",
        ),
        ("GetCertificateFileByCertificateID", {**BY_ID, "Format": "docx"}, "Format"),
        ("VerifyCertificate", {**VERIFY, "CertificateData": "{"}, "CertificateData"),
        ("VerifyCertificate", {**VERIFY, "CertificateData": '"text"'}, "CertificateData"),
        (
            "VerifyCertificate",
            {**VERIFY, "CertificateData": {**DATA, "issueDate": "昨天"}},
            "CertificateData.issueDate",
        ),
        (
            "VerifyCertificate",
            {**VERIFY, "CertificateData": {**DATA, "certificateName": 5}},
            "CertificateData.certificateName",
        ),
        ("VerifyCertificate", {**VERIFY, "CertificateID": "1.2.3"}, "CertificateID"),
    ],
)
def test_malformed_values_are_15_naming_them(method: str, raw: dict[str, Any], named: str) -> None:
    error = failure(method, raw)
    assert isinstance(error, ParameterInvalid)
    assert error.code is ReturnCode.INVALID_PARAMETER
    assert error.parameter == named
    assert named in error.message


def test_holder_codes_are_checked_only_for_types_001_and_111() -> None:
    passport = {**BY_HOLDER, "CertificateHolderType": "414", "CertificateHolderCode": "E12345678"}
    params = parse_params("GetCertificateDataByHolder", passport)
    assert params["CertificateHolderCode"] == "E12345678"
    no_type = {k: v for k, v in BY_HOLDER.items() if k != "CertificateHolderType"}
    assert parse_params("GetCertificateDataByHolder", {**no_type, "CertificateHolderCode": "X"})


def test_certificate_data_is_normalised_and_accepted_as_object_or_string() -> None:
    from_form = parse_params("VerifyCertificate", VERIFY)
    from_json = parse_params("VerifyCertificate", {**VERIFY, "CertificateData": DATA})
    assert from_form == from_json
    data = certificate_data(from_form)
    assert data["issueDate"] == "1995-03-01"
    assert "certificateValidateEnd" not in data
    long_term = parse_params(
        "VerifyCertificate",
        {**VERIFY, "CertificateData": {**DATA, "certificateValidateEnd": "长期"}},
    )
    assert certificate_data(long_term)["certificateValidateEnd"] == ""


def test_format_is_case_insensitive() -> None:
    params = parse_params("GetCertificateFileByHolder", {**BY_HOLDER, "Format": " PDF "})
    assert params["Format"] == "pdf"
