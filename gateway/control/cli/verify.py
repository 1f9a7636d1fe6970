"""``ecert verify --batch FILE --node ID``: batch verification (§8.1.5) through a node's admin
API, with a result for every row (``gateway.control.batchfile`` reads the file)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gateway.control.admin_client import AdminClient
from gateway.control.batchfile import read_batch
from gateway.control.cli.common import (
    add_global_options,
    add_json_option,
    add_node_option,
    console,
    print_json,
    table,
    with_admin,
)

RESULT_COLUMNS = ("row", "status", "verifyResult", "certificateID", "message", "route")


def add_parsers(subparsers: Any) -> None:
    verify = subparsers.add_parser(
        "verify", help="verify certificates in a batch: a CSV or JSON-lines file, a result a row"
    )
    add_node_option(verify)
    verify.add_argument(
        "--batch",
        required=True,
        type=Path,
        metavar="FILE",
        help="rows to verify: FILE.csv (header row) or JSON lines (any other name)",
    )
    verify.add_argument("--use-for", default="批量核验", help="用途 (UseFor) of every row")
    verify.add_argument(
        "--strict", action="store_true", help="exit 1 unless every row verifies true"
    )
    add_json_option(verify)
    add_global_options(verify, subcommand=True)
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    rows = read_batch(args.batch)

    async def call(admin: AdminClient) -> Any:
        body = {"rows": rows, "UseFor": args.use_for}
        return await admin.request("POST", "/admin/verify/batch", json=body)

    answer = with_admin(args, call)
    if args.json:
        print_json(answer)
    else:
        title = (
            f"batch verification at {args.node}: {answer['verified']} of {answer['total']} "
            "rows verified"
        )
        console().print(table(answer["results"], RESULT_COLUMNS, title=title))
    return 1 if args.strict and answer["verified"] != answer["total"] else 0
