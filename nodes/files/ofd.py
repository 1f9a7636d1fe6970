"""OFD rendering of a certificate copy (GB/T 33190, namespace ``http://www.ofdspec.org/2016``),
sealed per GB/T 38540 practice. The package is a zip::

    OFD.xml                          DocBody: DocInfo (DocID, Title, CreationDate, Creator,
                                     CustomDatas: CertificateID, VerificationToken,
                                     CertificateSealID and the four B.3 items), DocRoot,
                                     Signatures
    Doc_0/Document.xml               CommonData (MaxUnitID, PageArea, PublicRes, DocumentRes),
                                     Pages, CustomTags
    Doc_0/PublicRes.xml              the font (宋体), with its FontFile (embedded: readers draw
                                     nothing for a font they neither have nor are given)
    Doc_0/Res/宋体.ttf               a subset of WenQuanYi Micro Hei with the glyphs used
    Doc_0/DocumentRes.xml            the verification QR code's picture (a MultiMedia)
    Doc_0/Res/VerificationQR.png     the QR code of the certificate's verification token
    Doc_0/Pages/Page_N/Content.xml   a Layer of TextObjects: the watermark line (B.3), the
                                     title, one per surface item, issuer, copy notice; on the
                                     first page the QR code (an ImageObject), bottom right
    Doc_0/Tags/CustomTags.xml        the custom tag index, naming Tag_Certificate.xml
    Doc_0/Tags/Tag_Certificate.xml   the B.1 items and the B.3 copy data as XML
                                     (namespace ``urn:db23t2836:certificate``)
    Doc_0/Signs/Signatures.xml       the signature list (``nodes.files.ofd_sign``)
    Doc_0/Signs/Sign_0/Signature.xml SignedInfo: SM3 digests of every file above, StampAnnot
    Doc_0/Signs/Sign_0/SignedValue.dat  SES_Signature (``nodes.files.ses``) with the seal image

Units are millimetres. Every ID is unique in the document and ``MaxUnitID`` is the largest. The
XML is built with ElementTree, which escapes every value. Without a signing key (the authority
has no seal here) the package has no ``Signs`` and DocBody no Signatures.
"""

from __future__ import annotations

import uuid
from itertools import count
from xml.etree import ElementTree as ET

from nodes.files.archive import zip_bytes
from nodes.files.fonts import subset_font
from nodes.files.layout import PAGE_HEIGHT, PAGE_WIDTH, Block, char_width, copy_items, layout
from nodes.files.ofd_sign import SIGNATURES, sign_package
from nodes.files.ofd_xml import OFD_NS, num, sub, tree_bytes
from nodes.model.certificate import Certificate, CertificateCopy
from nodes.seals.canonical import B1_ITEMS
from nodes.seals.signing import SigningKey
from nodes.verification.qr import QR_SIZE_MM, certificate_qr_png, certificate_token

CREATOR, CREATOR_VERSION = "ecert-cascade", "0.1.0"
DOC_ROOT = "Doc_0/Document.xml"
# The font is declared as 宋体, the face Chinese certificates are set in (a reader that has SimSun
# may use it), and its glyphs are embedded from WenQuanYi Micro Hei under the file name 宋体.ttf:
# easyofd (20260427) draws every text in the font it registers from an embedded file's stem, and
# asks for "宋体" whatever the document says.
FONT_NAME = "宋体"
FONT_FILE = f"{FONT_NAME}.ttf"
TAG_NS = "urn:db23t2836:certificate"
QR_FILE = "VerificationQR.png"
WATERMARK_COLOUR = "200 16 16"  # RGB: the copy data line in seal red


def _q(tag: str) -> str:
    return f"{{{OFD_NS}}}{tag}"


def doc_id(cert: Certificate, copy: CertificateCopy) -> str:
    """A 32-hex DocID that is the same for the same certificate and copy time."""
    name = f"{cert.CertificateID}/{copy.CertificateCopyCreationTime.isoformat()}"
    return uuid.uuid5(uuid.NAMESPACE_URL, name).hex


