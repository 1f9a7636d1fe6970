"""fileUrl downloads (SPEC §3.3, B.3): a plain GET of a real OFD, PDF or zip of PNGs; expiry."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import orjson
import pytest

from tests.service.certs import issue, make_certificate
from tests.service.conftest import OTHER_IP, Node

USE_FOR = "办理营业执照变更"


async def file_url(
    node: Node, method: str = "GetCertificateFileByCertificateID", **extra: str
) -> str:
    creds = await node.login()
    cert = make_certificate(70)
    if await node.ctx.store.certificates.get(cert.CertificateID) is None:
        await issue(node.ctx, cert)
    reply = await node.post(
        method, data={**creds, "CertificateID": cert.CertificateID, "UseFor": USE_FOR, **extra}
    )
    assert reply.code == "0", reply.body
    url: str = reply.items[0]["fileUrl"]
    return url


async def test_ofd_download_is_an_ofd_package_recording_the_copy(node: Node) -> None:
    url = await file_url(node)
    status, headers, body = await node.get(url, source=OTHER_IP)  # a plain GET, from anywhere
    assert status == 200
    assert headers["Content-Type"].startswith("application/ofd")
    assert "attachment" in headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(body)) as package:
        names = package.namelist()
        ofd_xml = package.read("OFD.xml").decode()
    assert "OFD.xml" in names
    assert make_certificate(70).CertificateID in ofd_xml
    assert USE_FOR in ofd_xml  # CertificateCopyCreationCause = UseFor
    assert node.ctx.node.name in ofd_xml  # CertificateCopyCreationOrganization


async def test_pdf_download(node: Node) -> None:
    status, headers, body = await node.get(await file_url(node, Format="pdf"))
    assert status == 200
    assert headers["Content-Type"].startswith("application/pdf")
    assert body.startswith(b"%PDF")


async def test_picture_download_is_a_zip_of_pngs(node: Node) -> None:
    url = await file_url(node, method="GetCertificatePictureByCertificateID")
    assert url.endswith(".zip")
    status, _, body = await node.get(url)
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        pages = [archive.read(name) for name in archive.namelist()]
    assert pages
    assert all(page.startswith(b"\x89PNG\r\n\x1a\n") for page in pages)


async def test_copy_items_of_b3_are_recorded_with_the_link(node: Node) -> None:
    url = await file_url(node)
    token = url.rsplit("/file", 1)[1].split(".")[0]
    row = await node.ctx.store.db.fetchone(
        "SELECT copy, expires_at FROM file_link WHERE token = ?", (token,)
    )
    assert row is not None
    copy = orjson.loads(row["copy"])
    assert copy["CertificateCopyCreationCause"] == USE_FOR
    assert copy["CertificateCopyCreationOrganization"] == node.ctx.node.name
    assert set(copy) == {
        "CertificateCopyCreationTime",
        "CertificateCopyCreationOrganization",
        "CertificateCopyCreationCause",
        "CertificateCopyExpiringTime",
    }


async def test_an_expired_link_is_404_with_an_envelope(node: Node) -> None:
    url = await file_url(node)
    node.clock.advance(timedelta(seconds=node.ctx.settings.file_link_ttl + 1))
    status, headers, body = await node.get(url)
    assert status == 404
    assert orjson.loads(body)["head"]["status"] == "10"
    assert headers["X-Ecert-Route"] == node.ctx.node_id


@pytest.mark.parametrize("mangle", ["unknown", "wrong extension"])
async def test_unknown_links_are_404(node: Node, mangle: str) -> None:
    url = await file_url(node)
    if mangle == "unknown":
        url = url[: url.rindex("/file") + 5] + "0" * 32 + ".ofd"
    else:
        url = url.rsplit(".", 1)[0] + ".pdf"
    status, _, body = await node.get(url)
    assert status == 404
    assert orjson.loads(body)["head"]["status"] == "10"
