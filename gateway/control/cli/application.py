"""The §8 application functions of one node, through its admin API: ``ecert reminders``
(expiry reminders, §8.3.4)."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.control.admin_client import AdminClient
from gateway.control.cli.common import (
    add_global_options,
    add_json_option,
    add_node_option,
    console,
    print_json,
    table,
    with_admin,
)

REMINDER_COLUMNS = (
    "certificateID",
    "certificateName",
    "certificateHolder",
    "certificateHolderCode",
    "certificateValidateEnd",
    "daysLeft",
)


def add_parsers(subparsers: Any) -> None:
    reminders = subparsers.add_parser(
        "reminders", help="certificates of a node expiring soon (§8.3.4 expiry reminders)"
    )
    add_node_option(reminders)
    reminders.add_argument(
        "--within", type=int, metavar="DAYS", help="days ahead (default: the topology's, 30)"
    )
    add_json_option(reminders)
    add_global_options(reminders, subcommand=True)
    reminders.set_defaults(handler=run_reminders)


def run_reminders(args: argparse.Namespace) -> int:
    query = "" if args.within is None else f"?within={args.within}"

    async def call(admin: AdminClient) -> Any:
        return await admin.request("GET", f"/admin/reminders{query}")

    answer = with_admin(args, call)
    if args.json:
        print_json(answer)
        return 0
    rows = answer["reminders"]
    title = (
        f"expiring at {args.node} within {answer['within_days']} days of {answer['today']}"
        f" ({len(rows)}; last published {answer['published_at'] or 'never'})"
    )
    console().print(table(rows, REMINDER_COLUMNS, title=title))
    return 0
