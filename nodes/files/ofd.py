"""OFD rendering of a certificate copy (GB/T 33190, namespace ``http://www.ofdspec.org/2016``).

The package is a zip::

    OFD.xml                          DocBody: DocInfo (DocID, Title, CreationDate, Creator,
                                     CustomDatas with CertificateID and the four B.3 items), DocRoot
    Doc_0/Document.xml               CommonData (MaxUnitID, PageArea, PublicRes), Pages
    Doc_0/PublicRes.xml              the font (宋体)
    Doc_0/Pages/Page_N/Content.xml   a Layer of TextObjects: the title and one per surface item

Units are millimetres. Every ID is unique in the document and ``MaxUnitID`` is the largest. The
XML is built with ElementTree, which escapes every value.

**No e-seal yet**: the package carries no ``Signs``/``Signatures.xml``; signing the copy with the
issuing body's seal (SM2/SM3, SPEC §7 制证签发) is a later addition.
"""

from __future__ import annotations

import uuid
from itertools import count
from xml.etree import ElementTree as ET

from nodes.files.archive import zip_bytes
from nodes.files.layout import PAGE_HEIGHT, PAGE_WIDTH, Block, copy_items, layout
from nodes.model.certificate import Certificate, CertificateCopy
from nodes.verification.qr import certificate_token

OFD_NS = "http://www.ofdspec.org/2016"
ET.register_namespace("ofd", OFD_NS)
CREATOR, CREATOR_VERSION = "ecert-cascade", "0.1.0"
FONT_NAME = "宋体"
DOC_ROOT = "Doc_0/Document.xml"


def _q(tag: str) -> str:
    return f"{{{OFD_NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), attrs)
    if text is not None:
        element.text = text
    return element


def _xml(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return data


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def doc_id(cert: Certificate, copy: CertificateCopy) -> str:
    """A 32-hex DocID that is the same for the same certificate and copy time."""
    name = f"{cert.CertificateID}/{copy.CertificateCopyCreationTime.isoformat()}"
    return uuid.uuid5(uuid.NAMESPACE_URL, name).hex


def ofd_xml(cert: Certificate, copy: CertificateCopy, title: str) -> bytes:
    root = ET.Element(_q("OFD"), {"Version": "1.0", "DocType": "OFD"})
    body = _sub(root, "DocBody")
    info = _sub(body, "DocInfo")
    _sub(info, "DocID", doc_id(cert, copy))
    _sub(info, "Title", title)
    _sub(info, "Author", cert.CertificateIssuingAuthorityName)
    _sub(info, "Subject", cert.CertificateID)
    _sub(info, "CreationDate", copy.CertificateCopyCreationTime.date().isoformat())
    _sub(info, "Creator", CREATOR)
    _sub(info, "CreatorVersion", CREATOR_VERSION)
    custom = _sub(info, "CustomDatas")
    _sub(custom, "CustomData", cert.CertificateID, Name="CertificateID")
    _sub(custom, "CustomData", certificate_token(cert), Name="VerificationToken")  # §8.4.2
    for name, value in copy_items(copy).items():
        _sub(custom, "CustomData", value, Name=name)
    _sub(body, "DocRoot", DOC_ROOT)
    return _xml(root)


def document_xml(page_ids: list[int], max_unit_id: int) -> bytes:
    root = ET.Element(_q("Document"))
    common = _sub(root, "CommonData")
    _sub(common, "MaxUnitID", str(max_unit_id))
    area = _sub(common, "PageArea")
    _sub(area, "PhysicalBox", f"0 0 {_num(PAGE_WIDTH)} {_num(PAGE_HEIGHT)}")
    _sub(common, "PublicRes", "PublicRes.xml")
    pages = _sub(root, "Pages")
    for index, page_id in enumerate(page_ids):
        _sub(pages, "Page", ID=str(page_id), BaseLoc=f"Pages/Page_{index}/Content.xml")
    return _xml(root)


def public_res_xml(font_id: int) -> bytes:
    root = ET.Element(_q("Res"), {"BaseLoc": "Res"})
    fonts = _sub(root, "Fonts")
    _sub(fonts, "Font", ID=str(font_id), FontName=FONT_NAME, FamilyName=FONT_NAME)
    return _xml(root)


def content_xml(blocks: list[Block], font_id: int, ids: count[int]) -> bytes:
    """One Layer; each block a TextObject whose TextCodes are its wrapped lines."""
    root = ET.Element(_q("Page"))
    layer = _sub(_sub(root, "Content"), "Layer", ID=str(next(ids)))
    for block in blocks:
        boundary = " ".join(_num(v) for v in (block.x, block.y, block.width, block.height))
        text = _sub(
            layer,
            "TextObject",
            ID=str(next(ids)),
            Boundary=boundary,
            Font=str(font_id),
            Size=_num(block.size),
        )
        for index, line in enumerate(block.lines):
            _sub(text, "TextCode", line, X="0", Y=_num(block.baseline(index)))
    return _xml(root)


def render_ofd(cert: Certificate, copy: CertificateCopy, *, title: str | None = None) -> bytes:
    """The copy as an OFD package (bytes of a zip); see the module docstring. Not sealed."""
    pages = layout(cert, copy, title=title)
    ids = count(1)
    font_id = next(ids)
    page_ids = [next(ids) for _ in pages]
    contents = [content_xml(blocks, font_id, ids) for blocks in pages]
    max_unit_id = next(ids) - 1
    entries = {
        "OFD.xml": ofd_xml(cert, copy, title or cert.CertificateName),
        DOC_ROOT: document_xml(page_ids, max_unit_id),
        "Doc_0/PublicRes.xml": public_res_xml(font_id),
    }
    for index, content in enumerate(contents):
        entries[f"Doc_0/Pages/Page_{index}/Content.xml"] = content
    return zip_bytes(entries, copy)
