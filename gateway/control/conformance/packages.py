"""What a downloaded copy must be: an OFD package (GB/T 33190) or a zip of PNG pages (pure).

Each function lists what is wrong with the bytes (an empty list: nothing).
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree as ET

OFD_NS = "http://www.ofdspec.org/2016"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _archive(raw: bytes) -> zipfile.ZipFile | str:
    try:
        return zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        return f"the file is not a zip archive (starts {raw[:16]!r})"


def ofd_problems(raw: bytes, use_for: str) -> list[str]:
    """A GB/T 33190 package: ``OFD.xml`` with an ``ofd:OFD`` root whose ``DocBody/DocRoot``
    names a document inside the package; the copy records the caller's UseFor (B.3
    CertificateCopyCreationCause)."""
    archive = _archive(raw)
    if isinstance(archive, str):
        return [archive]
    with archive:
        names = set(archive.namelist())
        if "OFD.xml" not in names:
            return [f"no OFD.xml at the root of the package (it holds {sorted(names)[:8]})"]
        text = archive.read("OFD.xml")
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            return [f"OFD.xml is not XML: {exc}"]
        if root.tag != f"{{{OFD_NS}}}OFD":
            return [f"the root of OFD.xml is {root.tag}, not {{{OFD_NS}}}OFD"]
        doc_root = root.findtext(f"{{{OFD_NS}}}DocBody/{{{OFD_NS}}}DocRoot", "").strip("/ ")
        problems = []
        if doc_root not in names:
            problems.append(f"OFD.xml's DocBody/DocRoot {doc_root!r} is not in the package")
        else:
            try:
                ET.fromstring(archive.read(doc_root))
            except ET.ParseError as exc:
                problems.append(f"{doc_root} is not XML: {exc}")
        if use_for not in text.decode("utf-8", errors="replace"):
            problems.append(
                f"OFD.xml does not record the copy's cause (B.3 CertificateCopyCreationCause):"
                f" the UseFor sent, {use_for!r}"
            )
        return problems


def picture_zip_problems(raw: bytes) -> list[str]:
    """A zip of one PNG per page (SPEC §3.3, Tables 14 and 16)."""
    archive = _archive(raw)
    if isinstance(archive, str):
        return [archive]
    with archive:
        names = [name for name in archive.namelist() if not name.endswith("/")]
        if not names:
            return ["the zip holds no pages"]
        return [
            f"{name} is not a PNG picture"
            for name in names
            if not archive.read(name).startswith(PNG_SIGNATURE)
        ]
