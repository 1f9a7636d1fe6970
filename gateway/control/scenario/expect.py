"""A call's answer against what the scenario expects (pure: no I/O), and how a failure reads.

``mismatches(expect, result)`` lists one line per expectation the answer breaks; ``describe``
writes what a report shows of a call: status, route, per-hop times, and the explain plan of the
same call when there is one (``X-Ecert-Explain: 1``).
"""

from __future__ import annotations

from typing import Any

from gateway.control.app_client import CallResult
from gateway.control.scenario.values import Expect

_MISSING = object()


def route_text(route: list[str]) -> str:
    return " → ".join(route) if route else "(none)"


def mismatches(expect: Expect, result: CallResult) -> list[str]:
    """What of ``expect`` the answer does not meet; [] when it meets all of it."""
    found: list[str] = []
    head = result.envelope.get("head", {})
    if result.status != expect.status:
        found.append(
            f"status: expected {expect.status}, got {result.status} ({head.get('message', '')})"
        )
    if expect.route is not None and result.route != expect.route:
        found.append(f"route: expected {route_text(expect.route)}, got {route_text(result.route)}")
    data = result.data if isinstance(result.data, dict) else {}
    if expect.total is not None and str(data.get("total")) != str(expect.total):
        found.append(f"total: expected {expect.total}, got {data.get('total')!r}")
    if expect.keys is not None:
        found.extend(_missing_keys(expect.keys, data.get("dataList")))
    if expect.verifyResult is not None:
        wanted = "true" if expect.verifyResult else "false"
        if data.get("verifyResult") != wanted:
            found.append(f"verifyResult: expected {wanted}, got {data.get('verifyResult')!r}")
    for path, wanted_value in (expect.fields or {}).items():
        actual = value_at(data, path)
        if not _same(actual, wanted_value):
            shown = "nothing there" if actual is _MISSING else repr(actual)
            found.append(f"data.{path}: expected {wanted_value!r}, got {shown}")
    if expect.max_ms is not None and result.elapsed_ms > expect.max_ms:
        found.append(
            f"time: expected at most {expect.max_ms:g} ms, took {result.elapsed_ms:.1f} ms"
        )
    return found


def _missing_keys(keys: list[str], items: Any) -> list[str]:
    if not isinstance(items, list) or not items:
        return [f"keys: expected items with {', '.join(keys)}, got no dataList items"]
    found = []
    for index, item in enumerate(items):
        absent = [key for key in keys if not isinstance(item, dict) or key not in item]
        if absent:
            found.append(f"keys: dataList item {index} lacks {', '.join(absent)}")
    return found


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path (list indexes as numbers), ``_MISSING`` when there is none."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _same(actual: Any, wanted: str | int | bool | None) -> bool:
    if actual is _MISSING:
        return False
    if isinstance(wanted, str) and not isinstance(actual, dict | list):
        return ("" if actual is None else str(actual)) == wanted
    return bool(actual == wanted)


def describe(result: CallResult, plan: CallResult | None = None) -> str:
    """The answer as a report shows it, with the explain plan when given."""
    head = result.envelope.get("head", {})
    timing = dict(result.timings)
    hops = ", ".join(f"{node} {timing[node]:.1f} ms" if node in timing else node
                     for node in result.route)  # fmt: skip
    lines = [
        f"answer: status {head.get('status')} {head.get('message', '')}",
        f"route: {route_text(result.route)}",
        f"per hop: {hops or '-'}; {result.elapsed_ms:.1f} ms at the application",
        f"request id: {result.request_id or '-'}",
    ]
    if plan is not None:
        lines.append("explain plan (X-Ecert-Explain: 1):")
        lines.extend(f"  {entry}" for entry in plan_lines(plan))
    return "\n".join(lines)


def plan_lines(plan: CallResult) -> list[str]:
    data = plan.data if isinstance(plan.data, dict) else {}
    entries = data.get("plan")
    if not isinstance(entries, list) or not entries:
        head = plan.envelope.get("head", {})
        return [f"(no plan: status {head.get('status')} {head.get('message', '')})"]
    return [
        f"{entry.get('node')}: {entry.get('decision') or entry.get('plan')}"
        for entry in entries
        if isinstance(entry, dict)
    ]
