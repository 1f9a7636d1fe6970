"""Identifiers and check characters of SPEC §2.5, against the spec's real test vectors."""

from __future__ import annotations

from datetime import date

import pytest

from nodes.model.identifiers import (
    is_certificate_id,
    is_citizen_id,
    is_uscc,
    make_certificate_id,
    make_citizen_id,
    make_uscc,
    mod37_36_check,
    parse_certificate_id,
)

REAL_CERTIFICATE_IDS = [
    "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9",
]


@pytest.mark.parametrize("value", REAL_CERTIFICATE_IDS)
def test_real_certificate_ids_pass_the_mod37_36_check(value: str) -> None:
    assert is_certificate_id(value)


@pytest.mark.parametrize("value", REAL_CERTIFICATE_IDS)
def test_a_changed_character_fails_the_check(value: str) -> None:
    parts = parse_certificate_id(value)
    serial = parts.serial[:-1] + ("1" if parts.serial[-1] != "1" else "2")
    tampered = value.replace(f".{parts.serial}.", f".{serial}.")
    with pytest.raises(ValueError, match="check character"):
        parse_certificate_id(tampered)


def test_malformed_certificate_ids_are_rejected_with_the_expected_shape() -> None:
    for value in ("", "1.2.156.3005.2.X", "2.2.156.3005.2.11100000000013338W032.1.1.001.F"):
        with pytest.raises(ValueError, match="CertificateID must read"):
            parse_certificate_id(value)


def test_made_certificate_ids_round_trip() -> None:
    value = make_certificate_id("11100000000013127D001", "11220000013544541J", "A1B2C3", version=2)
    parts = parse_certificate_id(value)
    assert (parts.serial, parts.version) == ("A1B2C3", "002")
    assert parts.check == mod37_36_check("11100000000013127D00111220000013544541JA1B2C3002")


@pytest.mark.parametrize(
    "value", ["11100000000013338W", "11220000013544541J", "91610800064834709T"]
)
def test_real_uscc_pass(value: str) -> None:
    assert is_uscc(value)


def test_uscc_with_wrong_check_or_forbidden_letter_fails() -> None:
    assert not is_uscc("11100000000013338X")
    assert not is_uscc("9161080006483470IT")  # I is not in the GB 32100 charset
    assert is_uscc(make_uscc("91230100MA1B2C3D4"))


def test_citizen_id_check() -> None:
    assert is_citizen_id("11010519491231002X")
    assert not is_citizen_id("110105194912310021")
    assert not is_citizen_id("11010519491331002X")  # month 13
    made = make_citizen_id("230102", date(1990, 5, 17), 123)
    assert is_citizen_id(made)
    assert made.startswith("23010219900517123")
