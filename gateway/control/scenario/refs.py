"""References in the strings of a step: ``${issued.NAME}``, ``${issued.NAME.FIELD}``, ``${run.id}``.

``NAME`` is what an earlier ``issue`` step called its certificate; alone it stands for the
CertificateID the node assigned, with ``FIELD`` for that field of the certificate's record.
``${run.id}`` is a text unique to each run of a scenario (upper-case hex), for values that must
not meet those of an earlier run on the same network (a holder code of type 999, a number).
Checked before anything starts (``problems``), replaced as the step runs (``resolve``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.control.scenario.values import CERTIFICATE_FIELDS

Path = tuple[str | int, ...]  # where a string is inside a step
REFERENCE = re.compile(r"\$\{([^}]*)\}")
NAMESPACE = "issued"
RUN_ID = "run.id"

Issued = Mapping[str, Mapping[str, Any]]  # issue name -> the certificate's record


@dataclass(frozen=True, slots=True)
class Reference:
    text: str  # as written, ``${...}``
    name: str  # "" for ``${run.id}``
    field: str  # "CertificateID" when the reference names no field


def parse(inner: str) -> Reference | str:
    """The reference ``${inner}``, or why it is not one."""
    parts = inner.split(".")
    text = f"${{{inner}}}"
    if inner == RUN_ID:
        return Reference(text, "", "")
    if parts[0] != NAMESPACE or len(parts) not in (2, 3) or not all(parts):
        return f"{text} is not ${{issued.NAME}}, ${{issued.NAME.FIELD}} or ${{run.id}}"
    field = parts[2] if len(parts) == 3 else "CertificateID"
    if field not in CERTIFICATE_FIELDS:
        return f"{text}: {field} is not a certificate field"
    return Reference(text, parts[1], field)


def strings(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string inside ``value`` (dicts, lists, models dumped), with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from strings(item, (*path, index))


def problems(value: Any, known: set[str]) -> Iterator[tuple[Path, str]]:
    """(path, message) for every reference in ``value`` that is malformed or names a
    certificate no earlier step issued."""
    for path, text in strings(value):
        for match in REFERENCE.finditer(text):
            parsed = parse(match.group(1))
            if isinstance(parsed, str):
                yield path, parsed
            elif parsed.name and parsed.name not in known:
                yield path, f"{parsed.text}: no earlier issue step is called {parsed.name!r}"


def resolve(value: Any, issued: Issued, run_id: str) -> Any:
    """``value`` with every reference replaced (dicts and lists copied)."""
    if isinstance(value, str):
        return REFERENCE.sub(lambda match: _lookup(match.group(1), issued, run_id), value)
    if isinstance(value, dict):
        return {key: resolve(item, issued, run_id) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, issued, run_id) for item in value]
    return value


def _lookup(inner: str, issued: Issued, run_id: str) -> str:
    parsed = parse(inner)
    if isinstance(parsed, str):
        raise LookupError(parsed)  # ``problems`` refused it before the run
    if not parsed.name:
        return run_id
    record = issued.get(parsed.name)
    if record is None:
        raise LookupError(f"{parsed.text}: the certificate {parsed.name!r} was not issued")
    return str(record.get(parsed.field, ""))
