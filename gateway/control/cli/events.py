"""``ecert events``: the network's event stream in time order (``gateway.control.events``)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gateway.control.cli.common import add_global_options, add_json_option
from gateway.control.events import EventFilter, Record, follow_events, read_events
from gateway.control.faults import parse_duration
from gateway.control.state import StateDir

_SHOWN_FIRST = ("ts", "node", "by", "event", "request_id")


def add_parsers(subparsers: Any) -> None:
    events = subparsers.add_parser(
        "events",
        help="every node's events in time order (requests, forwards, batches, faults)",
        description="The event stream of the network: each node's <state>/events/<node>.jsonl "
        "and the control file, merged in time order. A request's records come in the order it "
        "reached the nodes.",
    )
    events.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    events.add_argument("--node", metavar="ID", help="only events about this node")
    events.add_argument("--request-id", metavar="ID", help="only the events of this request")
    events.add_argument("--event", metavar="NAME", help="only this event (or prefix: fault.)")
    events.add_argument(
        "--since", type=_since, metavar="WHEN", help="from this time (ISO 8601) or ago (10m)"
    )
    add_json_option(events)
    events.set_defaults(handler=run_events)
    add_global_options(events, subcommand=True)


def run_events(args: argparse.Namespace) -> int:
    state = StateDir(args.state_dir)
    wanted = EventFilter(
        node=args.node,
        request_id=args.request_id,
        event=args.event,
        since=args.since,
    )
    show = _json_line if args.json else _text_line
    if not args.follow:
        for record in read_events(state, wanted):
            print(show(record))
        return 0
    try:
        asyncio.run(_follow(state, wanted, show))
    except KeyboardInterrupt:  # the way to end --follow
        return 0
    return 0


async def _follow(state: StateDir, wanted: EventFilter, show: Any) -> None:
    async for record in follow_events(state, wanted):
        print(show(record), flush=True)


def _since(text: str) -> str:
    """A ``ts`` bound from ISO 8601 (local time when it names no zone) or a duration ago."""
    try:
        ago = parse_duration(text)
    except ValueError:
        ago = None
    if ago is not None:
        return (datetime.now(UTC) - timedelta(seconds=ago)).isoformat(timespec="microseconds")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time (2026-12-06T10:00) nor a time ago (10m)"
        ) from None
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _json_line(record: Record) -> str:
    return orjson.dumps(record).decode()


def _text_line(record: Record) -> str:
    """``10:00:00.123456 hlj-harbin request.handled method=… status=0 route=a,b ms=7.1``."""
    try:
        when = datetime.fromisoformat(str(record["ts"])).astimezone().strftime("%H:%M:%S.%f")
    except (KeyError, ValueError):
        when = str(record.get("ts", "?"))
    who = str(record.get("node") or record.get("by") or "-")
    if record.get("by") and record.get("node"):
        who = f"{record['node']} (by {record['by']})"
    rest = [
        f"{key}={_value(key, value)}" for key, value in record.items() if key not in _SHOWN_FIRST
    ]
    if "request_id" in record:
        rest.append(f"request_id={record['request_id']}")
    return f"{when} {who:<24} {record.get('event', '?'):<20} {' '.join(rest)}"


def _value(key: str, value: Any) -> str:
    if key == "route" and isinstance(value, list):
        return ",".join(str(part) for part in value)
    if key == "timings" and isinstance(value, list):
        return ",".join(
            f"{item.get('node')}:{item.get('ms')}" for item in value if isinstance(item, dict)
        )
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    text = str(value)
    return repr(text) if " " in text else text
