"""Picture rendering of a certificate copy: a zip of one PNG per page (Pillow), A4 at 100 dpi.

Pillow has no CJK font of its own. The first font of ``CJK_FONTS`` found on the system is used;
without one, Pillow's default font draws what it can and Chinese glyphs come out as boxes — install
a CJK font (e.g. ``fonts-wqy-microhei`` or ``fonts-noto-cjk``) for readable Chinese. Each item is
drawn as ``name columnName：value`` so the ASCII column names keep the picture useful either way.
Each PNG carries the CertificateID and the four B.3 items as text chunks (``tEXt``; ``iTXt`` for
values that are not Latin-1, as PNG requires). No e-seal yet.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from nodes.files.archive import zip_bytes
from nodes.files.layout import MARGIN, PAGE_HEIGHT, PAGE_WIDTH, Block, copy_items, layout
from nodes.model.certificate import Certificate, CertificateCopy
from nodes.verification.qr import certificate_qr_png

DPI = 100
PX_PER_MM = DPI / 25.4
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)
AnyFont = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def cjk_font_path() -> str | None:
    """The first CJK font of CJK_FONTS present on this machine, or None."""
    return next((path for path in CJK_FONTS if Path(path).is_file()), None)


@cache
def _font(size: int) -> AnyFont:
    path = cjk_font_path()
    if path is not None:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _px(value_mm: float) -> int:
    return round(value_mm * PX_PER_MM)


def _draw_block(draw: ImageDraw.ImageDraw, block: Block) -> None:
    font = _font(_px(block.size))
    for index, line in enumerate(block.lines):
        baseline = _px(block.y + block.baseline(index))
        if isinstance(font, ImageFont.FreeTypeFont):
            draw.text((_px(block.x), baseline), line, font=font, fill=0, anchor="ls")
        else:  # a bitmap font knows neither anchors nor anything beyond Latin-1
            text = line.encode("latin-1", "replace").decode("latin-1")
            draw.text((_px(block.x), baseline - _px(block.size)), text, font=font, fill=0)


def _png_info(cert: Certificate, copy: CertificateCopy, page: int) -> PngInfo:
    info = PngInfo()
    info.add_text("CertificateID", cert.CertificateID)
    info.add_text("Page", str(page))
    for name, value in copy_items(copy).items():
        info.add_text(name, value)  # Pillow writes iTXt when the value is not Latin-1
    return info


def render_pages(cert: Certificate, copy: CertificateCopy) -> list[bytes]:
    """One grey-scale PNG per layout page."""
    pictures = []
    for number, blocks in enumerate(layout(cert, copy, with_columns=True), start=1):
        image = Image.new("L", (_px(PAGE_WIDTH), _px(PAGE_HEIGHT)), 255)
        draw = ImageDraw.Draw(image)
        edge = _px(MARGIN / 2)
        draw.rectangle((edge, edge, image.width - edge, image.height - edge), outline=0, width=2)
        for block in blocks:
            _draw_block(draw, block)
        if number == 1:  # the verification QR code (§8.4.2), bottom right of the first page
            qr = Image.open(io.BytesIO(certificate_qr_png(cert, scale=2))).convert("L")
            edge = _px(MARGIN / 2) + 4
            image.paste(qr, (image.width - edge - qr.width, image.height - edge - qr.height))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", pnginfo=_png_info(cert, copy, number), optimize=False)
        pictures.append(buffer.getvalue())
    return pictures


def render_picture_zip(cert: Certificate, copy: CertificateCopy) -> bytes:
    """The zip the picture methods hand out: ``page-001.png``, ``page-002.png``, …"""
    pages = render_pages(cert, copy)
    return zip_bytes({f"page-{n:03d}.png": png for n, png in enumerate(pages, start=1)}, copy)
