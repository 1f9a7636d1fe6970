"""The CJK font every rendering uses: WenQuanYi Micro Hei (文泉驿微米黑), a TrueType collection
shipped by the PyPI package ``paperang-p2-fonts-cjk`` (so the README's install brings it; the
font is Apache-2.0 / GPLv3-with-font-exception).

PDF (reportlab) and PNG (Pillow) read the collection's first face directly; the OFD embeds a
subset holding only the glyphs its text uses (``subset_font``, fontTools — the only module that
imports it), since OFD readers draw nothing for a font they neither find nor are given.
"""

from __future__ import annotations

import io
from importlib.resources import files
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FONT_FAMILY = "WenQuanYi Micro Hei"
FONT_FILE = Path(str(files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"))
FACE_INDEX = 0  # the collection's first face: the proportional one (the second is Mono)
# tables an OFD reader does not need to draw the text (layout and FontForge's own)
_DROPPED = ("FFTM", "GSUB", "GPOS", "GDEF")


def font_path() -> Path:
    return FONT_FILE


def subset_font(text: str) -> bytes:
    """A TrueType font (bytes of a .ttf) with the glyphs of ``text`` (and .notdef) only.

    About 0.3 s for the 30,000-glyph collection on these machines, so files are rendered off
    the event loop (``nodes.http.files``)."""
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.layout_features = []
    options.hinting = False
    options.drop_tables += list(_DROPPED)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    buffer = io.BytesIO()
    # the head table's timestamp kept: the same text gives the same bytes (a reproducible OFD)
    with TTFont(str(FONT_FILE), fontNumber=FACE_INDEX, lazy=True, recalcTimestamp=False) as font:
        subsetter.subset(font)
        font.save(buffer)
    return buffer.getvalue()
