"""A single neighbour's answer is passed back as it came when that is the same as rewriting it."""

from __future__ import annotations

import pytest

from gateway.core.forwarder import Reply
from gateway.core.protocol import ReturnCode, dumps, envelope, list_data, loads
from nodes.cascade import _relayed
from nodes.sharing.call import Relayed

ROUTE = "national,jl,jl-changchun"
TIMING = "national;dur=3.25, jl;dur=2.00, jl-changchun;dur=0.75"
DATA = list_data([{"certificateNumber": "N1"}])


def reply(raw: bytes, route: str = ROUTE, timing: str = TIMING) -> Reply:
    return Reply("national", loads(raw), raw, route, timing)


def test_the_bytes_pass_as_they_came_and_parse_back_to_the_same_answer() -> None:
    raw = b'{"head": {"status": "0", "message": "ok"}, "data": ' + dumps(DATA) + b"}"
    relayed = _relayed(reply(raw), "hlj")
    assert isinstance(relayed, Relayed)
    assert relayed.body is raw  # not parsed and written again: the spaces are still there
    assert (relayed.code, relayed.data, relayed.message) == (ReturnCode.SUCCESS, DATA, "ok")
    assert relayed.route == ["national", "jl", "jl-changchun"]
    plain = relayed.parsed()
    assert not isinstance(plain, Relayed)
    assert plain.timings == [("national", 3.25), ("jl", 2.0), ("jl-changchun", 0.75)]
    assert (plain.code, plain.data, plain.route) == (relayed.code, DATA, relayed.route)


@pytest.mark.parametrize(
    ("raw", "route", "timing"),
    [
        (b'{"head":{"status":"77","message":"?"},"data":{}}', ROUTE, TIMING),  # unknown code
        (b'{"head":{"status":"07","message":"x"},"data":{}}', ROUTE, TIMING),
        (b'{"head":{"status":0,"message":"x"},"data":{}}', ROUTE, TIMING),
        (b'{"head":{"status":"0","message":""},"data":{}}', ROUTE, TIMING),
        (b'{"head":{"message":"x","status":"0"},"data":{}}', ROUTE, TIMING),
        (b'{"head":{"status":"0","message":"x"},"data":{},"extra":1}', ROUTE, TIMING),
        (b'{"head":{"status":"0","message":"x"},"data":null}', ROUTE, TIMING),
        (dumps(envelope(ReturnCode.SUCCESS, DATA)), "hlj,national", TIMING),  # a loop
        (dumps(envelope(ReturnCode.SUCCESS, DATA)), " national", TIMING),
        (dumps(envelope(ReturnCode.SUCCESS, DATA)), "", TIMING),
    ],
)
def test_anything_a_rewrite_would_change_takes_the_parsing_path(
    raw: bytes, route: str, timing: str
) -> None:
    assert _relayed(reply(raw, route, timing), "hlj") is None