def ofd_xml(cert: Certificate, copy: CertificateCopy, title: str, *, signed: bool) -> bytes:
    root = ET.Element(_q("OFD"), {"Version": "1.0", "DocType": "OFD"})
    body = sub(root, "DocBody")
    info = sub(body, "DocInfo")
    sub(info, "DocID", doc_id(cert, copy))
    sub(info, "Title", title)
    sub(info, "Author", cert.CertificateIssuingAuthorityName)
    sub(info, "Subject", cert.CertificateID)
    sub(info, "CreationDate", copy.CertificateCopyCreationTime.date().isoformat())
    sub(info, "Creator", CREATOR)
    sub(info, "CreatorVersion", CREATOR_VERSION)
    custom = sub(info, "CustomDatas")
    sub(custom, "CustomData", cert.CertificateID, Name="CertificateID")
    sub(custom, "CustomData", certificate_token(cert), Name="VerificationToken")  # §8.4.2
    if cert.CertificateSealID:
        sub(custom, "CustomData", cert.CertificateSealID, Name="CertificateSealID")
    for name, value in copy_items(copy).items():
        sub(custom, "CustomData", value, Name=name)
    sub(body, "DocRoot", DOC_ROOT)
    if signed:
        sub(body, "Signatures", SIGNATURES)
    return tree_bytes(root)


def document_xml(page_ids: list[int], max_unit_id: int) -> bytes:
    root = ET.Element(_q("Document"))
    common = sub(root, "CommonData")
    sub(common, "MaxUnitID", str(max_unit_id))
    area = sub(common, "PageArea")
    sub(area, "PhysicalBox", f"0 0 {num(PAGE_WIDTH)} {num(PAGE_HEIGHT)}")
    sub(common, "PublicRes", "PublicRes.xml")
    sub(common, "DocumentRes", "DocumentRes.xml")
    pages = sub(root, "Pages")
    for index, page_id in enumerate(page_ids):
        sub(pages, "Page", ID=str(page_id), BaseLoc=f"Pages/Page_{index}/Content.xml")
    sub(root, "CustomTags", "Tags/CustomTags.xml")
    return tree_bytes(root)


def public_res_xml(font_id: int) -> bytes:
    root = ET.Element(_q("Res"), {"BaseLoc": "Res"})
    fonts = sub(root, "Fonts")
    font = sub(fonts, "Font", ID=str(font_id), FontName=FONT_NAME, FamilyName=FONT_NAME)
    sub(font, "FontFile", FONT_FILE)
    return tree_bytes(root)


def document_res_xml(qr_id: int) -> bytes:
    """The document's own resources: the verification QR code's picture (§8.4.2)."""
    root = ET.Element(_q("Res"), {"BaseLoc": "Res"})
    media = sub(sub(root, "MultiMedias"), "MultiMedia", ID=str(qr_id), Type="Image", Format="PNG")
    sub(media, "MediaFile", QR_FILE)
    return tree_bytes(root)


def custom_tags_xml() -> bytes:
    root = ET.Element(_q("CustomTags"))
    tag = sub(root, "CustomTag", NameSpace=TAG_NS)
    sub(tag, "FileLoc", "Tag_Certificate.xml")
    return tree_bytes(root)


def certificate_tag_xml(cert: Certificate, copy: CertificateCopy) -> bytes:
    """The B.1 items and the B.3 copy data, element names as the standard's."""
    root = ET.Element(f"{{{TAG_NS}}}Certificate")
    record = cert.to_record()
    for name in B1_ITEMS:
        ET.SubElement(root, f"{{{TAG_NS}}}{name}").text = str(record.get(name, ""))
    copy_element = ET.SubElement(root, f"{{{TAG_NS}}}CertificateCopy")
    for name, value in copy_items(copy).items():
        ET.SubElement(copy_element, f"{{{TAG_NS}}}{name}").text = value
    return tree_bytes(root)


