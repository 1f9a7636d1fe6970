"""The type catalogue across nodes: define, push until acknowledged, merge, approve (SPEC §7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes.catalog import types
from nodes.model.types import CertificateType
from nodes.store.types import BUILTIN
from nodes.synth.catalogue import CATALOGUE
from tests.unit.test_catalog_support import node_context, topology

TOPO = topology()


def new_type(sequence: int = 901) -> CertificateType:
    base = CATALOGUE[0]
    return base.model_copy(
        update={
            "CertificateTypeName": f"测试证照{sequence}",
            "CertificateTypeCode": f"{base.CertificateDefineAuthorityCode}{sequence}",
        }
    )


async def test_a_defined_type_is_pushed_until_the_parent_acknowledges(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj-harbin") as city:
        await city.store.types.add_missing(
            list(CATALOGUE), defined_at_node=BUILTIN, approved=True, now=city.clock.stamp()
        )
        assert await types.types_message(city) is None  # built-in types never travel
        stored = await types.define(city, new_type())
        assert (stored.approved, stored.defined_at_node) == (False, "hlj-harbin")
        message = await types.types_message(city)
        assert message is not None
        assert [item["type"]["CertificateTypeCode"] for item in message["types"]] == [
            new_type().CertificateTypeCode
        ]
        assert await types.types_message(city) == message  # again, until acknowledged
        await types.acknowledge_types(city, message["upto"])
        assert await types.types_message(city) is None
        with pytest.raises(types.TypeRefused) as refused:
            await types.define(city, new_type())
        assert refused.value.status == 409


async def test_the_parent_merges_once_and_only_types_of_the_childs_subtree(
    tmp_path: Path,
) -> None:
    async with node_context(tmp_path, TOPO, "hlj-harbin") as city:
        await types.define(city, new_type(901))
        message = await types.types_message(city)
        assert message is not None
        with pytest.raises(types.TypeRefused) as refused:  # the city is not the approver
            await types.approve(city, new_type(901).CertificateTypeCode)
        assert refused.value.status == 409
    foreign = {
        **message["types"][0],
        "defined_at_node": "hlj-daqing",
        "type": new_type(902).model_dump(mode="json"),
    }
    async with node_context(tmp_path, TOPO, "hlj") as province:
        items = [*message["types"], foreign]
        assert await types.merge_types(province, items, child="hlj-harbin") == 1
        assert await types.merge_types(province, items, child="hlj-harbin") == 0
        assert await province.store.types.get(new_type(902).CertificateTypeCode) is None
        approved = await types.approve(province, new_type(901).CertificateTypeCode)
        assert approved.approved
        notice = await types.approved_notice(province, new_type(901).CertificateTypeCode)
        assert notice is not None
        assert notice["types_approved"][0]["approved"] is True


async def test_an_approved_type_is_never_unapproved_by_a_late_message(tmp_path: Path) -> None:
    async with node_context(tmp_path, TOPO, "hlj") as province:
        item = {
            "type": new_type().model_dump(mode="json"),
            "defined_at_node": "hlj-harbin",
            "approved": False,
        }
        await types.merge_types(province, [item], child="hlj-harbin")
        await types.approve(province, new_type().CertificateTypeCode)
        assert await types.merge_types(province, [item], child="hlj-harbin") == 0
        stored = await province.store.types.get(new_type().CertificateTypeCode)
        assert stored is not None
        assert stored.approved
