"""The QR code a handed-out file carries (§8.4.2): the certificate's verification token
(``nodes.verification.token``), as a PNG to place on a page. The only module that imports segno.

The code holds the token alone, in QR alphanumeric mode (base32 is A-Z and 2-7), error
correction M; an on-site checker posts it to ``<path>/VerifyQr`` of any node.
"""

from __future__ import annotations

import io

import segno

from nodes.model.certificate import Certificate
from nodes.sharing.items import data_item
from nodes.verification.token import make_token

QR_SIZE_MM = 28.0  # the printed square, quiet zone included
QR_BORDER = 4  # modules of quiet zone (ISO/IEC 18004)


def certificate_token(cert: Certificate) -> str:
    """The verification token of ``cert`` as it is stored now."""
    return make_token(cert.CertificateID, data_item(cert.to_record()))


def qr_png(text: str, *, scale: int = 3) -> bytes:
    """``text`` as a black-on-white QR code PNG, ``scale`` pixels a module."""
    code = segno.make_qr(text, error="m")
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=QR_BORDER)
    return buffer.getvalue()


def certificate_qr_png(cert: Certificate, *, scale: int = 3) -> bytes:
    """The QR code of ``cert``'s verification token, as a PNG."""
    return qr_png(certificate_token(cert), scale=scale)
