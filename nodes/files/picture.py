"""Picture rendering of a certificate copy: a zip of one PNG per page (Pillow), A4 at 100 dpi.

Text is drawn in WenQuanYi Micro Hei (``nodes.files.fonts``, from a PyPI package), so Chinese
shows on every machine. Each item is drawn as ``name columnName：value``. Every page shows the
watermark line of the B.3 copy data in seal red, and the last page the seal's picture beside the
issuing authority. Each PNG carries the CertificateID, CertificateSealID and the four B.3 items
as text chunks (``tEXt``; ``iTXt`` for values that are not Latin-1, as PNG requires).
"""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from nodes.files.archive import zip_bytes
from nodes.files.fonts import FACE_INDEX, font_path
from nodes.files.layout import (
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Block,
    copy_items,
    layout,
    stamp_box,
)
from nodes.files.stamp import stamp_png
from nodes.model.certificate import Certificate, CertificateCopy
from nodes.seals.signing import SigningKey
from nodes.verification.qr import certificate_qr_png

DPI = 100
PX_PER_MM = DPI / 25.4
BLACK, SEAL_RED, WHITE = (0, 0, 0), (200, 16, 16), (255, 255, 255)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path()), size, index=FACE_INDEX)


def _px(value_mm: float) -> int:
    return round(value_mm * PX_PER_MM)


def _draw_block(draw: ImageDraw.ImageDraw, block: Block) -> None:
    font = _font(_px(block.size))
    colour = SEAL_RED if block.kind == "watermark" else BLACK
    for index, line in enumerate(block.lines):
        baseline = _px(block.y + block.baseline(index))
        draw.text((_px(block.x), baseline), line, font=font, fill=colour, anchor="ls")


def _png_info(cert: Certificate, copy: CertificateCopy, page: int) -> PngInfo:
    info = PngInfo()
    info.add_text("CertificateID", cert.CertificateID)
    if cert.CertificateSealID:
        info.add_text("CertificateSealID", cert.CertificateSealID)
    info.add_text("Page", str(page))
    for name, value in copy_items(copy).items():
        info.add_text(name, value)  # Pillow writes iTXt when the value is not Latin-1
    return info


def _stamp(image: Image.Image, key: SigningKey, box: tuple[float, float, float, float]) -> None:
    seal = key.seal
    drawn = stamp_png(seal.CertificateIssuingAuthorityName, seal.SealName, seal.SealID)
    x, y, width, height = box
    picture = Image.open(io.BytesIO(drawn)).resize(
        (_px(width), _px(height)), Image.Resampling.LANCZOS
    )
    image.paste(picture, (_px(x), _px(y)), picture)


def render_pages(
    cert: Certificate, copy: CertificateCopy, key: SigningKey | None = None
) -> list[bytes]:
    """One PNG per layout page."""
    pages = layout(cert, copy, with_columns=True)
    stamp_page, *box = stamp_box(pages)
    pictures = []
    for number, blocks in enumerate(pages, start=1):
        image = Image.new("RGB", (_px(PAGE_WIDTH), _px(PAGE_HEIGHT)), WHITE)
        draw = ImageDraw.Draw(image)
        edge = _px(MARGIN / 2)
        draw.rectangle(
            (edge, edge, image.width - edge, image.height - edge), outline=BLACK, width=2
        )
        for block in blocks:
            _draw_block(draw, block)
        if number == 1:  # the verification QR code (§8.4.2), bottom right of the first page
            qr = Image.open(io.BytesIO(certificate_qr_png(cert, scale=2))).convert("L")
            edge = _px(MARGIN / 2) + 4
            image.paste(qr, (image.width - edge - qr.width, image.height - edge - qr.height))
        if key is not None and number - 1 == stamp_page:
            _stamp(image, key, (box[0], box[1], box[2], box[3]))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", pnginfo=_png_info(cert, copy, number), optimize=False)
        pictures.append(buffer.getvalue())
    return pictures


def render_picture_zip(
    cert: Certificate, copy: CertificateCopy, key: SigningKey | None = None
) -> bytes:
    """The zip the picture methods hand out: ``page-001.png``, ``page-002.png``, …"""
    pages = render_pages(cert, copy, key)
    return zip_bytes({f"page-{n:03d}.png": png for n, png in enumerate(pages, start=1)}, copy)
