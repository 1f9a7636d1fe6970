"""``ecert certs``, ``ecert anomalies``, ``ecert types list|approve``, ``ecert audit``: what one
node holds."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from types import MappingProxyType
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

CERTIFICATE_COLUMNS = (
    "CertificateID",
    "CertificateHolderCode",
    "CertificateHolderTypeCode",
    "CertificateTypeCode",
    "CertificateNumber",
    "CertificateStatus",
)
CERTIFICATE_HEADERS = MappingProxyType(
    {
        "CertificateHolderCode": "holder code",
        "CertificateHolderTypeCode": "holder type",
        "CertificateTypeCode": "type code",
        "CertificateNumber": "number",
        "CertificateStatus": "status",
    }
)
ANOMALY_COLUMNS = (
    "certificate_source_id",
    "cd_operation",
    "cd_time",
    "cd_batch",
    "data_source",
    "error_remark",
    "status",
    "relay_to",
)
AUDIT_COLUMNS = (
    "time",
    "request_id",
    "account_id",
    "peer_ip",
    "method",
    "status",
    "use_for",
    "detail",
)
TYPE_COLUMNS = (
    "CertificateTypeCode",
    "CertificateTypeName",
    "code",
    "name",
    "status",
    "approved",
    "defined_by",
)


def add_parsers(subparsers: Any) -> None:
    certs = subparsers.add_parser("certs", help="the certificates a node issued")
    add_node_option(certs)
    add_json_option(certs)
    certs.set_defaults(handler=run_certs)
    anomalies = subparsers.add_parser("anomalies", help="catalog rows the parent rejected (E.2)")
    add_node_option(anomalies)
    add_json_option(anomalies)
    anomalies.set_defaults(handler=run_anomalies)
    types = subparsers.add_parser("types", help="the certificate type catalogue of a node")
    actions = types.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every certificate type the node knows")
    add_node_option(listing)
    add_json_option(listing)
    listing.set_defaults(handler=run_types)
    approve = actions.add_parser("approve", help="approve a defined certificate type")
    add_node_option(approve)
    approve.add_argument("code", metavar="CODE", help="the CertificateTypeCode")
    approve.set_defaults(handler=run_approve)
    audit = subparsers.add_parser(
        "audit", help="the audit log: method calls, admin actions, file downloads"
    )
    add_node_option(audit)
    audit.add_argument("--request-id", metavar="ID", help="one request, end to end")
    audit.add_argument("--account", metavar="ID", help="one AccountId (admin: admin actions)")
    audit.add_argument("--method", help="a method name, admin or file")
    audit.add_argument("--since", metavar="TIME", help="ISO 8601, e.g. 2026-12-05T08:00")
    audit.add_argument("--limit", type=int, default=100, help="rows at most (default 100)")
    add_json_option(audit)
    audit.set_defaults(handler=run_audit)
    for parser in (certs, anomalies, types, listing, approve, audit):
        add_global_options(parser, subcommand=True)


def run_certs(args: argparse.Namespace) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.certificates()

    answer = with_admin(args, call)
    return _show(args, answer, CERTIFICATE_COLUMNS, "certificates", CERTIFICATE_HEADERS)


def run_anomalies(args: argparse.Namespace) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.anomalies()

    return _show(args, with_admin(args, call), ANOMALY_COLUMNS, "anomalies")


def run_types(args: argparse.Namespace) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.types()

    return _show(args, with_admin(args, call), TYPE_COLUMNS, "certificate types")


def run_approve(args: argparse.Namespace) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.approve_type(args.code)

    with_admin(args, call)
    console().print(f"approved certificate type {args.code} on {args.node}")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    async def call(admin: AdminClient) -> Any:
        return await admin.audit(
            request_id=args.request_id,
            account=args.account,
            method=args.method,
            since=args.since,
            limit=args.limit,
        )

    return _show(args, with_admin(args, call), AUDIT_COLUMNS, "audit rows")


def _show(
    args: argparse.Namespace,
    answer: Any,
    columns: tuple[str, ...],
    what: str,
    headers: Mapping[str, str] | None = None,
) -> int:
    if args.json:
        print_json(answer)
        return 0
    rows = rows_of(answer)
    title = f"{what} of {args.node} ({len(rows)})"
    console().print(table(rows, columns, title=title, headers=headers))
    return 0
