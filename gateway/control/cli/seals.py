"""``ecert seals --node ID [--all]`` and ``ecert seal create``: the e-seals of issuing
authorities at one node (README "Seals")."""

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

COLUMNS = (
    "SealID",
    "SealName",
    "CertificateIssuingAuthorityCode",
    "validFrom",
    "validTo",
    "node",
    "publicKey",
)


def add_parsers(subparsers: Any) -> None:
    listing = subparsers.add_parser("seals", help="the e-seals of issuing authorities at a node")
    add_node_option(listing)
    listing.add_argument(
        "--all", action="store_true", help="also the seals learnt from the subtree"
    )
    add_json_option(listing)
    listing.set_defaults(handler=run_list)
    group = subparsers.add_parser("seal", help="create an e-seal")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="an SM2 key pair and seal record for an authority")
    add_node_option(create)
    create.add_argument("--authority-name", required=True, help="CertificateIssuingAuthorityName")
    create.add_argument("--authority-code", required=True, help="CertificateIssuingAuthorityCode")
    create.add_argument("--name", default="", help="SealName (default: <authority>电子印章)")
    create.add_argument("--valid-to", default="", help="last day of validity (default: +10 years)")
    add_json_option(create)
    create.set_defaults(handler=run_create)
    for parser in (listing, group, create):
        add_global_options(parser, subcommand=True)


def run_list(args: argparse.Namespace) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.seals(node=None if args.all else args.node)

    seals = with_admin(args, call)
    if args.json:
        print_json(seals)
        return 0
    rows = [{**seal, "publicKey": f"{seal['publicKey'][:16]}…"} for seal in seals]
    title = f"seals at {args.node} ({len(rows)})"
    console().print(table(rows, COLUMNS, title=title))
    return 0


def run_create(args: argparse.Namespace) -> int:
    body = {
        "CertificateIssuingAuthorityName": args.authority_name,
        "CertificateIssuingAuthorityCode": args.authority_code,
        "SealName": args.name,
        "validTo": args.valid_to,
    }

    async def call(admin: AdminClient) -> Any:
        return await admin.create_seal(body)

    seal = with_admin(args, call)
    if args.json:
        print_json(seal)
        return 0
    console().print(f"created seal {seal['SealID']} ({seal['SealName']}) at {args.node}")
    return 0
