"""The conformance kit's own check characters (SPEC §2.5), against the SPEC's real vectors.

The kit judges other systems with these, so they are tested on their own, and against the
nodes' implementation for many generated values: two codes written apart must agree.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.control.conformance import identifiers as kit
from nodes.model import identifiers as node

REAL_CERTIFICATE_IDS = [
    "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9",
]
REAL_USCC = ["11100000000013338W", "11220000013544541J", "91610800064834709T"]
REAL_CITIZEN_ID = "11010519491231002X"


@pytest.mark.parametrize("value", REAL_CERTIFICATE_IDS)
def test_spec_certificate_ids_pass_gb_t_36904(value: str) -> None:
    assert kit.certificate_id_problem(value) is None


@pytest.mark.parametrize("value", REAL_CERTIFICATE_IDS)
def test_every_other_check_character_fails_and_names_the_right_one(value: str) -> None:
    for ch in kit.ALNUM36.replace(value[-1], ""):
        problem = kit.certificate_id_problem(value[:-1] + ch)
        assert problem is not None
        assert problem.endswith(f"MOD 37,36 gives {value[-1]}")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1.2.156.3005.2.X",
        "2.2.156.3005.2.11100000000013338W032.11220000013544541J.1.001.F",
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.1.F",
        "1.2.156.3005.2.11100000000013338w032.11220000013544541J.2430599.001.F",
    ],
)
def test_malformed_certificate_ids_are_named_as_such(value: str) -> None:
    assert "does not read 1.2.156.3005.2." in (kit.certificate_id_problem(value) or "")


def test_a_certificate_id_whose_type_code_is_not_a_uscc_fails() -> None:
    value = kit.make_certificate_id("11100000000013338X032", "11220000013544541J", "1")
    assert "CertificateTypeCode 11100000000013338X032" in (kit.certificate_id_problem(value) or "")


@pytest.mark.parametrize("value", REAL_USCC)
def test_spec_usccs_pass_gb_32100_and_a_changed_check_fails(value: str) -> None:
    assert kit.uscc_problem(value) is None
    assert kit.uscc_problem(kit.wrong_check(value, kit.USCC_CHARSET)) is not None


@pytest.mark.parametrize("value", ["1110000000001333", "11100000000013338I", "1110000000001333OW"])
def test_a_uscc_of_the_wrong_length_or_charset_fails(value: str) -> None:
    assert "is not 18 characters" in (kit.uscc_problem(value) or "")


def test_the_spec_citizen_id_passes_gb_11643_and_a_changed_check_fails() -> None:
    assert kit.citizen_id_problem(REAL_CITIZEN_ID) is None
    for ch in "0123456789":
        assert kit.citizen_id_problem(REAL_CITIZEN_ID[:-1] + ch) is not None


def test_a_citizen_id_without_a_birth_date_fails() -> None:
    first17 = "11010519491331002"  # month 13
    value = first17 + kit.citizen_id_check(first17)
    assert "is not a birth date" in (kit.citizen_id_problem(value) or "")


def test_holder_codes_are_checked_as_their_a2_type_asks() -> None:
    assert kit.holder_code_problem("001", REAL_USCC[2]) is None
    assert kit.holder_code_problem("111", REAL_CITIZEN_ID) is None
    assert kit.holder_code_problem("111", REAL_USCC[2]) is not None
    assert kit.holder_code_problem("414", "E12345678") is None  # 普通护照: no check character


@pytest.mark.parametrize(
    ("value", "optional", "valid"),
    [
        ("2021-03-01", False, True),
        ("", True, True),
        ("", False, False),
        ("2021年3月1日", False, False),
        ("2021-02-30", False, False),
        ("20210301", True, False),
    ],
)
def test_wire_dates_read_yyyy_mm_dd(value: str, optional: bool, valid: bool) -> None:
    assert (kit.date_problem(value, optional=optional) is None) is valid


def test_made_up_identifiers_are_valid_and_fresh() -> None:
    made = {kit.unknown_certificate_id() for _ in range(20)}
    assert len(made) == 20
    assert all(kit.certificate_id_problem(value) is None for value in made)
    assert kit.citizen_id_problem(kit.unknown_citizen_id()) is None
    assert kit.uscc_problem(kit.unknown_uscc()) is None
    code = kit.unknown_type_code({"11100000000013055L001"})
    assert kit.type_code_problem(code) is None
    assert code.endswith("999")


@given(st.text(alphabet=kit.ALNUM36, min_size=1, max_size=60))
def test_mod37_36_agrees_with_the_nodes(payload: str) -> None:
    assert kit.mod37_36_check(payload) == node.mod37_36_check(payload)


@given(st.text(alphabet=kit.USCC_CHARSET, min_size=17, max_size=17))
def test_gb_32100_agrees_with_the_nodes(first17: str) -> None:
    assert kit.uscc_check(first17) == node.uscc_check(first17)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_gb_11643_agrees_with_the_nodes(first17: str) -> None:
    assert kit.citizen_id_check(first17) == node.citizen_id_check(first17)
