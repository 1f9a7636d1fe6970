"""The route and per-hop timing a response carries back along the cascade (SPEC §5).

``X-Ecert-Route`` is the comma-separated ids of every node that handled a request, in the order
first reached, starting with the entry node. ``Server-Timing`` holds one ``<node>;dur=<ms>`` entry
per node: that node's whole handling time, downstream hops included.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

Timing = tuple[str, float]  # (node id, milliseconds)

_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Headers exactly as this implementation writes them: what ``extend_*`` may pass on unparsed.
_ID = r"[a-z0-9][a-z0-9-]*"
_DUR = r";dur=(?:0|[1-9]\d{0,8})\.\d\d"  # as ``f"{ms:.2f}"`` writes it
_CLEAN_ROUTE = re.compile(rf"{_ID}(?:,{_ID})*")
_CLEAN_TIMING = re.compile(rf"{_ID}{_DUR}(?:, {_ID}{_DUR})*")


def merge_routes(*routes: Iterable[str]) -> list[str]:
    """Concatenate routes in the order given, keeping each node's first appearance.

    A fan-out passes its own id first, then each child's route in topology order.
    """
    seen: set[str] = set()
    merged: list[str] = []
    for route in routes:
        for node_id in route:
            if node_id not in seen:
                seen.add(node_id)
                merged.append(node_id)
    return merged


def encode_route(route: Sequence[str]) -> str:
    return ",".join(route)


def decode_route(header: str | None) -> list[str]:
    """Parse ``X-Ecert-Route``; anything that is not a node id is dropped."""
    if not header:
        return []
    if _CLEAN_ROUTE.fullmatch(header):  # the common case: exactly as a node writes it
        return header.split(",")
    parts = [part.strip() for part in header.split(",")]
    return [part for part in parts if _NODE_ID.match(part)]


def encode_timing(timings: Iterable[Timing]) -> str:
    return ", ".join(f"{node_id};dur={ms:.2f}" for node_id, ms in timings)


def decode_timing(header: str | None) -> list[Timing]:
    """Parse ``Server-Timing`` entries ``name;dur=ms[;desc=..]``; malformed entries are dropped."""
    if not header:
        return []
    timings: list[Timing] = []
    for entry in header.split(","):
        name, _, rest = entry.partition(";")
        name = name.strip()
        if not rest or not _NODE_ID.match(name):
            continue
        for param in rest.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "dur":
                with contextlib.suppress(ValueError):
                    timings.append((name, float(value.strip().strip('"'))))
                break
    return timings


def extend_route(node_id: str, header: str | None) -> str | None:
    """``node_id`` followed by a single downstream hop's ``X-Ecert-Route``, without parsing it.

    The same text as ``encode_route(merge_routes([node_id], decode_route(header)))`` whenever
    this answers; None when the header is not exactly as a node writes it (empty, spaces, odd
    ids, repeated ids or ``node_id`` itself), for the caller to take the parsing path.
    """
    if not header or not _CLEAN_ROUTE.fullmatch(header):
        return None
    parts = header.split(",")
    if node_id in parts or len(set(parts)) != len(parts):
        return None
    return f"{node_id},{header}"


def extend_timing(node_id: str, ms: float, header: str | None) -> str | None:
    """``node_id;dur=ms`` followed by a single downstream hop's ``Server-Timing``, unparsed.

    The same text as ``encode_timing(merge_timings([(node_id, ms)], decode_timing(header)))``
    whenever this answers; None when the header is not exactly as a node writes it.
    """
    if not header or not _CLEAN_TIMING.fullmatch(header):
        return None
    names = [entry.partition(";")[0] for entry in header.split(", ")]
    if node_id in names or len(set(names)) != len(names):
        return None
    return f"{node_id};dur={ms:.2f}, {header}"


def merge_timings(*timings: Iterable[Timing]) -> list[Timing]:
    """Concatenate per-hop timings, keeping the first entry of each node (as ``merge_routes``)."""
    seen: set[str] = set()
    merged: list[Timing] = []
    for group in timings:
        for node_id, ms in group:
            if node_id not in seen:
                seen.add(node_id)
                merged.append((node_id, ms))
    return merged


# -- fan-out: combining the answers of several nodes (SPEC §3.4, §5) ------------------------------
_USABLE = frozenset({0, 31})
_UNUSABLE = frozenset({21, 22, 23})  # revoked/cancelled, expired, restricted


def combine_codes(codes: Sequence[int]) -> int:
    """The return code of a fan-out from its parts' codes (local first, then children in order).

    Some usable → 0, or 31 when any part failed or was itself partial. None usable: every part
    reached → the first of 21/22/23 if any, else 10; some failed → 31 (what was reached is
    empty); all failed → their common code, else 30.
    """
    failed = [code for code in codes if code not in _USABLE | _UNUSABLE and code != 10]
    if any(code in _USABLE for code in codes):
        return 31 if failed or 31 in codes else 0
    if not failed:
        return next((code for code in codes if code in _UNUSABLE), 10)
    if len(failed) < len(codes):
        return 31
    return failed[0] if len(set(failed)) == 1 else 30


def merge_data(method: str, parts: Sequence[Any]) -> Any:
    """The ``data`` of a fan-out from its usable parts' ``data``, in the order given.

    Lists are concatenated (``total`` recounted); a by-holder VerifyCertificate is true when any
    part verified the certificate data, else false with every part's ``verifyMessage``.
    """
    if method == "VerifyCertificate":
        verified = any(isinstance(p, dict) and p.get("verifyResult") == "true" for p in parts)
        if verified:
            return {"verifyResult": "true"}
        why = [p["verifyMessage"] for p in parts if isinstance(p, dict) and p.get("verifyMessage")]
        return {"verifyResult": "false", **({"verifyMessage": " | ".join(why)} if why else {})}
    items: list[Any] = []
    for part in parts:
        listed = part.get("dataList") if isinstance(part, dict) else None
        if isinstance(listed, list):
            items.extend(listed)
    return {"total": str(len(items)), "dataList": items}
