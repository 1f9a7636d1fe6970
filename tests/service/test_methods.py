"""The by-ID and by-holder data, file and picture methods answered from one node's own store."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nodes.sharing.items import DATA_ITEM_KEYS, FILE_ITEM_KEYS
from nodes.synth.catalogue import RESIDENT_ID
from tests.service.certs import citizen, issue, make_certificate
from tests.service.conftest import Node

USE_FOR = "办理户籍业务"
UNPUBLISHED_TYPE = "11100000000013127D999"  # well-formed (A.4), but nobody defined it
FILE_URL = re.compile(r"^http://([0-9.]+):(\d+)/ecert/file[0-9A-F]{32}\.(ofd|pdf|zip)$")


@pytest.fixture
async def creds(node: Node) -> dict[str, str]:
    return await node.login()


def holder(serial: int, **extra: str) -> dict[str, str]:
    return {
        "CertificateHolderCode": citizen(serial),
        "CertificateHolderType": "111",
        "CertificateTypeCode": RESIDENT_ID,
        "UseFor": USE_FOR,
        **extra,
    }


async def call(node: Node, creds: dict[str, str], method: str, **params: Any) -> Any:
    return await node.post(method, data={**creds, **params})


# -- by CertificateID ------------------------------------------------------------------------------
async def test_data_by_id_answers_the_13_keys_of_table_8(node: Node, creds: dict[str, str]) -> None:
    cert = make_certificate(10, expiring="")
    await issue(node.ctx, cert)
    reply = await call(
        node,
        creds,
        "GetCertificateDataByCertificateID",
        CertificateID=cert.CertificateID,
        UseFor=USE_FOR,
    )
    assert reply.code == "0"
    assert reply.body["data"]["total"] == "1"
    [item] = reply.items
    assert tuple(item) == DATA_ITEM_KEYS
    assert item["certificateHolderCode"] == cert.CertificateHolderCode
    assert item["issueDate"] == "2015-03-01"
    assert item["certificateValidateEnd"] == ""  # 长期
    assert all(set(s) == {"name", "columnName", "valueType", "value"} for s in item["surface"])


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": "02"}, "21"),
        ({"status": "03"}, "21"),
        ({"expiring": "2020-01-01"}, "22"),
        ({"status": "04"}, "23"),
        ({"status": "05"}, "23"),
        ({"status": "02", "expiring": "2020-01-01"}, "21"),
    ],
)
async def test_by_id_refuses_unusable_certificates(
    node: Node, creds: dict[str, str], change: dict[str, Any], code: str
) -> None:
    cert = make_certificate(11, **change)
    await issue(node.ctx, cert)
    for method in (
        "GetCertificateDataByCertificateID",
        "GetCertificateFileByCertificateID",
        "GetCertificatePictureByCertificateID",
    ):
        reply = await call(node, creds, method, CertificateID=cert.CertificateID, UseFor=USE_FOR)
        assert reply.code == code, (method, reply.body)
        assert reply.body["data"] == {}


@pytest.mark.parametrize(
    ("params", "code", "named"),
    [
        ({"UseFor": USE_FOR}, "12", "CertificateID"),
        ({"CertificateID": "", "UseFor": USE_FOR}, "12", "CertificateID"),
        ({"CertificateID": "   ", "UseFor": USE_FOR}, "12", "CertificateID"),
        ({"CertificateID": make_certificate(12).CertificateID}, "12", "UseFor"),
        (
            {"CertificateID": make_certificate(12).CertificateID[:-1] + "0", "UseFor": USE_FOR},
            "15",
            "CertificateID",
        ),
        ({"CertificateID": "1.2.156.3005.2.bad", "UseFor": USE_FOR}, "15", "CertificateID"),
        (
            {"CertificateID": make_certificate(12).CertificateID, "UseFor": "用" * 201},
            "15",
            "UseFor",
        ),
    ],
)
async def test_by_id_parameters_are_checked(
    node: Node, creds: dict[str, str], params: dict[str, str], code: str, named: str
) -> None:
    reply = await call(node, creds, "GetCertificateDataByCertificateID", **params)
    assert reply.code == code
    assert named in reply.body["head"]["message"]


async def test_use_for_of_exactly_200_characters_is_fine(node: Node, creds: dict[str, str]) -> None:
    cert = make_certificate(13)
    await issue(node.ctx, cert)
    reply = await call(
        node,
        creds,
        "GetCertificateDataByCertificateID",
        CertificateID=cert.CertificateID,
        UseFor="用" * 200,
    )
    assert reply.code == "0"


async def test_an_id_held_nowhere_here_is_10(node: Node, creds: dict[str, str]) -> None:
    reply = await call(
        node,
        creds,
        "GetCertificateDataByCertificateID",
        CertificateID=make_certificate(14).CertificateID,
        UseFor=USE_FOR,
    )
    assert reply.code == "10"


@pytest.mark.parametrize(
    ("method", "extra", "file_format"),
    [
        ("GetCertificateFileByCertificateID", {}, "ofd"),
        ("GetCertificateFileByCertificateID", {"Format": "pdf"}, "pdf"),
        ("GetCertificatePictureByCertificateID", {}, "zip"),
    ],
)
async def test_file_methods_hand_out_a_file_url(
    node: Node, creds: dict[str, str], method: str, extra: dict[str, str], file_format: str
) -> None:
    cert = make_certificate(15)
    await issue(node.ctx, cert)
    reply = await call(
        node, creds, method, CertificateID=cert.CertificateID, UseFor=USE_FOR, **extra
    )
    assert reply.code == "0"
    [item] = reply.items
    assert tuple(item) == FILE_ITEM_KEYS
    assert item["fileFormat"] == file_format
    match = FILE_URL.match(item["fileUrl"])
    assert match is not None
    assert (match[1], int(match[2]), match[3]) == (
        node.ctx.node.host,
        node.ctx.node.port,
        file_format,
    )


async def test_an_unknown_format_is_15(node: Node, creds: dict[str, str]) -> None:
    cert = make_certificate(16)
    await issue(node.ctx, cert)
    reply = await call(
        node,
        creds,
        "GetCertificateFileByCertificateID",
        CertificateID=cert.CertificateID,
        UseFor=USE_FOR,
        Format="docx",
    )
    assert reply.code == "15"


# -- by holder -------------------------------------------------------------------------------------
async def test_data_by_holder_lists_the_usable_ones(node: Node, creds: dict[str, str]) -> None:
    usable = make_certificate(20, holder=20)
    revoked = make_certificate(21, holder=20, status="03")
    await issue(node.ctx, usable, revoked)
    reply = await call(node, creds, "GetCertificateDataByHolder", **holder(20))
    assert reply.code == "0"
    assert reply.body["data"]["total"] == "1"
    [item] = reply.items
    assert set(item) == set(DATA_ITEM_KEYS)
    assert item["certificateHolder"] == usable.CertificateHolderName
    for surface in item["surface"]:
        assert tuple(surface) == ("name", "columnName", "valueType", "value")


async def test_holder_with_only_unusable_certificates_gets_the_lowest_code(
    node: Node, creds: dict[str, str]
) -> None:
    await issue(
        node.ctx,
        make_certificate(22, holder=22, status="05"),
        make_certificate(23, holder=22, expiring="2021-06-30"),
    )
    reply = await call(node, creds, "GetCertificateDataByHolder", **holder(22))
    assert reply.code == "22"
    await issue(node.ctx, make_certificate(24, holder=22, status="02"))
    reply = await call(node, creds, "GetCertificateDataByHolder", **holder(22))
    assert reply.code == "21"


async def test_holder_number_and_type_narrow_the_match(node: Node, creds: dict[str, str]) -> None:
    cert = make_certificate(25, holder=25)
    await issue(node.ctx, cert)
    wrong_number = await call(
        node, creds, "GetCertificateDataByHolder", **holder(25, CertificateNumber="X1")
    )
    assert wrong_number.code == "10"
    without_holder_type = holder(25)
    del without_holder_type["CertificateHolderType"]
    reply = await call(
        node,
        creds,
        "GetCertificateDataByHolder",
        **without_holder_type,
        CertificateNumber=cert.CertificateNumber,
    )
    assert reply.code == "0"


@pytest.mark.parametrize(
    ("change", "code", "named"),
    [
        ({"CertificateHolderCode": ""}, "12", "CertificateHolderCode"),
        ({"CertificateTypeCode": ""}, "12", "CertificateTypeCode"),
        ({"UseFor": ""}, "12", "UseFor"),
        ({"CertificateHolderCode": "230102199001010011"}, "15", "CertificateHolderCode"),
        (
            {"CertificateHolderType": "001", "CertificateHolderCode": "91610800064834709A"},
            "15",
            "CertificateHolderCode",
        ),
        ({"CertificateHolderType": "222"}, "15", "CertificateHolderType"),
        ({"CertificateTypeCode": "11100000000013127D0011"}, "15", "CertificateTypeCode"),
        ({"CertificateTypeCode": "11100000000013127E001"}, "15", "CertificateTypeCode"),
    ],
)
async def test_by_holder_parameters_are_checked(
    node: Node, creds: dict[str, str], change: dict[str, str], code: str, named: str
) -> None:
    for method in (
        "GetCertificateDataByHolder",
        "GetCertificateFileByHolder",
        "GetCertificatePictureByHolder",
    ):
        reply = await call(node, creds, method, **{**holder(30), **change})
        assert reply.code == code, (method, reply.body)
        assert named in reply.body["head"]["message"]


async def test_nothing_matching_is_10_or_13_for_an_unpublished_type(
    node: Node, creds: dict[str, str]
) -> None:
    nobody = await call(node, creds, "GetCertificateDataByHolder", **holder(31))
    assert nobody.code == "10"
    unknown_type = await call(
        node,
        creds,
        "GetCertificateFileByHolder",
        **holder(31, CertificateTypeCode=UNPUBLISHED_TYPE),
    )
    assert unknown_type.code == "13"


@pytest.mark.parametrize(
    ("method", "extra", "file_format"),
    [
        ("GetCertificateFileByHolder", {}, "ofd"),
        ("GetCertificateFileByHolder", {"Format": "PDF"}, "pdf"),
        ("GetCertificatePictureByHolder", {}, "zip"),
    ],
)
async def test_files_by_holder(
    node: Node, creds: dict[str, str], method: str, extra: dict[str, str], file_format: str
) -> None:
    await issue(node.ctx, make_certificate(32, holder=32), make_certificate(33, holder=32))
    reply = await call(node, creds, method, **holder(32), **extra)
    assert reply.code == "0"
    assert reply.body["data"]["total"] == "2"
    urls = {item["fileUrl"] for item in reply.items}
    assert len(urls) == 2
    assert all(FILE_URL.match(url) for url in urls)
    assert {item["fileFormat"] for item in reply.items} == {file_format}
