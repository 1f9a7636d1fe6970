"""Zip packaging shared by the OFD package and the picture archive."""

from __future__ import annotations

import io
import zipfile

from nodes.model.certificate import CertificateCopy


def zip_bytes(entries: dict[str, bytes], copy: CertificateCopy) -> bytes:
    """A deflated zip whose entries carry the copy's creation time, so output is reproducible."""
    stamp = copy.CertificateCopyCreationTime.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()
