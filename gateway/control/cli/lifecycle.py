"""``ecert cert issue|change|extend|cancel|revoke|lose|suspend|restore|history``: the lifecycle
of a certificate at the node that holds it (README "Certificate lifecycle")."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import MappingProxyType
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
from gateway.control.errors import AdminError

STATUS_OPERATIONS = MappingProxyType(
    {
        "cancel": "注销 (02, final)",
        "revoke": "吊销 (03, final)",
        "lose": "挂失 (04)",
        "suspend": "暂扣 (05)",
        "restore": "restore a lost or suspended certificate (04/05 -> 01)",
    }
)
HISTORY_COLUMNS = ("time", "CertificateID", "transition", "from_status", "to_status", "reason")


def add_parsers(subparsers: Any) -> None:
    cert = subparsers.add_parser("cert", help="issue a certificate and run its lifecycle")
    actions = cert.add_subparsers(dest="action", metavar="ACTION", required=True)
    issue = actions.add_parser("issue", help="issue a certificate (版本号 001) from a JSON file")
    issue.add_argument("file", metavar="FILE", type=Path, help="the B.1/B.2 record as JSON")
    issue.set_defaults(handler=run_issue)
    change = actions.add_parser("change", help="a new version with changed fields")
    change.add_argument("certificate_id", metavar="CERTIFICATE_ID")
    change.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", required=True,
        help="a field of the new version (repeat)",
    )  # fmt: skip
    change.set_defaults(handler=run_change)
    extend = actions.add_parser("extend", help="延期: a new version with a later expiry")
    extend.add_argument("certificate_id", metavar="CERTIFICATE_ID")
    extend.add_argument("--until", required=True, metavar="DATE", help="the new expiring date")
    extend.set_defaults(handler=run_extend)
    parsers = [issue, change, extend]
    for operation, what in STATUS_OPERATIONS.items():
        parser = actions.add_parser(operation, help=what)
        parser.add_argument("certificate_id", metavar="CERTIFICATE_ID")
        parser.set_defaults(handler=run_status_operation, operation=operation)
        parsers.append(parser)
    for parser in (change, extend, *parsers[3:]):
        parser.add_argument("--reason", required=True, help="why (recorded in the history)")
    history = actions.add_parser("history", help="every transition of every version")
    history.add_argument("certificate_id", metavar="CERTIFICATE_ID")
    history.set_defaults(handler=run_history)
    for parser in (*parsers, history):
        add_node_option(parser)
        add_json_option(parser)
        add_global_options(parser, subcommand=True)
    add_global_options(cert, subcommand=True)


def run_issue(args: argparse.Namespace) -> int:
    try:
        record = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AdminError(f"cannot read {args.file}: {exc}", node_id=args.node) from None
    if not isinstance(record, dict):
        raise AdminError(f"{args.file} must hold one JSON object", node_id=args.node)

    async def call(admin: AdminClient) -> Any:
        return await admin.issue(record)

    return _show(args, {"certificate": with_admin(args, call)}, "issued")


def run_change(args: argparse.Namespace) -> int:
    fields: dict[str, str] = {}
    for assignment in args.set:
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            raise AdminError(f"--set {assignment!r}: use FIELD=VALUE", node_id=args.node)
        fields[name] = value
    body = {"reason": args.reason, "fields": fields}
    return _operate(args, "change", body)


def run_extend(args: argparse.Namespace) -> int:
    body = {"reason": args.reason, "CertificateExpiringDate": args.until}
    return _operate(args, "extend", body)


def run_status_operation(args: argparse.Namespace) -> int:
    return _operate(args, args.operation, {"reason": args.reason})


def _operate(args: argparse.Namespace, operation: str, body: dict[str, Any]) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.lifecycle(args.certificate_id, operation, body)

    return _show(args, with_admin(args, call), operation)


def _show(args: argparse.Namespace, answer: Any, done: str) -> int:
    if args.json:
        print_json(answer)
        return 0
    cert = answer.get("certificate", {})
    line = f"{done}: {cert.get('CertificateID')} status {cert.get('CertificateStatus')}"
    previous = answer.get("previous")
    if previous:
        line += f" (replaces {previous.get('CertificateID')}, now {previous['CertificateStatus']})"
    console().print(f"{line} at {args.node}")
    return 0


def run_history(args: argparse.Namespace) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.history(args.certificate_id)

    answer = with_admin(args, call)
    if args.json:
        print_json(answer)
        return 0
    rows = answer.get("history", [])
    title = f"history of {args.certificate_id} at {args.node} ({len(rows)})"
    console().print(table(rows, HISTORY_COLUMNS, title=title))
    return 0
