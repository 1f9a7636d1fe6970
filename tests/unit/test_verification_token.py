"""QR verification tokens: they round-trip, any one changed character is caught by the token's
own check, the digest follows the data, and the QR code on a rendered page reads back (with an
independent reader, zxing-cpp) as the certificate's token."""

from __future__ import annotations

import io
import string
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
import zxingcpp
from PIL import Image

from nodes.files.pdf import render_pdf
from nodes.files.picture import render_picture_zip
from nodes.model.certificate import Certificate, CertificateCopy
from nodes.sharing.items import data_item
from nodes.verification.qr import certificate_token
from nodes.verification.token import TokenInvalid, data_digest, make_token, read_token
from tests.unit.test_files import cert  # noqa: F401  (the fixture)

ID = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
ITEM = {"certificateName": "营业执照", "issueDate": "2015-03-01", "certificateValidateEnd": ""}
BASE32 = string.ascii_uppercase + "234567"


def test_a_token_names_its_certificate_and_data() -> None:
    token = read_token(make_token(ID, ITEM))
    assert token.certificate_id == ID
    assert token.digest == data_digest(ITEM)


def test_a_token_is_read_in_lower_case_and_with_spaces_around() -> None:
    assert read_token(f"  {make_token(ID, ITEM).lower()}\n").certificate_id == ID


def test_the_digest_changes_with_any_canonical_value() -> None:
    assert data_digest(ITEM) != data_digest({**ITEM, "issueDate": "2015-03-02"})
    assert data_digest(ITEM) != data_digest({**ITEM, "certificateHolder": "某人"})


def test_every_single_changed_character_is_refused_by_the_check() -> None:
    token = make_token(ID, ITEM)
    for index, char in enumerate(token):
        for other in (
            BASE32[(BASE32.index(char) + 1) % 32],
            BASE32[(BASE32.index(char) + 17) % 32],
        ):
            forged = token[:index] + other + token[index + 1 :]
            with pytest.raises(TokenInvalid):
                read_token(forged)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("NOT-BASE32!", "not base32"),
        ("AAAA", "not a format-1"),
        ("A" * 401, "longer than"),
    ],
)
def test_what_is_not_a_token_says_why(text: str, why: str) -> None:
    with pytest.raises(TokenInvalid, match=why):
        read_token(text)


def a_copy() -> CertificateCopy:
    """The B.3 copy data of a file handed out at Harbin."""
    now = datetime(2026, 12, 5, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    return CertificateCopy(
        CertificateCopyCreationTime=now,
        CertificateCopyCreationOrganization="哈尔滨市",
        CertificateCopyCreationCause="核验",
        CertificateCopyExpiringTime=now + timedelta(minutes=10),
    )


def test_the_qr_code_on_a_picture_reads_back_as_the_certificate_token(cert: Certificate) -> None:  # noqa: F811
    copy = a_copy()
    with zipfile.ZipFile(io.BytesIO(render_picture_zip(cert, copy))) as archive:
        page = Image.open(io.BytesIO(archive.read("page-001.png")))
    texts = [result.text for result in zxingcpp.read_barcodes(page)]
    assert texts == [certificate_token(cert)]
    assert read_token(texts[0]).digest == data_digest(data_item(cert.to_record()))


def test_the_pdf_carries_the_qr_code_as_an_image(cert: Certificate) -> None:  # noqa: F811
    copy = a_copy()
    assert b"/Subtype /Image" in render_pdf(cert, copy)
