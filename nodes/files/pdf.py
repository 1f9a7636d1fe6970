"""PDF rendering of a certificate copy with reportlab.

Text is set in WenQuanYi Micro Hei (``nodes.files.fonts``), embedded as a subset by reportlab,
so Chinese shows in every reader. The document information carries the title, the
CertificateID as subject and the four B.3 items as keywords; every page shows the watermark
line of the B.3 copy data, and the last page the seal's picture where the issuer's stamp goes
(the picture only: the PDF carries no digital signature; the OFD does).
"""

from __future__ import annotations

import io
from functools import cache

from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from nodes.files.fonts import FACE_INDEX, font_path
from nodes.files.layout import PAGE_HEIGHT, PAGE_WIDTH, copy_items, layout, stamp_box
from nodes.files.stamp import stamp_png
from nodes.model.certificate import Certificate, CertificateCopy
from nodes.seals.signing import SigningKey
from nodes.verification.qr import QR_SIZE_MM, certificate_qr_png

FONT = "WenQuanYiMicroHei"
CREATOR = "ecert-cascade"
SEAL_RED = Color(200 / 255, 16 / 255, 16 / 255)


@cache
def _font() -> str:
    """Register the TrueType font once per process (reportlab keeps a global registry)."""
    pdfmetrics.registerFont(TTFont(FONT, str(font_path()), subfontIndex=FACE_INDEX))
    return FONT


def keywords(cert: Certificate, copy: CertificateCopy) -> list[str]:
    """``CertificateID=…`` and ``<B.3 element>=…`` for the document information."""
    items = {"CertificateID": cert.CertificateID, **copy_items(copy)}
    return [f"{name}={value}" for name, value in items.items()]


def render_pdf(
    cert: Certificate,
    copy: CertificateCopy,
    *,
    title: str | None = None,
    key: SigningKey | None = None,
) -> bytes:
    """The copy as a PDF: one A4 page per layout page, title and ``name：value`` lines."""
    font = _font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH * mm, PAGE_HEIGHT * mm), pageCompression=1)
    canvas.setTitle(title or cert.CertificateName)
    canvas.setSubject(cert.CertificateID)
    canvas.setAuthor(cert.CertificateIssuingAuthorityName)
    canvas.setCreator(CREATOR)
    canvas.setKeywords(keywords(cert, copy))
    qr = ImageReader(io.BytesIO(certificate_qr_png(cert)))  # §8.4.2, bottom right of page 1
    pages = layout(cert, copy, title=title)
    stamp_page, x, y, width, height = stamp_box(pages)
    for number, blocks in enumerate(pages):
        if number == 0:
            corner = (PAGE_WIDTH - QR_SIZE_MM - 11) * mm, 11 * mm
            canvas.drawImage(qr, *corner, width=QR_SIZE_MM * mm, height=QR_SIZE_MM * mm)
        for block in blocks:
            canvas.setFont(font, block.size * mm)
            canvas.setFillColor(SEAL_RED if block.kind == "watermark" else Color(0, 0, 0))
            for index, line in enumerate(block.lines):
                baseline = PAGE_HEIGHT - block.y - block.baseline(index)
                canvas.drawString(block.x * mm, baseline * mm, line)
        if key is not None and number == stamp_page:
            seal = key.seal
            picture = stamp_png(seal.CertificateIssuingAuthorityName, seal.SealName, seal.SealID)
            bottom = PAGE_HEIGHT - y - height
            image = ImageReader(io.BytesIO(picture))
            canvas.drawImage(image, x * mm, bottom * mm, width * mm, height * mm, mask="auto")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
