"""``ecert conformance URL --account ID``: test any sharing system that claims DB23/T 2836-2021.

The suite calls the system at URL (``URL/token``, ``URL/<Method>``) as a business application
from --from-ip and prints each check with pass, FAIL or n/a, what it sent, what came back and
the clause it rests on. Certificates come from --certificate, or are found through Retrieval for
each --holder; a check that has nothing to judge is not applicable, never passed.

Exit codes: 0 every check passed or was not applicable; 1 a check failed; 2 the system cannot
be tested at all (nothing answers, HTML, the account is refused, --from-ip is not this
machine's) or the options are wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rich.table import Table
from rich.text import Text

from gateway.control.cli.common import add_json_option, console, print_json
from gateway.control.conformance import SUITE, Report, Result, Target, run_suite
from gateway.control.conformance.report import (
    as_json,
    checks_markdown,
    clause_of,
    write_report_junit,
)
from gateway.control.conformance.target import (
    DEFAULT_TIMEOUT,
    Holder,
    parse_certificate,
    parse_holder,
    parse_ip,
    parse_url,
)
from gateway.control.errors import ConformanceError

EXAMPLE = """\
example:
  ecert conformance http://127.0.2.21:8701/ecert --account $ACC --from-ip 127.0.0.9 \\
        --other-ip 127.0.0.10 --holder 91230100MA1BXXXXXX:001 --junit conformance.xml
"""
SHOWN = MappingProxyType(
    {"passed": "[green]pass[/]", "failed": "[bold red]FAIL[/]", "not applicable": "[dim]n/a[/]"}
)


def _option(parse: Any) -> Any:
    """An argparse ``type`` whose ValueError message is shown as it is."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def add_parsers(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "conformance",
        help="test a sharing system (any vendor's) against DB23/T 2836 and SPEC, black box",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_target_options(parser)
    parser.add_argument("--junit", type=Path, metavar="PATH", help="also write a JUnit XML report")
    add_json_option(parser)
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S", help="seconds per request"
    )
    parser.add_argument("--list-checks", action="store_true", help="list the checks and exit")
    parser.add_argument("--markdown", action="store_true", help="with --list-checks: as Markdown")
    parser.set_defaults(handler=run_conformance)


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    """URL, account, addresses, and the certificates and holders the suite may use."""
    parser.add_argument("url", nargs="?", metavar="URL", help="the interface: URL/<Method>")
    parser.add_argument("--account", metavar="ID", help="an AccountId bound to --from-ip")
    parser.add_argument(
        "--from-ip", type=_option(parse_ip), metavar="IP", help="the address to call from"
    )
    parser.add_argument(
        "--other-ip",
        type=_option(parse_ip),
        metavar="IP",
        help="a second address of this machine, from which the account must be refused (14)",
    )
    parser.add_argument(
        "--certificate",
        action="extend",
        nargs="+",
        type=_option(parse_certificate),
        default=[],
        metavar="ID",
        help="CertificateIDs the system holds or can reach (any status)",
    )
    parser.add_argument(
        "--holder",
        action="extend",
        nargs="+",
        type=_option(parse_holder),
        default=[],
        metavar="CODE:TYPE",
        help="holders (CertificateHolderCode:A.2 type) whose certificates Retrieval finds",
    )


def run_conformance(args: argparse.Namespace) -> int:
    if args.list_checks:
        list_checks(markdown=args.markdown)
        return 0
    try:
        target = _target(args)
        report = asyncio.run(run_suite(target))
    except (ConformanceError, ValueError) as exc:
        print(f"ecert conformance: {exc}", file=sys.stderr)
        return 2
    if args.junit is not None:
        write_report_junit(report, args.junit)
    if args.json:
        print_json(as_json(report))
    else:
        show(report)
    return report.exit_code


def _target(args: argparse.Namespace) -> Target:
    if not args.url or not args.account:
        raise ValueError("give the interface's URL and --account (or --list-checks)")
    if args.other_ip is not None and args.other_ip == args.from_ip:
        raise ValueError("--other-ip must differ from --from-ip")
    holders: list[Holder] = args.holder
    return Target(
        url=parse_url(args.url),
        account=args.account.strip(),
        from_ip=args.from_ip,
        other_ip=args.other_ip,
        certificates=tuple(dict.fromkeys(args.certificate)),
        holders=tuple(dict.fromkeys(holders)),
        timeout=args.timeout,
    )


def list_checks(*, markdown: bool) -> None:
    if markdown:
        print(checks_markdown(SUITE), end="")
        return
    table = Table(title=f"{len(SUITE)} checks", title_justify="left")
    for column in ("check", "what must hold", "clause"):
        table.add_column(column, overflow="fold")
    for check in SUITE:
        table.add_row(check.id, check.title, clause_of(check))
    console().print(table)


def show(report: Report) -> None:
    out = console()
    target = report.target
    source = target.from_ip or "this machine's address"
    out.print(f"conformance of {target.url} (/… below) as account {target.account} from {source}")
    statuses = [known.status or "?" for known in report.findings.certificates]
    if statuses:
        counted = ", ".join(f"{statuses.count(s)} answered {s}" for s in sorted(set(statuses)))
        out.print(f"certificates: {len(statuses)} ({counted})")
    table = Table(show_lines=True, expand=True)
    table.add_column("result", no_wrap=True)
    table.add_column("check", ratio=3, overflow="fold")
    table.add_column("clause", ratio=2, overflow="fold")
    table.add_column("what was sent / what came back", ratio=5, overflow="fold")
    labels = {target.account: "(the account)", report.token: "(the day's token)"}
    for result in report.results:
        check = result.check
        table.add_row(
            SHOWN[result.outcome],
            Text(f"{check.id}\n{check.title}"),
            Text(clause_of(check)),
            _exchange_text(result, labels, target.url),
        )
    out.print(table)
    out.print(
        f"{report.count('passed')} passed, {report.count('failed')} failed,"
        f" {report.count('not applicable')} not applicable"
    )


def _exchange_text(result: Result, labels: dict[str, str], base: str) -> Text:
    """The check's message, then the exchange its outcome rests on."""
    text = Text(result.message, style="bold" if result.outcome == "failed" else "")
    decisive = result.decisive
    if decisive is not None:
        more = f" (+{len(result.exchanges) - 1} more)" if len(result.exchanges) > 1 else ""
        sent = decisive.sent(labels=labels).replace(f" {base}/", " /", 1)
        lines = f"sent{more}: {sent}\ncame back: {decisive.came_back()}"
        text.append(f"\n{lines}" if result.message else lines)
    return text
