"""What the conformance kit calls a right answer: envelopes, items (SPEC §3.1, §3.3) and the
files handed out (an OFD package, a zip of PNG pages)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from gateway.control.conformance import shapes
from gateway.control.conformance.packages import ofd_problems, picture_zip_problems

C1 = {
    "head": {"message": "接口调用成功", "status": "0"},
    "data": {"total": "", "dataList": "B76945CD70DE62848CF777C879C2CBCA"},
}
DATA_ITEM: dict[str, Any] = {
    "certificateType": "营业执照",
    "certificateName": "营业执照",
    "certificateHolder": "XX股份有限公司",
    "certificateHolderCode": "91610800064834709T",
    "certificateHolderType": "001",
    "issueDept": "XX市场监督管理局",
    "issueDeptCode": "11220000013544541J",
    "certificateNumber": "91610800064834709T",
    "issueDate": "1995-03-01",
    "certificateValidateStart": "1995-03-01",
    "certificateValidateEnd": "",
    "surface": [{"name": "名称", "columnName": "ENTNAME", "valueType": "string", "value": "XX"}],
    "detail": [
        {
            "group": "股东",
            "datalist": [
                {
                    "name": "姓名",
                    "columnName": "XM",
                    "valueType": "string",
                    "value": "张三",
                    "orderNum": 1,
                }
            ],
        }
    ],
}


def listing(items: list[Any], **head: Any) -> dict[str, Any]:
    return {
        "head": {"status": "0", "message": "接口调用成功", **head},
        "data": {"total": str(len(items)), "dataList": items},
    }


def test_appendix_c1_is_a_right_envelope() -> None:
    assert shapes.envelope_problems(C1, listing=False) == []
    assert shapes.envelope_problems(listing([DATA_ITEM]), listing=True) == []
    error = {"head": {"status": "12", "message": "要求必填的输入参数值不为空"}, "data": {}}
    assert shapes.envelope_problems(error, listing=True) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (listing([], status=0), "head.status is 0 (a number)"),
        (listing([], message="ok"), "not '接口调用成功'"),
        ({**listing([]), "code": 0}, "keys outside the standard's: 'code'"),
        ({"head": {"status": "0", "message": "接口调用成功"}}, "the envelope has no 'data'"),
        ({"head": {"status": "0", "message": "接口调用成功"}, "data": []}, "data is an array"),
        (
            {
                "head": {"status": "0", "message": "接口调用成功"},
                "data": {"total": 1, "dataList": [1]},
            },
            "data.total is 1 (a number)",
        ),
        (
            {
                "head": {"status": "0", "message": "接口调用成功"},
                "data": {"total": "2", "dataList": [1]},
            },
            "not the string '1'",
        ),
        (
            {"head": {"status": "0", "message": "接口调用成功"}, "data": {"dataList": []}},
            "data has no 'total'",
        ),
        ("<html>", "not a JSON object"),
    ],
)
def test_a_wrong_envelope_is_named(body: Any, says: str) -> None:
    assert any(says in line for line in shapes.envelope_problems(body, listing=True))


def test_a_table_8_item_is_right_and_each_wrong_key_is_named() -> None:
    assert shapes.data_item_problems(DATA_ITEM) == []
    assert shapes.data_item_problems({**DATA_ITEM, "issueDate": ""}) == [
        "issueDate is '' (a string), not a non-empty string"
    ]
    without = {k: v for k, v in DATA_ITEM.items() if k != "issueDept"}
    assert shapes.data_item_problems(without) == ["no 'issueDept' (Table 8)"]
    assert shapes.data_item_problems({**DATA_ITEM, "extra": 1}) == ["keys outside Table 8: 'extra'"]
    broken = {**DATA_ITEM, "surface": [{"name": "名称"}]}
    assert "a surface entry" in shapes.data_item_problems(broken)[0]


def test_file_items_need_their_format_and_an_absolute_url() -> None:
    item = {
        "certificateType": "营业执照",
        "issueDept": "XX局",
        "certificateNumber": "1",
        "issueDate": "2020-01-01",
        "fileUrl": "http://h:1/ecert/fileAB.ofd",
        "fileFormat": "ofd",
    }
    assert shapes.file_item_problems(item, "ofd", "Table 6") == []
    assert shapes.file_item_problems(item, "zip", "Table 14") == ["fileFormat is 'ofd', not 'zip'"]
    relative = {**item, "fileUrl": "/ecert/fileAB.ofd"}
    assert "not an absolute http(s) URL" in shapes.file_item_problems(relative, "ofd", "Table 6")[0]


def test_type_items_need_all_ten_table_18_keys() -> None:
    item = dict.fromkeys(shapes.TYPE_KEYS, "x")
    assert shapes.type_item_problems(item) == []
    del item["ValidityRange"]
    assert shapes.type_item_problems(item) == ["no 'ValidityRange' (Table 18)"]


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


OFD_XML = (
    '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocInfo>'
    "<ofd:CustomDatas><ofd:CustomData>办事</ofd:CustomData></ofd:CustomDatas></ofd:DocInfo>"
    "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
).encode()


def test_an_ofd_package_needs_ofd_xml_its_doc_root_and_the_copys_cause() -> None:
    document = b'<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"/>'
    good = zipped({"OFD.xml": OFD_XML, "Doc_0/Document.xml": document})
    assert ofd_problems(good, "办事") == []
    assert "does not record the copy's cause" in ofd_problems(good, "别的用途")[0]
    assert "not in the package" in ofd_problems(zipped({"OFD.xml": OFD_XML}), "办事")[0]
    assert "no OFD.xml" in ofd_problems(zipped({"Doc_0/Document.xml": document}), "办事")[0]
    assert "not a zip archive" in ofd_problems(b"%PDF-1.7", "办事")[0]
    other_root = zipped({"OFD.xml": b"<OFD/>", "Doc_0/Document.xml": document})
    assert "the root of OFD.xml is OFD" in ofd_problems(other_root, "办事")[0]


def test_a_picture_zip_holds_png_pages() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
    assert picture_zip_problems(zipped({"page_1.png": png})) == []
    assert picture_zip_problems(zipped({"page_1.png": b"\xff\xd8\xff"})) == [
        "page_1.png is not a PNG picture"
    ]
    assert picture_zip_problems(zipped({})) == ["the zip holds no pages"]
