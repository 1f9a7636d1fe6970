"""Generated bodies thrown at every method: always the envelope and an Appendix D code, never 99,
never a 500 — whatever the body (random dicts, bytes, strings, wrong types, huge values)."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.core.protocol import METHODS
from nodes.sharing.params import PARAMS
from tests.service.conftest import Node

APPENDIX_D = {"0", "2", "10", "11", "12", "13", "14", "15", "16", "21", "22", "23"}
NAMES = sorted({name for model in PARAMS.values() for name in model.model_fields} | {"Format"})

names = st.sampled_from(NAMES) | st.text(max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "长期", "1995年3月1日", "{}", "[]"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=8,
)
huge = st.integers(min_value=1, max_value=1_200_000).map(lambda n: "證" * (n // 3))


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """(path method, Content-Type, body)."""
    method = draw(st.sampled_from([*METHODS, "token", "Nope", "getcertificatetype"]))
    kind = draw(st.sampled_from(["json", "form", "bytes", "text", "huge"]))
    if kind == "json":
        body = json.dumps(draw(st.dictionaries(names, json_values, max_size=8))).encode()
        return method, "application/json", body
    if kind == "form":
        fields = draw(st.dictionaries(names, st.text(max_size=60), max_size=8))
        return method, "application/x-www-form-urlencoded", urlencode(fields).encode()
    if kind == "bytes":
        return (
            method,
            draw(st.sampled_from(["application/json", "text/plain", ""])),
            draw(st.binary(max_size=600)),
        )
    if kind == "text":
        return method, "application/x-www-form-urlencoded", draw(st.text(max_size=600)).encode()
    field = draw(st.sampled_from(NAMES))
    return method, "application/x-www-form-urlencoded", urlencode({field: draw(huge)}).encode()


def with_credentials(body: bytes, content_type: str, creds: dict[str, str]) -> bytes:
    """Add valid credentials so the body reaches parameter validation (when it can hold them)."""
    if content_type == "application/json":
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body
        return orjson.dumps({**creds, **value}) if isinstance(value, dict) else body
    if content_type == "application/x-www-form-urlencoded":
        return urlencode(creds).encode() + b"&" + body
    return body


@pytest.fixture
async def creds(node: Node) -> dict[str, str]:
    return await node.login(rate_limit=1e9)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests(), authenticated=st.booleans())
@example(  # just under 1 MiB: read, then refused for its length (15)
    request=(
        "GetCertificateDataByHolder",
        "application/x-www-form-urlencoded",
        urlencode({"UseFor": "x" * 1_000_000}).encode(),
    ),
    authenticated=True,
)
@example(  # over 1 MiB: refused before parsing (15)
    request=("Retrieval", "application/json", orjson.dumps({"UseFor": "x" * 1_100_000})),
    authenticated=True,
)
async def test_any_body_gets_an_envelope_and_a_standard_code(
    node: Node, creds: dict[str, str], request: tuple[str, str, bytes], authenticated: bool
) -> None:
    method, content_type, body = request
    if authenticated:
        body = with_credentials(body, content_type, creds)
    headers = {"Content-Type": content_type} if content_type else {}
    reply = await node.post(method, data=io.BytesIO(body), headers=headers)
    head: dict[str, Any] = reply.body["head"]
    # a body over 1 MiB for a method that exists is refused before reading: HTTP 413, code 15
    too_big = len(body) > 1024 * 1024 and head["status"] != "2"
    assert (reply.status, head["status"]) == ((413, "15") if too_big else (200, head["status"]))
    assert head["status"] in APPENDIX_D, reply.body
    assert isinstance(head["message"], str)
    assert head["message"]
    assert isinstance(reply.body["data"], dict)
