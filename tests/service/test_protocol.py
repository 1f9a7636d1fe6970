"""The transport of SPEC §3.1: bodies, method names, headers, and the envelope on every failure."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from nodes.sharing.params import PARAMS
from tests.service.certs import issue, make_certificate
from tests.service.conftest import Node

USE_FOR = "审批"
TIMING = re.compile(r"^hlj-harbin;dur=\d+\.\d{2}$")


@pytest.fixture
async def creds(node: Node) -> dict[str, str]:
    return await node.login()


async def raw_post(node: Node, method: str, body: Any, content_type: str) -> Any:
    return await node.post(method, data=body, headers={"Content-Type": content_type})


@pytest.mark.parametrize("method", ["NoSuchMethod", "getcertificatedatabycertificateid", "token.x"])
async def test_unknown_method_is_2(node: Node, creds: dict[str, str], method: str) -> None:
    reply = await node.post(method, data=creds)
    assert reply.code == "2"
    assert reply.status == 200


async def test_get_instead_of_post_is_2_with_a_clear_message(node: Node) -> None:
    reply = await node.post("GetCertificateType", http_method="GET")
    assert reply.code == "2"
    assert "POST" in reply.body["head"]["message"]


async def test_body_over_one_mib_is_15(node: Node, creds: dict[str, str]) -> None:
    body = urlencode({**creds, "UseFor": "x" * (1024 * 1024)}).encode()
    reply = await raw_post(
        node, "GetCertificateType", io.BytesIO(body), "application/x-www-form-urlencoded"
    )
    assert reply.code == "15"
    assert "1 MiB" in reply.body["head"]["message"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"AccountId=\xff\xfe", "application/x-www-form-urlencoded"),
        (b"AccountId=%FF%FE", "application/x-www-form-urlencoded"),
        (b'{"AccountId": "\xff"}', "application/json"),
        (b'{"AccountId": ', "application/json"),
        (b'["AccountId"]', "application/json"),
        (b"AccountId=a&AccountId=b", "application/x-www-form-urlencoded"),
        (b"--x\r\n", "multipart/form-data; boundary=x"),
    ],
)
async def test_malformed_bodies_are_15(node: Node, body: bytes, content_type: str) -> None:
    reply = await raw_post(node, "GetCertificateType", body, content_type)
    assert reply.code == "15", reply.body


async def test_wrong_json_types_are_15(node: Node, creds: dict[str, str]) -> None:
    cert = make_certificate(60)
    await issue(node.ctx, cert)
    for wrong in (7, ["a"], {"a": 1}, True):
        reply = await node.post(
            "GetCertificateDataByCertificateID",
            json={**creds, "CertificateID": wrong, "UseFor": USE_FOR},
        )
        assert reply.code == "15", (wrong, reply.body)
    good = await node.post(
        "GetCertificateDataByCertificateID",
        json={**creds, "CertificateID": cert.CertificateID, "UseFor": USE_FOR},
    )
    assert good.code == "0"


async def test_json_null_counts_as_missing(node: Node, creds: dict[str, str]) -> None:
    reply = await node.post(
        "GetCertificateDataByCertificateID",
        json={**creds, "CertificateID": None, "UseFor": USE_FOR},
    )
    assert reply.code == "12"


async def test_every_answer_carries_request_id_route_and_timing(
    node: Node, creds: dict[str, str]
) -> None:
    answered = await node.post(
        "GetCertificateType", data=creds, headers={"X-Ecert-Request-Id": "req-42"}
    )
    assert answered.code == "0"
    rejected = await node.post("GetCertificateType", data={"AccountId": "nobody"})
    assert rejected.code == "11"
    broken = await node.post(
        "GetCertificateType",
        data=b"\xff",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert broken.code == "15"
    assert answered.headers["X-Ecert-Request-Id"] == "req-42"
    for reply in (answered, rejected, broken):
        assert re.fullmatch(r"[0-9A-Za-z._:-]{1,64}", reply.headers["X-Ecert-Request-Id"])
        assert reply.headers["X-Ecert-Route"] == "hlj-harbin"
        assert TIMING.match(reply.headers["Server-Timing"]), reply.headers["Server-Timing"]
    assert rejected.headers["X-Ecert-Request-Id"] != broken.headers["X-Ecert-Request-Id"]


async def test_an_unusable_request_id_is_replaced(node: Node, creds: dict[str, str]) -> None:
    reply = await node.post(
        "GetCertificateType", data=creds, headers={"X-Ecert-Request-Id": "x" * 500}
    )
    assert re.fullmatch(r"[0-9a-f]{32}", reply.headers["X-Ecert-Request-Id"])


async def test_a_broken_store_is_99_never_a_traceback(node: Node, creds: dict[str, str]) -> None:
    cert = make_certificate(61)
    await issue(node.ctx, cert)
    await node.ctx.store.db.close()
    reply = await node.post(
        "GetCertificateDataByCertificateID",
        data={**creds, "CertificateID": cert.CertificateID, "UseFor": USE_FOR},
    )
    assert (reply.status, reply.code) == (200, "99")
    assert reply.body["head"]["message"] == "其他异常"
    assert "Traceback" not in reply.raw.decode()


async def test_healthz(node: Node) -> None:
    status, _, body = await node.get(f"{node.ctx.node.url}/healthz")
    assert status == 200
    assert b'"status":"ready"' in body
    assert b'"node":"hlj-harbin"' in body


async def test_openapi_describes_the_ten_methods_and_verify_qr(node: Node) -> None:
    status, _, body = await node.get(f"{node.url}/openapi.json")
    document = orjson.loads(body)
    assert status == 200
    assert document["openapi"].startswith("3.1")
    posts = {
        path.rsplit("/", 1)[1]: spec["post"]
        for path, spec in document["paths"].items()
        if "post" in spec
    }
    assert len(posts) == 11  # the ten methods and VerifyQr (§8.4.2, no account)
    assert "token" in posts
    assert posts["VerifyQr"]["security"] == []
    verify = posts["VerifyCertificate"]["requestBody"]["content"]
    assert set(verify) == {"application/x-www-form-urlencoded", "application/json"}
    ref = verify["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = document["components"]["schemas"][ref]
    assert set(schema["required"]) == {
        "AccountId",
        "AccessToken",
        "CertificateTypeCode",
        "CertificateData",
        "UseFor",
    }
    assert set(schema["properties"]) == set(PARAMS["VerifyCertificate"].model_fields)
    assert "200" in posts["GetCertificateDataByHolder"]["responses"]


@pytest.mark.parametrize("path", ["GetCertificateType/", "a/b", ""])
async def test_any_other_path_under_the_interface_is_2(node: Node, path: str) -> None:
    reply = await node.post(path, data={})
    assert (reply.status, reply.code) == (200, "2")
