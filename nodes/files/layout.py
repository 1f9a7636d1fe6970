"""The page layout all three renderings share: A4 pages, positions in millimetres from the top left.

A page holds the certificate name as its title, one block per surface item (``name：value``,
wrapped to the text width), the issuing authority and date, and the copy notice with the four B.3
items. Every page carries a watermark line at its top (``watermark``: copy time, organization
and cause, so a copy is traceable to its request), and the last page the place of the seal
(``stamp_box``: beside the issuing authority, as an issuer's stamp sits on paper). Widths are
estimated (a CJK character is one em, anything else half an em), which is what matters for
wrapping without a font at hand.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from nodes.model.certificate import Certificate, CertificateCopy

PAGE_WIDTH, PAGE_HEIGHT = 210.0, 297.0  # mm, A4
MARGIN = 20.0
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
TITLE_SIZE, BODY_SIZE, SMALL_SIZE = 9.0, 4.2, 3.5  # em heights in mm
LINE_SPACING = 1.5


@dataclass(frozen=True, slots=True)
class Block:
    """Some lines of one size; ``y`` is the block's top, line ``i`` sits on ``baseline(i)``."""

    kind: str  # title / item / footer / copy / watermark
    lines: tuple[str, ...]
    size: float
    x: float
    y: float
    value: str = ""  # the surface value an item block shows

    @property
    def width(self) -> float:
        return max((text_width(line, self.size) for line in self.lines), default=0.0)

    @property
    def height(self) -> float:
        return self.size * LINE_SPACING * len(self.lines)

    def baseline(self, index: int) -> float:
        """Offset of line ``index``'s baseline from the top of the block."""
        return self.size * (1.1 + LINE_SPACING * index)


def copy_items(copy: CertificateCopy) -> dict[str, str]:
    """The four B.3 items as text, keyed by their element names."""
    return {
        "CertificateCopyCreationTime": copy.CertificateCopyCreationTime.isoformat(),
        "CertificateCopyCreationOrganization": copy.CertificateCopyCreationOrganization,
        "CertificateCopyCreationCause": copy.CertificateCopyCreationCause,
        "CertificateCopyExpiringTime": copy.CertificateCopyExpiringTime.isoformat(),
    }


STAMP_SIZE = 40.0  # mm, the diameter of the seal's picture


def watermark(copy: CertificateCopy) -> str:
    """The line every page shows: the B.3 copy time, organization and cause."""
    return (
        f"副本 {copy.CertificateCopyCreationTime:%Y-%m-%d %H:%M:%S}"
        f" · {copy.CertificateCopyCreationOrganization} · 用途：{copy.CertificateCopyCreationCause}"
    )


def stamp_box(pages: list[list[Block]]) -> tuple[int, float, float, float, float]:
    """(page index, x, y, width, height) of the seal: centred on the issuing authority line."""
    index = len(pages) - 1
    footers = [block for block in pages[index] if block.kind == "footer"]
    anchor_y = footers[0].y + footers[0].height / 2 if footers else PAGE_HEIGHT / 2
    x = PAGE_WIDTH - MARGIN - STAMP_SIZE - 10.0
    y = max(MARGIN, min(anchor_y - STAMP_SIZE / 2, PAGE_HEIGHT - MARGIN - STAMP_SIZE))
    return index, x, y, STAMP_SIZE, STAMP_SIZE


def char_width(ch: str, size: float) -> float:
    return size if unicodedata.east_asian_width(ch) in ("W", "F") else size * 0.55


def text_width(text: str, size: float) -> float:
    return sum(char_width(ch, size) for ch in text)


def wrap(text: str, size: float, width: float = TEXT_WIDTH) -> tuple[str, ...]:
    """Break ``text`` into lines no wider than ``width`` (by character; CJK has no spaces)."""
    lines: list[str] = []
    current, used = "", 0.0
    for ch in text:
        advance = char_width(ch, size)
        if current and used + advance > width:
            lines.append(current)
            current, used = "", 0.0
        current += ch
        used += advance
    return (*lines, current) if current or not lines else tuple(lines)


def _texts(
    cert: Certificate, copy: CertificateCopy, title: str | None, with_columns: bool
) -> list[tuple[str, str, float, str]]:
    """(kind, text, size, value) of every block, in reading order."""
    rows = [("title", title or cert.CertificateName, TITLE_SIZE, "")]
    for item in cert.surface:
        label = f"{item.name} {item.columnName}" if with_columns else item.name
        rows.append(("item", f"{label}：{item.value}", BODY_SIZE, item.value))
    rows.append(("footer", f"颁发机构：{cert.CertificateIssuingAuthorityName}", BODY_SIZE, ""))
    rows.append(("footer", f"颁发日期：{cert.CertificateIssuedDate}", BODY_SIZE, ""))
    notice = (
        f"电子证照副本  证照标识：{cert.CertificateID}",
        f"副本制作时间：{copy.CertificateCopyCreationTime:%Y-%m-%d %H:%M:%S}",
        f"制作机构：{copy.CertificateCopyCreationOrganization}",
        f"用途：{copy.CertificateCopyCreationCause}",
        f"副本有效期至：{copy.CertificateCopyExpiringTime:%Y-%m-%d %H:%M:%S}",
    )
    rows.extend(("copy", line, SMALL_SIZE, "") for line in notice)
    return rows


def layout(
    cert: Certificate,
    copy: CertificateCopy,
    *,
    title: str | None = None,
    with_columns: bool = False,
) -> list[list[Block]]:
    """Pages of blocks; ``with_columns`` puts each item's ASCII ``columnName`` beside its name."""
    pages: list[list[Block]] = [[]]
    y = MARGIN
    for kind, text, size, value in _texts(cert, copy, title, with_columns):
        lines = wrap(text, size)
        gap = size * 0.8 if kind in ("title", "footer") else size * 0.3
        block_height = size * LINE_SPACING * len(lines)
        if pages[-1] and y + gap + block_height > PAGE_HEIGHT - MARGIN:
            pages.append([])
            y = MARGIN
        y += gap if pages[-1] else 0.0
        x = (PAGE_WIDTH - text_width(lines[0], size)) / 2 if kind == "title" else MARGIN
        pages[-1].append(Block(kind, lines, size, x, y, value))
        y += block_height
    mark = wrap(watermark(copy), SMALL_SIZE)[:1]
    top = MARGIN / 2 + 1.0  # inside the frame the picture draws at MARGIN / 2
    return [[Block("watermark", mark, SMALL_SIZE, MARGIN, top), *page] for page in pages]
