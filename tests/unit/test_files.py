"""Renderings of a certificate copy: the OFD package, the PDF and the zip of PNG pages all carry
the certificate's surface and the four B.3 copy items."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

import pymupdf
import pytest
from PIL import Image

from nodes.files import MEDIA_TYPES, render
from nodes.files.ofd import render_ofd
from nodes.files.ofd_xml import OFD_NS
from nodes.files.pdf import render_pdf
from nodes.files.picture import render_picture_zip
from nodes.model.certificate import Certificate, CertificateCopy, SurfaceItem
from nodes.model.identifiers import make_certificate_id, make_uscc
from nodes.synth.catalogue import BUSINESS_LICENCE
from nodes.verification.qr import certificate_token

NS = {"ofd": OFD_NS}
CST = timezone(timedelta(hours=8))
SCOPE = "预包装食品销售；散装食品销售；" * 8  # long enough to wrap onto several lines


@pytest.fixture
def cert() -> Certificate:
    values = {
        "ENTNAME": "哈尔滨恒达食品有限公司",
        "dom": "黑龙江省哈尔滨市南岗区学府路52号",
        "name": "王伟",
        "REPORTTYPE": "有限责任公司（自然人投资或控股）",
        "regcap": "500万元人民币",
        "opscope": SCOPE,
        "regstate": "存续（在营、开业、在册）",
        "compform": "无",
        "oploc": "黑龙江省哈尔滨市南岗区学府路52号",
        "otherinfo": '<无> & "无"',
        "puburl": "http://www.gsxt.gov.cn",
        "estdate": "2015-03-01",
    }
    issuer, holder = make_uscc("11230100000012345"), make_uscc("91230100MA1BX0000")
    return Certificate(
        CertificateID=make_certificate_id(BUSINESS_LICENCE, issuer, "000000016"),
        CertificateName="营业执照",
        CertificateTypeName="营业执照",
        CertificateTypeCode=BUSINESS_LICENCE,
        CertificateIssuingAuthorityName="哈尔滨市市场监督管理局",
        CertificateIssuingAuthorityCode=issuer,
        CertificateAreaCode="230100",
        CertificateHolderName="哈尔滨恒达食品有限公司",
        CertificateHolderCode=holder,
        CertificateHolderTypeCode="001",
        CertificateNumber=holder,
        CertificateIssuedDate="2015-03-01",
        surface=[SurfaceItem(name=n, columnName=c, value=v) for n, c, v in _names(values)],
    )


def _names(values: dict[str, str]) -> list[tuple[str, str, str]]:
    labels = (
        "名称",
        "住所",
        "法定代表人",
        "类型",
        "注册资本",
        "经营范围",
        "登记状态",
        "组成形式",
        "经营场所",
        "其他信息",
        "企业信用信息公示系统网址",
        "成立日期",
    )
    return [
        (label, column, value)
        for label, (column, value) in zip(labels, values.items(), strict=True)
    ]


@pytest.fixture
def copy() -> CertificateCopy:
    return CertificateCopy(
        CertificateCopyCreationTime=datetime(2026, 1, 2, 9, 30, tzinfo=CST),
        CertificateCopyCreationOrganization="黑龙江省电子证照共享系统",
        CertificateCopyCreationCause="办理银行开户 <对公> & 核验",
        CertificateCopyExpiringTime=datetime(2026, 1, 2, 9, 40, tzinfo=CST),
    )


def copy_values(copy: CertificateCopy) -> dict[str, str]:
    return {
        "CertificateCopyCreationTime": copy.CertificateCopyCreationTime.isoformat(),
        "CertificateCopyCreationOrganization": copy.CertificateCopyCreationOrganization,
        "CertificateCopyCreationCause": copy.CertificateCopyCreationCause,
        "CertificateCopyExpiringTime": copy.CertificateCopyExpiringTime.isoformat(),
    }


# -- OFD ------------------------------------------------------------------------------------------


def test_ofd_package_names_a_doc_root_that_exists(cert: Certificate, copy: CertificateCopy) -> None:
    package = zipfile.ZipFile(io.BytesIO(render_ofd(cert, copy)))
    ofd = ET.fromstring(package.read("OFD.xml"))
    assert ofd.tag == f"{{{OFD_NS}}}OFD"
    root = ofd.findtext("ofd:DocBody/ofd:DocRoot", namespaces=NS)
    assert root == "Doc_0/Document.xml"
    assert root in package.namelist()
    info = ofd.find("ofd:DocBody/ofd:DocInfo", NS)
    assert info is not None
    assert re.fullmatch(r"[0-9a-f]{32}", info.findtext("ofd:DocID", namespaces=NS) or "")
    assert info.findtext("ofd:Title", namespaces=NS) == "营业执照"
    assert info.findtext("ofd:CreationDate", namespaces=NS) == "2026-01-02"
    assert info.findtext("ofd:Creator", namespaces=NS)


def test_ofd_custom_datas_carry_the_copy_items(cert: Certificate, copy: CertificateCopy) -> None:
    package = zipfile.ZipFile(io.BytesIO(render_ofd(cert, copy, title="营业执照（副本）")))
    ofd = ET.fromstring(package.read("OFD.xml"))
    custom = {
        item.get("Name"): item.text
        for item in ofd.iterfind("ofd:DocBody/ofd:DocInfo/ofd:CustomDatas/ofd:CustomData", NS)
    }
    token = certificate_token(cert)  # the QR code's verification token (§8.4.2)
    assert custom == {
        "CertificateID": cert.CertificateID,
        "VerificationToken": token,
        **copy_values(copy),
    }
    assert ofd.findtext("ofd:DocBody/ofd:DocInfo/ofd:Title", namespaces=NS) == "营业执照（副本）"


def test_ofd_pages_lay_out_every_surface_value(cert: Certificate, copy: CertificateCopy) -> None:
    package = zipfile.ZipFile(io.BytesIO(render_ofd(cert, copy)))
    document = ET.fromstring(package.read("Doc_0/Document.xml"))
    assert document.findtext("ofd:CommonData/ofd:PublicRes", namespaces=NS) == "PublicRes.xml"
    assert document.find("ofd:CommonData/ofd:PageArea/ofd:PhysicalBox", NS) is not None
    font = ET.fromstring(package.read("Doc_0/PublicRes.xml")).find("ofd:Fonts/ofd:Font", NS)
    assert font is not None
    assert font.get("FontName") == "宋体"
    objects: list[str] = []
    ids: list[int] = []
    for page in document.iterfind("ofd:Pages/ofd:Page", NS):
        ids.append(int(page.get("ID", "0")))
        content = ET.fromstring(package.read(f"Doc_0/{page.get('BaseLoc')}"))
        for element in content.iter():
            if element.get("ID"):
                ids.append(int(element.get("ID", "0")))
        for text in content.iterfind(".//ofd:TextObject", NS):
            assert text.get("Font") == font.get("ID")
            assert len((text.get("Boundary") or "").split()) == 4
            assert text.get("Size")
            codes = text.findall("ofd:TextCode", NS)
            assert all(code.get("X") and code.get("Y") for code in codes)
            objects.append("".join(code.text or "" for code in codes))
    assert objects[0].startswith("副本 ")  # the B.3 watermark line
    assert objects[1] == "营业执照"
    for item in cert.surface:
        assert f"{item.name}：{item.value}" in objects
    assert len(ids) == len(set(ids))
    max_unit = int(document.findtext("ofd:CommonData/ofd:MaxUnitID", namespaces=NS) or "0")
    assert max_unit == max([*ids, int(font.get("ID", "0"))])


# -- PDF ------------------------------------------------------------------------------------------


def pdf_literal(data: bytes, start: int) -> str:
    """Decode the PDF literal string that opens at ``data[start] == b'('``."""
    out, depth, index = bytearray(), 0, start
    escapes = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while True:
        byte = data[index]
        if byte == ord("\\"):
            nxt = data[index + 1]
            octal = re.match(rb"[0-7]{1,3}", data[index + 1 : index + 4])
            if octal:
                out.append(int(octal.group(), 8) & 0xFF)
                index += 1 + len(octal.group())
                continue
            out.append(escapes.get(nxt, nxt))
            index += 2
            continue
        depth += (byte == ord("(")) - (byte == ord(")"))
        if depth == 0:
            break
        if index != start:
            out.append(byte)
        index += 1
    raw = bytes(out)
    return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")


def pdf_info(data: bytes, key: str) -> str:
    return pdf_literal(data, data.index(f"/{key} (".encode()) + len(key) + 2)


def pdf_page_text(data: bytes) -> str:
    """The text of every page, as a PDF reader (PyMuPDF) extracts it."""
    with pymupdf.open(stream=data, filetype="pdf") as document:
        return "".join(page.get_text().replace("\n", "") for page in document)  # lines joined


def test_pdf_carries_metadata_and_the_surface(cert: Certificate, copy: CertificateCopy) -> None:
    data = render_pdf(cert, copy)
    assert data.startswith(b"%PDF-")
    assert b"WenQuanYiMicroHei" in data  # the CJK font, embedded
    assert pdf_info(data, "Subject") == cert.CertificateID
    assert pdf_info(data, "Title") == "营业执照"
    keywords = pdf_info(data, "Keywords")
    for name, value in copy_values(copy).items():
        assert f"{name}={value}" in keywords
    text = pdf_page_text(data)
    for item in cert.surface:
        assert item.value in text, item.columnName
    assert copy.CertificateCopyCreationCause in text


# -- pictures -------------------------------------------------------------------------------------


def test_picture_zip_holds_pngs_with_the_copy_items(
    cert: Certificate, copy: CertificateCopy
) -> None:
    archive = zipfile.ZipFile(io.BytesIO(render_picture_zip(cert, copy)))
    names = archive.namelist()
    assert names
    assert all(name.endswith(".png") for name in names)
    for name in names:
        image = Image.open(io.BytesIO(archive.read(name)))
        assert image.format == "PNG"
        assert image.width > 700
        assert image.height > image.width
        text = image.text  # type: ignore[attr-defined]
        assert text["CertificateID"] == cert.CertificateID
        for key, value in copy_values(copy).items():
            assert text[key] == value
        assert image.convert("L").getextrema()[0] == 0  # something was drawn


# -- dispatch -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "magic"), [("ofd", b"PK"), ("pdf", b"%PDF"), ("zip", b"PK")])
def test_render_answers_bytes_and_media_type(
    cert: Certificate, copy: CertificateCopy, fmt: str, magic: bytes
) -> None:
    data, media_type = render(cert, copy, fmt)  # type: ignore[arg-type]
    assert data.startswith(magic)
    assert (
        media_type
        == MEDIA_TYPES[fmt]
        == {"ofd": "application/ofd", "pdf": "application/pdf", "zip": "application/zip"}[fmt]
    )


def test_render_refuses_an_unknown_format(cert: Certificate, copy: CertificateCopy) -> None:
    with pytest.raises(ValueError, match="unknown file format"):
        render(cert, copy, "docx")  # type: ignore[arg-type]


def test_the_same_copy_renders_the_same_ofd(cert: Certificate, copy: CertificateCopy) -> None:
    assert render_ofd(cert, copy) == render_ofd(cert, copy)
