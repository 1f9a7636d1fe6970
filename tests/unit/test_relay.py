"""A single neighbour's answer is passed back as it came when that is the same as rewriting it."""

from __future__ import annotations

import pytest

from gateway.core.forwarder import Reply
from gateway.core.protocol import ReturnCode, dumps, envelope, list_data, loads
from nodes.call import Relayed
from nodes.cascade import _relayed

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


def test_passing_on_extends_the_trace_and_leaves_the_answer_as_it_was() -> None:
    raw = dumps(envelope(ReturnCode.SUCCESS, DATA))
    relayed = _relayed(reply(raw), "hlj")
    assert relayed is not None
    passed = relayed.through("hlj", 4.5)
    assert passed is not None
    assert passed.body is raw
    assert passed.route_header == f"hlj,{ROUTE}"
    assert passed.timing_header == f"hlj;dur=4.50, {TIMING}"
    assert (relayed.route_header, relayed.timing_header) == (ROUTE, TIMING)  # a new value


def test_a_timing_header_not_as_a_node_writes_it_is_parsed_instead() -> None:
    raw = dumps(envelope(ReturnCode.SUCCESS, DATA))
    relayed = _relayed(reply(raw, timing="national;dur=3.25;desc=x"), "hlj")
    assert relayed is not None
    assert relayed.through("hlj", 4.5) is None
    assert relayed.parsed().timings == [("national", 3.25)]


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
