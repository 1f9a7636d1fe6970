"""The seal's picture (印章图像): a red round stamp, drawn with Pillow as a transparent PNG.

A double red ring, the issuing authority's name set along the upper arc, a five-pointed star in
the middle and the seal's name (电子印章 or what the seal record says) beneath it, the SealID in
small digits at the bottom: what a reader of the file sees where the seal was placed.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFont

from nodes.files.fonts import FACE_INDEX, font_path

RED = (200, 16, 16, 255)
SIZE_PX = 400  # the picture is square; placed 40 mm wide it prints at ~250 dpi


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path()), size, index=FACE_INDEX)


def _star(draw: ImageDraw.ImageDraw, centre: float, radius: float) -> None:
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else radius * 0.382
        angle = math.radians(-90 + k * 36)
        points.append((centre + r * math.cos(angle), centre + r * math.sin(angle)))
    draw.polygon(points, fill=RED)


def _arc_text(image: Image.Image, text: str, radius: float, size: int) -> None:
    """``text`` along the upper arc, each character upright towards the centre."""
    if not text:
        return
    font = _font(size)
    centre = image.width / 2
    span = min(250.0, 24.0 * len(text))  # degrees the text covers, centred on the top
    step = span / max(len(text) - 1, 1)
    for index, char in enumerate(text):
        angle = -90 - span / 2 + index * step if len(text) > 1 else -90.0
        glyph = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((size, size), char, font=font, fill=RED, anchor="mm")
        rotated = glyph.rotate(-(angle + 90), resample=Image.Resampling.BICUBIC)
        x = centre + radius * math.cos(math.radians(angle)) - size
        y = centre + radius * math.sin(math.radians(angle)) - size
        image.alpha_composite(rotated, (round(x), round(y)))


def stamp_png(authority_name: str, seal_name: str, seal_id: str) -> bytes:
    """The stamp as PNG bytes (RGBA, transparent outside the ink)."""
    image = Image.new("RGBA", (SIZE_PX, SIZE_PX), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    edge = SIZE_PX * 0.02
    draw.ellipse((edge, edge, SIZE_PX - edge, SIZE_PX - edge), outline=RED, width=14)
    inner = SIZE_PX * 0.06
    draw.ellipse((inner, inner, SIZE_PX - inner, SIZE_PX - inner), outline=RED, width=3)
    _arc_text(image, authority_name[:14], SIZE_PX * 0.33, round(SIZE_PX * 0.11))
    _star(draw, SIZE_PX / 2, SIZE_PX * 0.14)
    label = seal_name.removeprefix(authority_name) or "电子印章"
    draw.text(
        (SIZE_PX / 2, SIZE_PX * 0.70),
        label[:8],
        font=_font(round(SIZE_PX * 0.08)),
        fill=RED,
        anchor="mm",
    )
    draw.text(
        (SIZE_PX / 2, SIZE_PX * 0.82),
        seal_id[-8:],
        font=_font(round(SIZE_PX * 0.05)),
        fill=RED,
        anchor="mm",
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
