"""Authorisations honoured where a holder's certificates are asked for (§8.1.2–§8.1.4).

``Authorised`` wraps the node's resolver (the cascade): a by-holder method that entered the
network here (not one forwarded by a neighbour, not an explain) also gets, besides what the
holder holds, every certificate the grant index says is authorised to the holder (of the
type and number asked), each looked up by ID along the cascade with the by-ID form of the same
method. An authorised certificate is added only when it answers 0 from the very node that
published the grant (so a node cannot grant what another node holds), and the answers merge as
a fan-out's do (``gateway.core.trace``). ``my_certificates`` answers §8.1.2: what a holder
(code and name) holds, from the highest catalog (``Retrieval``), and what is authorised to them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from gateway.core.protocol import ReturnCode
from gateway.core.trace import combine_codes, merge_data, merge_routes, merge_timings
from nodes.call import Answer, MethodCall, Relayed, Resolver
from nodes.store.authorisations import AuthorisationRepo, IndexEntry

BY_ID_OF: Mapping[str, str] = MappingProxyType(
    {
        "GetCertificateFileByHolder": "GetCertificateFileByCertificateID",
        "GetCertificateDataByHolder": "GetCertificateDataByCertificateID",
        "GetCertificatePictureByHolder": "GetCertificatePictureByCertificateID",
    }
)
_MERGEABLE = frozenset({ReturnCode.SUCCESS, ReturnCode.NOT_FOUND, ReturnCode.PARTIAL_RESULT})
_PASSED_ON = ("UseFor", "Format")


def _parsed(answer: Answer | Relayed) -> Answer:
    return answer.parsed() if isinstance(answer, Relayed) else answer


async def look_up(resolve: Resolver, call: MethodCall, method: str, entry: IndexEntry) -> Answer:
    """``entry``'s certificate by ID; 10 unless its publisher answered 0 itself."""
    params = {k: call.params[k] for k in _PASSED_ON if call.params.get(k)}
    answer = _parsed(await resolve(replace(call, method=method, params={
        **params, "CertificateID": entry.certificate_id})))  # fmt: skip
    if answer.code is ReturnCode.SUCCESS and answer.route[-1:] != [entry.node_id]:
        return Answer(ReturnCode.NOT_FOUND, route=answer.route, timings=answer.timings)
    return answer


class Authorised:
    """The node's Resolver: ``resolve``'s answer, with what is authorised to the holder."""

    def __init__(self, resolve: Resolver, grants: AuthorisationRepo):
        self.resolve = resolve
        self.grants = grants

    async def __call__(self, call: MethodCall) -> Answer | Relayed:
        by_id = BY_ID_OF.get(call.method)
        if by_id is None or call.came_from is not None or call.explain:
            return await self.resolve(call)
        params = call.params
        entries = await self.grants.granted_to(
            params.get("CertificateHolderCode", ""),
            type_code=params.get("CertificateTypeCode") or None,
            number=params.get("CertificateNumber") or None,
        )
        if not entries:
            return await self.resolve(call)
        held, *granted = await asyncio.gather(
            self.resolve(call), *(look_up(self.resolve, call, by_id, e) for e in entries)
        )
        base = _parsed(held)
        usable = [_parsed(a) for a in granted if a.code is ReturnCode.SUCCESS]
        if not usable or base.code not in _MERGEABLE:
            return held
        return merged(call.method, [base, *usable])


def merged(method: str, answers: list[Answer]) -> Answer:
    code = ReturnCode(combine_codes([int(a.code) for a in answers]))
    usable = [a.data for a in answers if a.code in (ReturnCode.SUCCESS, ReturnCode.PARTIAL_RESULT)]
    return Answer(
        code,
        merge_data(method, usable),
        answers[0].message if code is ReturnCode.PARTIAL_RESULT else None,
        route=merge_routes(*(a.route for a in answers)),
        timings=merge_timings(*(a.timings for a in answers)),
    )


async def my_certificates(
    resolve: Resolver, grants: AuthorisationRepo, call: MethodCall, *, name: str
) -> dict[str, Any]:
    """§8.1.2 for the holder ``call.params["CertificateHolderCode"]`` named ``name``:
    ``{"held": [retrieval items], "authorised": [...], "held_status": code}``."""
    code = call.params["CertificateHolderCode"]
    retrieval = replace(call, method="Retrieval")
    entries = [e for e in await grants.granted_to(code) if e.grantee_name == name]
    found, *granted = await asyncio.gather(
        resolve(retrieval),
        *(look_up(resolve, call, "GetCertificateDataByCertificateID", e) for e in entries),
    )
    held = _parsed(found)
    items = held.data.get("dataList", []) if isinstance(held.data, dict) else []
    authorised = []
    for entry, answer in zip(entries, granted, strict=True):
        listed = answer.data.get("dataList") if isinstance(answer.data, dict) else None
        authorised.append(
            {
                "certificateID": entry.certificate_id,
                "node": entry.node_id,
                "grantor": {"code": entry.grantor_code, "name": entry.grantor_name},
                "status": str(int(answer.code)),
                "message": answer.message or answer.code.message,
                "item": listed[0] if listed else None,
            }
        )
    return {
        "holder": {"code": code, "name": name},
        "held_status": str(int(held.code)),
        "held": [item for item in items if item.get("certificateHolder") == name],
        "authorised": authorised,
    }
