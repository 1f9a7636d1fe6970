"""Before the checks: which certificates and holders the system answers for.

The suite takes certificates from ``--certificate`` and finds more through Retrieval for each
``--holder``; it asks ``GetCertificateDataByCertificateID`` once for each, which says which ones
are usable (status 0) and which are 注销/吊销 (21), expired (22) or restricted (23). The holder of a
usable certificate, with the type code inside its CertificateID, is what the by-holder checks ask
for. Reading answers here is lenient: judging them is the checks' work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.control.conformance.identifiers import type_code_of
from gateway.control.conformance.probe import Exchange, Probe
from gateway.control.conformance.target import Target

USE_FOR = "电子证照共享接口符合性测试"  # UseFor of every call the suite makes (SPEC §3.2)
RETRIEVED_PER_HOLDER = 12  # certificates of one --holder the suite looks at


@dataclass(frozen=True, slots=True)
class Known:
    """A certificate and how the system answered ``GetCertificateDataByCertificateID`` for it."""

    certificate_id: str
    status: str | None
    item: Mapping[str, Any] | None  # the data item, when the status is 0
    listed: Mapping[str, Any] | None = None  # its Retrieval item, when Retrieval returned it


@dataclass(frozen=True, slots=True)
class HolderQuery:
    """The by-holder parameters of one usable certificate (SPEC §3.3, 7.3.2)."""

    code: str
    holder_type: str
    type_code: str
    number: str

    def params(self) -> dict[str, str]:
        params = {"CertificateHolderCode": self.code, "CertificateTypeCode": self.type_code}
        if self.holder_type:
            params["CertificateHolderType"] = self.holder_type
        return params | {"UseFor": USE_FOR}


@dataclass(frozen=True, slots=True)
class Findings:
    certificates: tuple[Known, ...] = ()
    holders: tuple[HolderQuery, ...] = ()
    exchanges: tuple[Exchange, ...] = ()

    @property
    def usable(self) -> tuple[Known, ...]:
        return tuple(known for known in self.certificates if known.item is not None)

    @property
    def certificate(self) -> Known | None:
        return next(iter(self.usable), None)

    @property
    def holder(self) -> HolderQuery | None:
        return next(iter(self.holders), None)

    def answering(self, status: int) -> tuple[Known, ...]:
        return tuple(known for known in self.certificates if known.status == str(status))

    def ended_but_answered(self) -> tuple[Known, ...]:
        """Certificates answered 0 although their certificateValidateEnd has passed (with a
        day's grace for the system's time zone): they should have been answered 22."""
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
        ended = []
        for known in self.usable:
            end = _date((known.item or {}).get("certificateValidateEnd"))
            if end is not None and end < yesterday:
                ended.append(known)
        return tuple(ended)


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def by_id(certificate_id: str) -> dict[str, str]:
    return {"CertificateID": certificate_id, "UseFor": USE_FOR}


async def find(probe: Probe, target: Target) -> Findings:
    """Classify the given and retrieved certificates; the holders of the usable ones."""
    listed: dict[str, Mapping[str, Any]] = {}
    for holder in target.holders:
        params = {"CertificateHolderCode": holder.code, "CertificateHolderType": holder.holder_type}
        listed |= _listed(await probe.call("Retrieval", params | {"UseFor": USE_FOR}))
    order = dict.fromkeys([*target.certificates, *listed])
    certificates = [await _classify(probe, certificate_id) for certificate_id in order]
    for known in certificates:
        if known.item is not None and known.certificate_id not in listed:
            listed |= _listed(await probe.call("Retrieval", _holder_of(known.item)))
    certificates = [
        Known(k.certificate_id, k.status, k.item, listed.get(k.certificate_id))
        for k in certificates
    ]
    return Findings(tuple(certificates), _holders(certificates), tuple(probe.take()))


def _listed(exchange: Exchange) -> dict[str, Mapping[str, Any]]:
    items = [item for item in exchange.items() if isinstance(item, dict)]
    found = {str(item.get("certificateID")): item for item in items if item.get("certificateID")}
    return dict(list(found.items())[:RETRIEVED_PER_HOLDER])


async def _classify(probe: Probe, certificate_id: str) -> Known:
    exchange = await probe.call("GetCertificateDataByCertificateID", by_id(certificate_id))
    items = exchange.items()
    usable = exchange.status == "0" and items and isinstance(items[0], dict)
    return Known(certificate_id, exchange.status, items[0] if usable else None)


def _holder_of(item: Mapping[str, Any]) -> dict[str, str]:
    params = {"CertificateHolderCode": str(item.get("certificateHolderCode", ""))}
    if item.get("certificateHolderType"):
        params["CertificateHolderType"] = str(item["certificateHolderType"])
    return params | {"UseFor": USE_FOR}


def _holders(certificates: list[Known]) -> tuple[HolderQuery, ...]:
    queries: dict[tuple[str, str], HolderQuery] = {}
    for known in certificates:
        source = known.listed or known.item
        if known.item is None or source is None or not source.get("certificateHolderCode"):
            continue
        query = HolderQuery(
            code=str(source["certificateHolderCode"]),
            holder_type=str(source.get("certificateHolderType") or ""),
            type_code=type_code_of(known.certificate_id),
            number=str(source.get("certificateNumber") or ""),
        )
        queries.setdefault((query.code, query.type_code), query)
    return tuple(queries.values())
