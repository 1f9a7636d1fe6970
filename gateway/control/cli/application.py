"""The §8 application functions of one node, through its admin API: ``ecert reminders``
(expiry reminders, §8.3.4), ``ecert authorise``, ``ecert withdraw``, ``ecert authorisations``
(authorisation, §8.1.3–§8.1.4) and ``ecert mine`` (my certificates, §8.1.2)."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

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
    add_grant_parsers(subparsers)


GRANT_COLUMNS = (
    "id",
    "certificate_id",
    "grantor_code",
    "grantor_name",
    "grantee_code",
    "grantee_name",
    "granted_at",
    "active",
    "withdrawn_at",
)
HELD_COLUMNS = ("certificateID", "certificateType", "certificateNumber", "issueDept", "issueDate")


def add_grant_parsers(subparsers: Any) -> None:
    grant = subparsers.add_parser(
        "authorise", help="authorise a certificate to another holder (at the node holding it)"
    )
    add_node_option(grant)
    grant.add_argument("certificate_id", metavar="CERTIFICATE_ID")
    grant.add_argument(
        "--grantor",
        required=True,
        nargs=2,
        metavar=("CODE", "NAME"),
        help="the holder: code and name as the certificate records them",
    )
    grant.add_argument("--to", required=True, nargs=2, metavar=("CODE", "NAME"),
                       help="the holder authorised: code and name")  # fmt: skip
    grant.add_argument("--reason", default="", help="why (kept with the grant)")
    grant.set_defaults(handler=run_authorise)
    withdraw = subparsers.add_parser("withdraw", help="withdraw an authorisation")
    add_node_option(withdraw)
    withdraw.add_argument("grant_id", metavar="ID", help="the authorisation's id")
    withdraw.add_argument("--reason", default="", help="why")
    withdraw.set_defaults(handler=run_withdraw)
    listing = subparsers.add_parser("authorisations", help="the authorisations a node holds")
    add_node_option(listing)
    listing.add_argument("--holder", metavar="CODE", help="only those this holder made or got")
    listing.add_argument("--active", action="store_true", help="only those not withdrawn")
    mine = subparsers.add_parser(
        "mine", help="my certificates: held and authorised, across the network (§8.1.2)"
    )
    add_node_option(mine)
    mine.add_argument("--holder", required=True, nargs=2, metavar=("CODE", "NAME"))
    for parser, handler in ((listing, run_authorisations), (mine, run_mine)):
        parser.set_defaults(handler=handler)
    for parser in (grant, withdraw, listing, mine):
        add_json_option(parser)
        add_global_options(parser, subcommand=True)


def run_authorise(args: argparse.Namespace) -> int:
    body = {
        "CertificateID": args.certificate_id,
        "grantor": {"code": args.grantor[0], "name": args.grantor[1]},
        "grantee": {"code": args.to[0], "name": args.to[1]},
        "reason": args.reason,
    }

    async def call(admin: AdminClient) -> Any:
        return await admin.request("POST", "/admin/authorisations", json=body)

    return _grant_done(args, with_admin(args, call), "authorised")


def run_withdraw(args: argparse.Namespace) -> int:
    path = f"/admin/authorisations/{quote(args.grant_id, safe='')}/withdraw"

    async def call(admin: AdminClient) -> Any:
        return await admin.request("POST", path, json={"reason": args.reason})

    return _grant_done(args, with_admin(args, call), "withdrew")


def _grant_done(args: argparse.Namespace, grant: Any, what: str) -> int:
    if args.json:
        print_json(grant)
    else:
        console().print(
            f"{what} {grant['certificate_id']} to {grant['grantee_name']} "
            f"({grant['grantee_code']}): authorisation {grant['id']} at {args.node}"
        )
    return 0


def run_authorisations(args: argparse.Namespace) -> int:
    query = "&".join(
        part
        for part in (f"holder={quote(args.holder)}" if args.holder else "",
                     "active=1" if args.active else "")
        if part
    )  # fmt: skip

    async def call(admin: AdminClient) -> Any:
        return await admin.request("GET", f"/admin/authorisations{'?' + query if query else ''}")

    answer = with_admin(args, call)
    if args.json:
        print_json(answer)
        return 0
    rows = answer["authorisations"]
    console().print(
        table(rows, GRANT_COLUMNS, title=f"authorisations at {args.node} ({len(rows)})")
    )
    return 0


def run_mine(args: argparse.Namespace) -> int:
    code, name = args.holder
    path = f"/admin/holders/{quote(code, safe='')}/certificates?name={quote(name)}"

    async def call(admin: AdminClient) -> Any:
        return await admin.request("GET", path)

    answer = with_admin(args, call)
    if args.json:
        print_json(answer)
        return 0
    held = answer["held"]
    console().print(table(held, HELD_COLUMNS, title=f"held by {name} ({code}): {len(held)}"))
    authorised = [
        {**(row["item"] or {}), "certificateID": row["certificateID"], "node": row["node"],
         "grantor": row["grantor"]["name"], "status": row["status"]}
        for row in answer["authorised"]
    ]  # fmt: skip
    columns = ("certificateID", "certificateType", "grantor", "node", "status")
    title = f"authorised to {name}: {len(authorised)}"
    console().print(table(authorised, columns, title=title))
    return 0


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
