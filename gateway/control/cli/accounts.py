"""``ecert account create|list|disable``: application accounts of one node (SPEC §4)."""

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
    rows_of,
    table,
    with_admin,
)

COLUMNS = ("AccountId", "ip", "name", "kind", "rate_limit", "disabled")


def add_parsers(subparsers: Any) -> None:
    group = subparsers.add_parser("account", help="application accounts of a node")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create an account bound to a caller IP")
    add_node_option(create)
    create.add_argument("--ip", required=True, help="the caller's IP address the account binds")
    create.add_argument("--name", help="a display name (default: the IP)")
    create.add_argument(
        "--rate-limit",
        type=positive_rate,
        metavar="N",
        help="requests per second the account may make (default: the node's, 50); "
        "beyond it a call answers 16",
    )
    add_json_option(create)
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="every account of the node")
    add_node_option(listing)
    add_json_option(listing)
    listing.set_defaults(handler=run_list)
    disable = actions.add_parser("disable", help="disable an account")
    add_node_option(disable)
    disable.add_argument("account", metavar="ACCOUNT", help="the AccountId")
    disable.set_defaults(handler=run_disable)
    for parser in (group, create, listing, disable):
        add_global_options(parser, subcommand=True)


def positive_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of requests/s")
    return value


def run_create(args: argparse.Namespace) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.create_account(args.ip, args.name, rate_limit=args.rate_limit)

    record = with_admin(args, call)
    if args.json:
        print_json(record)
    else:
        print(record.get("AccountId") if isinstance(record, dict) else record)
    return 0


def run_list(args: argparse.Namespace) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.list_accounts()

    answer = with_admin(args, call)
    if args.json:
        print_json(answer)
    else:
        console().print(table(rows_of(answer), COLUMNS, title=f"accounts of {args.node}"))
    return 0


def run_disable(args: argparse.Namespace) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.disable_account(args.account)

    with_admin(args, call)
    console().print(f"disabled account {args.account} on {args.node}")
    return 0
