"""PDF rendering of a certificate copy with reportlab.

Text is set in the Adobe CID font ``STSong-Light`` (``UnicodeCIDFont``), which every PDF reader
supplies for Chinese, so no font file ships with the project. The document information carries
the title, the CertificateID as subject and the four B.3 items as keywords. No e-seal yet.
"""

from __future__ import annotations

import io
from functools import cache

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from nodes.files.layout import PAGE_HEIGHT, PAGE_WIDTH, copy_items, layout
from nodes.model.certificate import Certificate, CertificateCopy
from nodes.verification.qr import QR_SIZE_MM, certificate_qr_png

FONT = "STSong-Light"
CREATOR = "ecert-cascade"


@cache
def _font() -> str:
    """Register the CID font once per process (reportlab keeps a global registry)."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def keywords(cert: Certificate, copy: CertificateCopy) -> list[str]:
    """``CertificateID=…`` and ``<B.3 element>=…`` for the document information."""
    items = {"CertificateID": cert.CertificateID, **copy_items(copy)}
    return [f"{name}={value}" for name, value in items.items()]


def render_pdf(cert: Certificate, copy: CertificateCopy, *, title: str | None = None) -> bytes:
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
    for number, blocks in enumerate(layout(cert, copy, title=title), start=1):
        if number == 1:
            corner = (PAGE_WIDTH - QR_SIZE_MM - 11) * mm, 11 * mm
            canvas.drawImage(qr, *corner, width=QR_SIZE_MM * mm, height=QR_SIZE_MM * mm)
        for block in blocks:
            canvas.setFont(font, block.size * mm)
            for index, line in enumerate(block.lines):
                baseline = PAGE_HEIGHT - block.y - block.baseline(index)
                canvas.drawString(block.x * mm, baseline * mm, line)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