def content_xml(
    blocks: list[Block], font_id: int, ids: count[int], *, qr_id: int | None = None
) -> bytes:
    """One Layer; each block a TextObject whose TextCodes are its wrapped lines; with ``qr_id``,
    the verification QR code at the bottom right, as the PDF and the pictures have it."""
    root = ET.Element(_q("Page"))
    layer = sub(sub(root, "Content"), "Layer", ID=str(next(ids)))
    if qr_id is not None:
        x, y = PAGE_WIDTH - QR_SIZE_MM - 11, PAGE_HEIGHT - QR_SIZE_MM - 11
        size = num(QR_SIZE_MM)
        sub(
            layer,
            "ImageObject",
            ID=str(next(ids)),
            Boundary=f"{num(x)} {num(y)} {size} {size}",
            CTM=f"{size} 0 0 {size} 0 0",
            ResourceID=str(qr_id),
        )
    for block in blocks:
        boundary = " ".join(num(v) for v in (block.x, block.y, block.width, block.height))
        text = sub(
            layer,
            "TextObject",
            ID=str(next(ids)),
            Boundary=boundary,
            Font=str(font_id),
            Size=num(block.size),
        )
        if block.kind == "watermark":
            sub(text, "FillColor", Value=WATERMARK_COLOUR)
        for index, line in enumerate(block.lines):
            advances = {"DeltaX": delta_x(line, block.size)} if len(line) > 1 else {}
            sub(text, "TextCode", line, X="0", Y=num(block.baseline(index)), **advances)
    return tree_bytes(root)


def delta_x(line: str, size: float) -> str:
    """The advance from each character to the next (one em for CJK, 0.55 em otherwise: the
    widths the layout wraps by), so a reader places every glyph where the layout did."""
    return " ".join(num(char_width(char, size)) for char in line[:-1])


def render_ofd(
    cert: Certificate,
    copy: CertificateCopy,
    *,
    title: str | None = None,
    key: SigningKey | None = None,
) -> bytes:
    """The copy as an OFD package (bytes of a zip), sealed with ``key`` when given."""
    pages = layout(cert, copy, title=title)
    ids = count(1)
    font_id, qr_id = next(ids), next(ids)
    page_ids = [next(ids) for _ in pages]
    contents = [
        content_xml(blocks, font_id, ids, qr_id=qr_id if number == 0 else None)
        for number, blocks in enumerate(pages)
    ]
    text = "".join(line for blocks in pages for block in blocks for line in block.lines)
    entries = {
        "OFD.xml": ofd_xml(cert, copy, title or cert.CertificateName, signed=key is not None),
        "Doc_0/PublicRes.xml": public_res_xml(font_id),
        f"Doc_0/Res/{FONT_FILE}": subset_font(text),
        "Doc_0/DocumentRes.xml": document_res_xml(qr_id),
        f"Doc_0/Res/{QR_FILE}": certificate_qr_png(cert),
        "Doc_0/Tags/CustomTags.xml": custom_tags_xml(),
        "Doc_0/Tags/Tag_Certificate.xml": certificate_tag_xml(cert, copy),
    }
    for index, content in enumerate(contents):
        entries[f"Doc_0/Pages/Page_{index}/Content.xml"] = content
    max_unit_id = next(ids) - 1
    stamp_id = max_unit_id = max_unit_id + (key is not None)  # the StampAnnot's, when sealed
    entries[DOC_ROOT] = document_xml(page_ids, max_unit_id)
    if key is not None:
        entries.update(
            sign_package(
                entries, key=key, pages=pages, page_ids=page_ids, stamp_id=stamp_id, copy=copy
            )
        )
    return zip_bytes(dict(sorted(entries.items(), key=lambda item: item[0] != "OFD.xml")), copy)
