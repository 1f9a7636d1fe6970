"""The files a method hands out are sealed (README "Sealed files"): the OFD carries a GB/T 38540
seal signature that verifies without the product's code and fails on one flipped byte, easyofd
reads and draws it with its verification QR code, and the PDF and PNG pages show Chinese text,
the seal and the B.3 copy line."""

from __future__ import annotations

import base64
import gc
import io
import zipfile
from pathlib import Path

import numpy as np
import orjson
import pymupdf
import pytest
import zxingcpp
from easyofd.ofd import OFD
from PIL import Image

from nodes.model.certificate import Certificate
from nodes.verification.qr import certificate_token
from tests.service.certs import ISSUER_NAME, make_certificate
from tests.service.conftest import Node
from tests.service.ofd_check import CheckFailed, check_seal, entries, with_byte_flipped
from tests.service.test_files import USE_FOR, file_url
from tests.service.test_seals import seal_of

CERT = make_certificate(70)  # what file_url issues and asks for


async def download(
    node: Node, method: str = "GetCertificateFileByCertificateID", **extra: str
) -> bytes:
    status, _, body = await node.get(await file_url(node, method, **extra))
    assert status == 200
    return body


async def stored(node: Node) -> Certificate:
    record = await node.ctx.store.certificates.record_now(CERT.CertificateID)
    assert record is not None
    return Certificate.model_validate(orjson.loads(record))


async def public_key(node: Node) -> bytes:
    record = await node.ctx.store.certificates.record_now(CERT.CertificateID)
    assert record is not None
    seal = await seal_of(node, orjson.loads(record)["CertificateSealID"])
    return bytes.fromhex(seal["publicKey"])


async def test_the_ofd_seal_verifies_independently(node: Node) -> None:
    package = await download(node)
    protected = check_seal(package, await public_key(node))
    files = entries(package)
    assert set(protected) == {name for name in files if not name.startswith("Doc_0/Signs/")}
    assert {
        "OFD.xml", "Doc_0/Document.xml", "Doc_0/PublicRes.xml", "Doc_0/Res/宋体.ttf",
        "Doc_0/Pages/Page_0/Content.xml", "Doc_0/Tags/Tag_Certificate.xml",
    } <= set(protected)  # fmt: skip
    tag = files["Doc_0/Tags/Tag_Certificate.xml"].decode()
    assert f"<ns0:CertificateHolderCode>{CERT.CertificateHolderCode}<" in tag.replace("ns1", "ns0")
    assert USE_FOR in tag  # the B.3 copy data


@pytest.mark.parametrize(
    ("name", "where", "why"),
    [
        ("Doc_0/Pages/Page_0/Content.xml", "公民身份号码值".encode(), "SM3 digest of Doc_0/Pages"),
        ("Doc_0/Res/宋体.ttf", 1000, "SM3 digest of Doc_0/Res/宋体.ttf"),
        ("OFD.xml", USE_FOR.encode(), "SM3 digest of OFD.xml"),
        ("Doc_0/Tags/Tag_Certificate.xml", b"2015-03-01", "SM3 digest of Doc_0/Tags"),
        ("Doc_0/Signs/Sign_0/Signature.xml", b'ProviderName="ecert-cascade', "dataHash"),
        ("Doc_0/Signs/Sign_0/SignedValue.dat", b"IHDR", "SM2 signature does not verify"),
    ],
)
async def test_one_flipped_byte_fails_the_seal(
    node: Node, name: str, where: int | bytes, why: str
) -> None:
    package = await download(node)
    key = await public_key(node)
    check_seal(package, key)
    with pytest.raises(CheckFailed, match=why):
        check_seal(with_byte_flipped(package, name, where), key)


# easyofd leaves the files it unpacked open; collected here, inside the test, not in another one
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_easyofd_reads_the_ofd_and_draws_its_text_seal_and_qr_code(
    node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = await download(node)
    monkeypatch.chdir(tmp_path)  # easyofd writes the embedded font to the working directory
    reader = OFD()
    reader.read(base64.b64encode(package).decode(), save_xml=False)
    pages = reader.to_jpg()
    reader.del_data()
    gc.collect()
    assert len(pages) == 1
    pixels = np.asarray(pages[0].convert("RGB")).astype(int)
    black = (pixels.max(axis=2) < 90).mean()  # text
    red = ((pixels[..., 0] > 150) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)).mean()
    assert black > 0.002, "easyofd drew no text"
    assert red > 0.002, "easyofd drew neither the seal nor the copy line"
    codes = [found.text for found in zxingcpp.read_barcodes(pages[0])]  # §8.4.2, page 1
    assert codes == [certificate_token(await stored(node))]


async def test_the_pdf_shows_chinese_text_the_copy_line_and_the_seal(node: Node) -> None:
    pdf = await download(node, Format="pdf")
    with pymupdf.open(stream=pdf, filetype="pdf") as document:
        page = document[0]
        text = page.get_text()
        images = page.get_images()
    assert all(f"{item.name}：{item.value}" in text for item in CERT.surface)
    assert f"颁发机构：{ISSUER_NAME}" in text
    assert f"{node.ctx.node.name} · 用途：{USE_FOR}" in text  # the B.3 watermark line
    assert len(images) == 2  # the seal's picture and the verification QR code (§8.4.2)


async def test_the_png_pages_show_the_seal_and_carry_its_id(node: Node) -> None:
    body = await download(node, method="GetCertificatePictureByCertificateID")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        pages = [Image.open(io.BytesIO(archive.read(name))) for name in archive.namelist()]
    assert pages
    last = pages[-1]
    pixels = np.asarray(last.convert("RGB")).astype(int)
    red = ((pixels[..., 0] > 150) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)).mean()
    assert red > 0.005  # the stamp and the copy line
    assert last.text["CertificateSealID"].startswith("ES")  # type: ignore[attr-defined]
    assert last.text["CertificateCopyCreationCause"] == USE_FOR  # type: ignore[attr-defined]
