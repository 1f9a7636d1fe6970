"""Files handed out as copies of a certificate (SPEC §2.3, §3.3): OFD, PDF and a zip of PNG pages.

Every rendering records the four B.3 copy items and shows them as a watermark line; with the
signing key of the seal that sealed the certificate, the OFD is signed (GB/T 38540 practice) and
every format shows the seal's picture. ``render`` picks one by the wire's ``fileFormat``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from nodes.files.ofd import render_ofd
from nodes.files.pdf import render_pdf
from nodes.files.picture import render_picture_zip
from nodes.model.certificate import Certificate, CertificateCopy
from nodes.seals.signing import SigningKey

FileFormat = Literal["ofd", "pdf", "zip"]
MEDIA_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "ofd": "application/ofd",
        "pdf": "application/pdf",
        "zip": "application/zip",
    }
)


def render(
    cert: Certificate, copy: CertificateCopy, fmt: FileFormat, key: SigningKey | None = None
) -> tuple[bytes, str]:
    """(bytes, media type) of the copy in ``fmt``, sealed with ``key`` (the OFD signed, every
    format showing the seal's picture); a format outside FileFormat is a ValueError."""
    if fmt == "ofd":
        data = render_ofd(cert, copy, key=key)
    elif fmt == "pdf":
        data = render_pdf(cert, copy, key=key)
    elif fmt == "zip":
        data = render_picture_zip(cert, copy, key)
    else:
        raise ValueError(f"unknown file format {fmt!r}; expected ofd, pdf or zip")
    return data, MEDIA_TYPES[fmt]


__all__ = ("MEDIA_TYPES", "FileFormat", "render", "render_ofd", "render_pdf", "render_picture_zip")
