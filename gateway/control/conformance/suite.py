"""The conformance suite: every check ``ecert conformance`` runs, in order, with its clause.

Each check is data — an id, the section of SPEC.md and the clause, table or appendix of
DB23/T 2836-2021 it rests on, what it needs — and the small function under it, whose docstring
says what must hold.
``SUITE`` at the end is the list; the README's table of checks is generated from it.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.control.conformance import calls, shapes
from gateway.control.conformance import identifiers as ids
from gateway.control.conformance.base import (
    Check,
    CheckFailed,
    Context,
    Need,
    NotApplicable,
    answered,
    check,
    expect_status,
    fail_on,
)
from gateway.control.conformance.calls import BY_ID, json_text
from gateway.control.conformance.findings import USE_FOR, by_id
from gateway.control.conformance.packages import ofd_problems, picture_zip_problems

CERTIFICATE, HOLDER, OTHER_IP = Need.CERTIFICATE, Need.HOLDER, Need.OTHER_IP


# -- 1. the Token flow (§7.2.2, §7.3.1) -----------------------------------------------------------
@check("token.shape", spec="§3.1, §4", clause="7.2.2 c–d; 7.3.1 Table 2; C.1")
async def token_shape(ctx: Context) -> str | None:
    """Token answers Appendix C.1 exactly; the token is 32 upper-case hex characters"""
    exchange = await ctx.probe.token_call()
    body = answered(exchange)
    problems = calls.http_200(exchange) + shapes.envelope_problems(body, listing=False)
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict):
        problems += shapes.exact_keys(data, ("total", "dataList"), "data")
        if data.get("total") != "":
            problems.append(f'data.total is {data.get("total")!r}, not "" (C.1)')
        if not shapes.TOKEN.match(str(data.get("dataList"))):
            problems.append(f"data.dataList {data.get('dataList')!r} is not 32 upper-case hex")
    fail_on(problems, "the Token answer")
    return None


@check("token.same_day", spec="§4 (4)", clause="7.3.1 (获取的Token当天有效)")
async def token_same_day(ctx: Context) -> str | None:
    """Token asked again the same day answers the same token, and it works"""
    tokens = [await _token(ctx), await _token(ctx)]
    if tokens[0] != tokens[1]:  # a new day may have begun between the two: once, not twice
        tokens = [await _token(ctx), await _token(ctx)]
    if tokens[0] != tokens[1]:
        raise CheckFailed(f"Token answered {tokens[0]}, then {tokens[1]}, the same day")
    if tokens[1] is None:
        raise CheckFailed("Token answered no token in data.dataList")
    ctx.probe.token = tokens[1]
    expect_status(await ctx.probe.call("GetCertificateType"), 0, why="a call with that token")
    return None


async def _token(ctx: Context) -> str | None:
    exchange = await ctx.probe.token_call()
    expect_status(exchange, 0, why="Token")
    token = exchange.data.get("dataList") if isinstance(exchange.data, dict) else None
    return token if isinstance(token, str) and token else None


@check(
    "token.ip_bound",
    spec="§4 (4), §3.4",
    clause="7.2.2 b, d; 7.3.1 (需要绑定访问IP地址); Appendix D 14",
    needs=[OTHER_IP],
)
async def token_ip_bound(ctx: Context) -> str | None:
    """From another address the account gets no token and its token is refused (14)"""
    other = ctx.target.other_ip
    token = await ctx.probe.token_call(other=True)
    expect_status(token, 14, why=f"Token for the account from {other}")
    call = await ctx.probe.call("GetCertificateType", other=True)
    expect_status(call, 14, why=f"a call with the account's own token from {other}")
    return None


@check("token.unknown_account", spec="§3.4, §4 (2)", clause="7.2.2 d, f; Appendix D 11")
async def token_unknown_account(ctx: Context) -> str | None:
    """An unknown AccountId gets no token and no answer (11)"""
    stranger = secrets.token_hex(16)
    expect_status(await ctx.probe.token_call(stranger), 11, why="Token for an unknown AccountId")
    call = await ctx.probe.call("GetCertificateType", {"AccountId": stranger})
    expect_status(call, 11, why="a call with an unknown AccountId and a valid token")
    return None


# -- 2. the envelope of each method (Appendix C) --------------------------------------------------
def _envelope(method: str, clause: str, needs: list[Need]) -> Check:
    title = f"{method} answers HTTP 200 and the Appendix C envelope, on success and on error"

    @check(f"envelope.{method}", spec="§3.1", clause=clause, needs=needs, title=title)
    async def envelope(ctx: Context) -> str | None:
        params = calls.valid_params(method, ctx.found)
        bad = await ctx.probe.call(method, params | {"AccessToken": calls.other_token(ctx)})
        good = await ctx.probe.call(method, params)
        for exchange, listing in ((bad, False), (good, method != "VerifyCertificate")):
            problems = shapes.envelope_problems(answered(exchange), listing=listing)
            fail_on(calls.http_200(exchange) + problems, f"answer with status {exchange.status}")
        expect_status(good, 0, why=f"{method} with valid parameters")
        return None

    return envelope


ENVELOPES = (
    _envelope("GetCertificateFileByHolder", "7.3.2 Table 4; C.2", [HOLDER]),
    _envelope("GetCertificateFileByCertificateID", "7.3.3 Table 6; C.3", [CERTIFICATE]),
    _envelope("GetCertificateDataByHolder", "7.3.4 Table 8; C.4", [HOLDER]),
    _envelope("GetCertificateDataByCertificateID", "7.3.5; C.5", [CERTIFICATE]),
    _envelope("VerifyCertificate", "7.3.6 Table 12; C.6", [CERTIFICATE]),
    _envelope("GetCertificatePictureByCertificateID", "7.3.7 Table 14; C.7", [CERTIFICATE]),
    _envelope("GetCertificatePictureByHolder", "7.3.8 Table 16; C.8", [HOLDER]),
    _envelope("GetCertificateType", "7.3.9 Table 18", []),
    _envelope("Retrieval", "7.3.10 Table 20", [HOLDER]),
)


# -- 3. the items of each answer (SPEC §3.3) ------------------------------------------------------
@check("items.data.by_id", spec="§3.3", clause="7.3.5 (Table 8); C.5", needs=[CERTIFICATE])
async def items_data_by_id(ctx: Context) -> str | None:
    """GetCertificateDataByCertificateID answers one data item of Table 8"""
    item = await calls.one_item(ctx, "GetCertificateDataByCertificateID")
    fail_on(shapes.data_item_problems(item), "the data item")
    return None


@check("items.data.by_holder", spec="§3.3", clause="7.3.4 Tables 7–8; C.4", needs=[HOLDER])
async def items_data_by_holder(ctx: Context) -> str | None:
    """GetCertificateDataByHolder answers data items of Table 8, each of the holder asked for;
    with the optional CertificateNumber, only that certificate"""
    method = "GetCertificateDataByHolder"
    items = await calls.holder_items(ctx, method)
    fail_on(shapes.numbered(enumerate(map(shapes.data_item_problems, items))), "data items")
    holder = ctx.found.holder
    if holder is not None and holder.number:
        params = holder.params() | {"CertificateNumber": holder.number}
        narrowed = calls.expect_items(await ctx.probe.call(method, params), why=method)
        numbers = {i.get("certificateNumber") for i in narrowed if isinstance(i, dict)}
        if numbers != {holder.number}:
            raise CheckFailed(f"CertificateNumber {holder.number} answered numbers {numbers}")
    return f"{len(items)} items"


@check("items.file.by_id", spec="§3.3", clause="7.3.3 Table 6; C.3", needs=[CERTIFICATE])
async def items_file_by_id(ctx: Context) -> str | None:
    """GetCertificateFileByCertificateID answers one file item of Table 6, fileFormat ofd"""
    item = await calls.one_item(ctx, "GetCertificateFileByCertificateID")
    fail_on(shapes.file_item_problems(item, "ofd", "Table 6"), "the file item")
    return None


@check("items.file.by_holder", spec="§3.3", clause="7.3.2 Table 4; C.2", needs=[HOLDER])
async def items_file_by_holder(ctx: Context) -> str | None:
    """GetCertificateFileByHolder answers file items of Table 4, fileFormat ofd"""
    items = await calls.holder_items(ctx, "GetCertificateFileByHolder")
    problems = [shapes.file_item_problems(item, "ofd", "Table 4") for item in items]
    fail_on(shapes.numbered(enumerate(problems)), "file items")
    return f"{len(items)} items"


@check("items.picture.by_id", spec="§3.3", clause="7.3.7 Table 14; C.7", needs=[CERTIFICATE])
async def items_picture_by_id(ctx: Context) -> str | None:
    """GetCertificatePictureByCertificateID answers one picture item of Table 14, fileFormat zip"""
    item = await calls.one_item(ctx, "GetCertificatePictureByCertificateID")
    fail_on(shapes.file_item_problems(item, "zip", "Table 14"), "the picture item")
    return None


@check("items.picture.by_holder", spec="§3.3", clause="7.3.8 Table 16; C.8", needs=[HOLDER])
async def items_picture_by_holder(ctx: Context) -> str | None:
    """GetCertificatePictureByHolder answers picture items of Table 16, fileFormat zip"""
    items = await calls.holder_items(ctx, "GetCertificatePictureByHolder")
    problems = [shapes.file_item_problems(item, "zip", "Table 16") for item in items]
    fail_on(shapes.numbered(enumerate(problems)), "picture items")
    return f"{len(items)} items"


@check("items.type", spec="§3.3", clause="7.3.9 Table 18")
async def items_type(ctx: Context) -> str | None:
    """GetCertificateType answers type items of Table 18"""
    items = calls.expect_items(await ctx.probe.call("GetCertificateType"), why="GetCertificateType")
    fail_on(shapes.numbered(enumerate(map(shapes.type_item_problems, items))), "type items")
    return f"{len(items)} types"


@check("items.retrieval", spec="§3.3, §5", clause="7.1.2; 7.3.10 Table 20", needs=[HOLDER])
async def items_retrieval(ctx: Context) -> str | None:
    """Retrieval answers items of Table 20, of the holder asked for, as the data methods do"""
    items = await calls.holder_items(ctx, "Retrieval")
    fail_on(shapes.numbered(enumerate(map(shapes.retrieval_item_problems, items))), "items")
    data = {known.certificate_id: known.item or {} for known in ctx.found.usable}
    for item in items:
        same = data.get(item.get("certificateID"), {})
        differ = [k for k in shapes.DATA_REQUIRED if k in same and k in item and same[k] != item[k]]
        if differ:
            raise CheckFailed(
                f"{item['certificateID']}: Retrieval's {differ[0]} {item[differ[0]]!r} differs"
                f" from GetCertificateDataByCertificateID's {same[differ[0]]!r}"
            )
    return f"{len(items)} items"


@check("items.verify", spec="§3.3", clause="7.3.6 Tables 10–12; C.6", needs=[CERTIFICATE])
async def items_verify(ctx: Context) -> str | None:
    """VerifyCertificate answers verifyResult "true" for a certificate's data (with or without
    its CertificateID) and "false" for altered data"""
    known = calls.certificate_of(ctx)
    cases = [
        ("its own data", calls.verify_params(known, altered=False), "true"),
        ("its own data without CertificateID", calls.verify_params(known, altered=False), "true"),
        ("altered data", calls.verify_params(known, altered=True), "false"),
    ]
    del cases[1][1]["CertificateID"]
    for what, params, expected in cases:
        exchange = await ctx.probe.call("VerifyCertificate", params)
        expect_status(exchange, 0, why=f"VerifyCertificate of {what}")
        verdict = exchange.data.get("verifyResult") if isinstance(exchange.data, dict) else None
        if verdict != expected:  # a "false" may say why in verifyMessage [P]
            raise CheckFailed(f"{what}: data is {exchange.data!r}, not verifyResult {expected!r}")
    return None


# -- 4. the files handed out (§3.3 fileUrl, B.3) --------------------------------------------------
@check("files.ofd", spec="§3.3, §2.3", clause="7.3.2–7.3.3; C.2; 8.1.3; B.3", needs=[CERTIFICATE])
async def files_ofd(ctx: Context) -> str | None:
    """fileUrls download with a plain GET as OFD packages that record the copy's cause (UseFor)"""
    urls = await calls.file_urls(
        ctx, "GetCertificateFileByCertificateID", "GetCertificateFileByHolder"
    )
    for url in urls:
        fail_on(ofd_problems(await calls.download(ctx, url), USE_FOR), url)
    return f"{len(urls)} files"


@check("files.pictures", spec="§3.3", clause="7.3.7–7.3.8; C.7–C.8; 8.1.3", needs=[CERTIFICATE])
async def files_pictures(ctx: Context) -> str | None:
    """Picture fileUrls download with a plain GET as zips of PNG pages"""
    by_holder = "GetCertificatePictureByHolder"
    urls = await calls.file_urls(ctx, "GetCertificatePictureByCertificateID", by_holder)
    for url in urls:
        fail_on(picture_zip_problems(await calls.download(ctx, url)), url)
    return f"{len(urls)} files"


# -- 5. identifiers and check characters (§2.5) ---------------------------------------------------
@check("ids.certificate_id", spec="§2.5", clause="B.1 item 1; A.4; GB/T 36904", needs=[HOLDER])
async def ids_certificate_id(ctx: Context) -> str | None:
    """Every CertificateID Retrieval answers passes GB/T 36904 (MOD 37,36) with an A.4 type code"""
    items = await calls.holder_items(ctx, "Retrieval")
    values = [item["certificateID"] for item in items if "certificateID" in item]
    fail_on(filter(None, map(ids.certificate_id_problem, values)), "certificateID")
    return f"{len(values)} identifiers"


@check("ids.uscc", spec="§2.4–§2.5", clause="B.1 items 8, 11; A.2; A.4; GB 32100")
async def ids_uscc(ctx: Context) -> str | None:
    """Every USCC answered passes GB 32100: issueDeptCode, holders of type 001, type authorities"""
    types = await calls.type_items(ctx)
    values = [
        t["CertificateDefineAuthorityCode"] for t in types if "CertificateDefineAuthorityCode" in t
    ]
    values += [str(t["CertificateTypeCode"])[:18] for t in types if "CertificateTypeCode" in t]
    items = await calls.answered_items(ctx)
    values += [item["issueDeptCode"] for item in items if "issueDeptCode" in item]
    values += calls.holder_codes(items, ids.USCC_HOLDER)
    fail_on(filter(None, map(ids.uscc_problem, values)), "USCC")
    return f"{len(values)} codes"


@check(
    "ids.citizen_id",
    spec="§2.4–§2.5",
    clause="B.1 item 11; A.2 (111); GB 11643",
    needs=[CERTIFICATE],
)
async def ids_citizen_id(ctx: Context) -> str | None:
    """Every holder code of type 111 answered passes GB 11643"""
    values = calls.holder_codes(await calls.answered_items(ctx), ids.CITIZEN_HOLDER)
    if not values:
        raise NotApplicable("no holder of type 111 among the answers: give one with --holder")
    fail_on(filter(None, map(ids.citizen_id_problem, values)), "公民身份号码")
    return f"{len(values)} codes"


# -- 6. the forms of dates and codes (§2.1, §2.4) -------------------------------------------------
@check("forms.dates", spec="§2.1", clause="B.1 items 14–16; Tables 6, 8, 20", needs=[CERTIFICATE])
async def forms_dates(ctx: Context) -> str | None:
    """Dates answered read YYYY-MM-DD, issue dates not in the future; validity dates may be
    empty (长期), the start not after the end"""
    items = await calls.answered_items(ctx)
    file_item = await calls.one_item(ctx, "GetCertificateFileByCertificateID")
    items += [file_item] if isinstance(file_item, dict) else []
    problems = [ids.date_problem(item["issueDate"]) for item in items if "issueDate" in item]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    problems += [
        f"issueDate {item['issueDate']} is in the future"
        for item in items
        if ids.date_problem(item.get("issueDate")) is None and item["issueDate"] > tomorrow
    ]
    for item in items:
        start, end = item.get("certificateValidateStart"), item.get("certificateValidateEnd")
        problems += [ids.date_problem(value, optional=True) for value in (start, end) if value]
        if isinstance(start, str) and isinstance(end, str) and start and end and start > end:
            problems.append(
                f"certificateValidateStart {start} is after certificateValidateEnd {end}"
            )
    fail_on(filter(None, problems), "dates")
    return f"{len(items)} items"


@check("forms.input_dates", spec="§2.1", clause="C.4 (1995年3月1日); Table 11", needs=[CERTIFICATE])
async def forms_input_dates(ctx: Context) -> str | None:
    """Dates given as 2021年3月1日 (as C.4 writes them) are read as YYYY-MM-DD: a certificate's
    own data written so is verified "true" all the same"""
    params = calls.verify_params(calls.certificate_of(ctx), altered=False)
    data = json.loads(params["CertificateData"])
    for key in ("issueDate", "certificateValidateStart", "certificateValidateEnd"):
        if ids.date_problem(data.get(key)) is None:
            day = datetime.strptime(data[key], "%Y-%m-%d").date()
            data[key] = f"{day.year}年{day.month}月{day.day}日"
    exchange = await ctx.probe.call(
        "VerifyCertificate", params | {"CertificateData": json_text(data)}
    )
    expect_status(exchange, 0, why="VerifyCertificate with dates written 年月日")
    if exchange.data != {"verifyResult": "true"}:
        raise CheckFailed(f"data is {exchange.data!r}, not verifyResult 'true'")
    return None


@check("forms.codes", spec="§2.4", clause="A.2; A.4; Tables 8, 18, 20")
async def forms_codes(ctx: Context) -> str | None:
    """Holder types answered are A.2 codes; CertificateTypeCodes are 21 characters (A.4)"""
    codes = [t.get("CertificateTypeCode") for t in await calls.type_items(ctx)]
    problems = [
        f"CertificateTypeCode {code!r} is not 18 USCC characters and 3 digits"
        for code in codes
        if not ids.is_type_code_form(code)
    ]
    items = await calls.answered_items(ctx)
    holder_types = [
        item["certificateHolderType"] for item in items if "certificateHolderType" in item
    ]
    problems += [
        f"certificateHolderType {value!r} is not an A.2 code"
        for value in holder_types
        if value not in ids.HOLDER_TYPES
    ]
    fail_on(problems, "codes")
    return f"{len(codes)} type codes, {len(holder_types)} holder types"


# -- 7. the transport (§3.1) ----------------------------------------------------------------------
@check("transport.form_and_json", spec="§3.1", clause="Appendix C (Content-Type); 7.2.2 e")
async def transport_form_and_json(ctx: Context) -> str | None:
    """A JSON body (CertificateData an object in it) is answered as the same form body is"""
    token = await ctx.probe.token_call(json=True)
    expect_status(token, 0, why="Token with a JSON body")
    if not isinstance(token.data, dict) or token.data.get("dataList") != ctx.probe.token:
        raise CheckFailed(f"Token with a JSON body answered {token.data!r}, not the day's token")
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = [("GetCertificateType", {}, {})]
    if ctx.found.certificate is not None:
        known = ctx.found.certificate
        requests.append(("GetCertificateDataByCertificateID", by_id(known.certificate_id), {}))
        verify = calls.verify_params(known, altered=False)
        data = {"CertificateData": json.loads(verify["CertificateData"])}  # an object in JSON
        requests.append(("VerifyCertificate", verify, data))
    for method, params, in_json in requests:
        form = await ctx.probe.call(method, params)
        answer = await ctx.probe.call(method, params | in_json, json=True)
        expect_status(answer, 0, why=f"{method} with a JSON body")
        if (form.status, form.data) != (answer.status, answer.data):
            raise CheckFailed(f"{method}: the answer to the JSON body differs from the form's")
    return f"{len(requests) + 1} methods"


# -- 8. return codes (Appendix D) ------------------------------------------------------------------
@check(
    "code.missing_parameter",
    spec="§3.2–§3.4",
    clause="Tables 1, 3, 5, 7, 9–11, 13, 15, 17, 19; Appendix D 12",
)
async def code_missing_parameter(ctx: Context) -> str | None:
    """Each required parameter of each method, left out or empty, is answered 12"""
    expect_status(await ctx.probe.post("token", {}), 12, why="Token without AccountId")
    for method in calls.REQUIRED:
        sample = calls.sample(method)
        for name in ("AccountId", "AccessToken", *calls.REQUIRED[method]):
            left_out = await ctx.probe.call(method, sample, omit=[name])
            expect_status(left_out, 12, why=f"{method} without {name}")
            blank = await ctx.probe.call(method, sample | {name: ""})
            expect_status(blank, 12, why=f"{method} with {name} empty")
    data = {k: v for k, v in calls.SAMPLE_DATA.items() if k != "certificateHolder"}
    params = calls.sample("VerifyCertificate") | {"CertificateData": json_text(data)}
    exchange = await ctx.probe.call("VerifyCertificate", params)
    expect_status(exchange, 12, why="VerifyCertificate without CertificateData.certificateHolder")
    return f"{len(ctx.probe.exchanges)} requests"


@check("code.bad_token", spec="§3.4, §4 (5)", clause="7.2.2 f; Appendix D 11")
async def code_bad_token(ctx: Context) -> str | None:
    """A call with a token that is not the account's is answered 11"""
    for method, params in (
        ("GetCertificateType", {}),
        ("GetCertificateDataByCertificateID", by_id(ids.unknown_certificate_id())),
    ):
        exchange = await ctx.probe.call(method, params | {"AccessToken": calls.other_token(ctx)})
        expect_status(exchange, 11, why=f"{method} with another token")
    return None


@check(
    "code.malformed_identifier",
    spec="§2.5, §3.4",
    clause="GB/T 36904; GB 32100; GB 11643; A.4; Appendix D 15",
)
async def code_malformed_identifier(ctx: Context) -> str | None:
    """A CertificateID, USCC, citizen id or type code failing its form or check is answered 15"""
    bad_id = ids.wrong_check(ids.unknown_certificate_id(), ids.ALNUM36)
    bad_uscc = ids.wrong_check(ids.unknown_uscc(), ids.USCC_CHARSET)
    bad_citizen = ids.wrong_check(ids.SAMPLE_CITIZEN_ID, "0123456789X")
    holder = calls.sample("GetCertificateDataByHolder")
    cases = [
        ("GetCertificateDataByCertificateID", by_id(bad_id), "a wrong check character"),
        ("GetCertificateFileByCertificateID", by_id("1.2.156.3005.2.X1"), "a malformed ID"),
        (
            "GetCertificateDataByHolder",
            holder | {"CertificateHolderType": "001", "CertificateHolderCode": bad_uscc},
            "a USCC with a wrong check character",
        ),
        (
            "Retrieval",
            calls.sample("Retrieval")
            | {"CertificateHolderType": "111", "CertificateHolderCode": bad_citizen},
            "a 公民身份号码 with a wrong check character",
        ),
        (
            "GetCertificateDataByHolder",
            holder | {"CertificateTypeCode": ids.SAMPLE_TYPE_CODE[:-1]},
            "a 20-character CertificateTypeCode",
        ),
    ]
    for method, params, what in cases:
        expect_status(await ctx.probe.call(method, params), 15, why=f"{method} with {what}")
    return f"{len(cases)} requests"


@check("code.malformed_value", spec="§3.2, §3.4", clause="A.2; Table 11; Appendix D 15")
async def code_malformed_value(ctx: Context) -> str | None:
    """A holder type outside A.2, a UseFor over 200 characters (200 is allowed), or
    CertificateData that is not a JSON object or holds a bad date is answered 15"""
    params = calls.sample("Retrieval") | {"CertificateHolderType": "000"}
    expect_status(await ctx.probe.call("Retrieval", params), 15, why="CertificateHolderType 000")
    nobody = by_id(ids.unknown_certificate_id())
    for length, code in ((201, 15), (200, 10)):
        exchange = await ctx.probe.call(BY_ID[0], nobody | {"UseFor": "用" * length})
        expect_status(exchange, code, why=f"a UseFor of {length} characters for nobody's ID")
    verify = calls.sample("VerifyCertificate")
    bad_date = json_text({**calls.SAMPLE_DATA, "issueDate": "2021-13-01"})
    for data, what in (("{not json", "not JSON"), ('["x"]', "an array"), (bad_date, "month 13")):
        exchange = await ctx.probe.call("VerifyCertificate", verify | {"CertificateData": data})
        expect_status(exchange, 15, why=f"VerifyCertificate with CertificateData {what}")
    return None


@check("code.unknown_method", spec="§3.1, §3.4", clause="7.3; Appendix D 2")
async def code_unknown_method(ctx: Context) -> str | None:
    """A method the standard does not name is answered 2, with HTTP 200"""
    exchange = await ctx.probe.call("GetCertificateDataByName", {"UseFor": USE_FOR})
    fail_on(calls.http_200(exchange), "POST <path>/GetCertificateDataByName")
    expect_status(exchange, 2, why="POST <path>/GetCertificateDataByName")
    return None


@check(
    "code.unknown_certificate", spec="§3.4, §5", clause="7.3.3–7.3.5, 7.3.7, 7.3.10; Appendix D 10"
)
async def code_unknown_certificate(ctx: Context) -> str | None:
    """A well-formed CertificateID or holder that nobody holds is answered 10"""
    nobody = ids.unknown_certificate_id()
    for method in BY_ID:
        expect_status(await ctx.probe.call(method, by_id(nobody)), 10, why=f"{method} for {nobody}")
    stranger = calls.sample("Retrieval") | {
        "CertificateHolderCode": ids.unknown_citizen_id(),
        "CertificateHolderType": "111",
    }
    expect_status(await ctx.probe.call("Retrieval", stranger), 10, why="Retrieval of nobody")
    published = sorted(await calls.published_types(ctx))
    if published:
        params = stranger | {"CertificateTypeCode": published[0]}
        exchange = await ctx.probe.call("GetCertificateDataByHolder", params)
        expect_status(exchange, 10, why=f"GetCertificateDataByHolder of nobody, {published[0]}")
    return None


@check("code.unknown_type", spec="§3.4", clause="7.3.4; Appendix D 13")
async def code_unknown_type(ctx: Context) -> str | None:
    """A well-formed CertificateTypeCode that is not published is answered 13"""
    unpublished = ids.unknown_type_code(await calls.published_types(ctx))
    params = calls.sample("GetCertificateDataByHolder") | {"CertificateTypeCode": unpublished}
    exchange = await ctx.probe.call("GetCertificateDataByHolder", params)
    expect_status(exchange, 13, why=f"GetCertificateDataByHolder of type {unpublished}")
    return None


def _status(code: int, name: str, need: Need, clause: str) -> Check:
    title = (
        f"A certificate answered {code} by GetCertificateDataByCertificateID is answered {code}"
        " by the file and picture methods too"
    )
    if code == 22:
        title += "; none is answered 0 after its end date"

    @check(f"code.status.{name}", spec="§2.2, §3.4", clause=clause, needs=[need], title=title)
    async def status(ctx: Context) -> str | None:
        ended = ctx.found.ended_but_answered() if code == 22 else ()
        if ended:
            end = (ended[0].item or {}).get("certificateValidateEnd")
            raise CheckFailed(f"{ended[0].certificate_id} ended {end}, and was answered 0, not 22")
        found = ctx.found.answering(code)[:3]
        for known in found:
            for method in BY_ID[1:]:
                exchange = await ctx.probe.call(method, by_id(known.certificate_id))
                expect_status(exchange, code, why=f"{method} for {known.certificate_id}")
        return f"{len(found)} certificates"

    return status


STATUSES = (
    _status(21, "revoked", Need.REVOKED, "B.2 CertificateStatus 02, 03; Appendix D 21"),
    _status(22, "expired", Need.EXPIRED, "B.1 item 16; Appendix D 22"),
    _status(23, "restricted", Need.RESTRICTED, "B.2 CertificateStatus 04, 05; Appendix D 23"),
)

SUITE: tuple[Check, ...] = (
    token_shape,
    token_same_day,
    token_ip_bound,
    token_unknown_account,
    *ENVELOPES,
    items_data_by_id,
    items_data_by_holder,
    items_file_by_id,
    items_file_by_holder,
    items_picture_by_id,
    items_picture_by_holder,
    items_type,
    items_retrieval,
    items_verify,
    files_ofd,
    files_pictures,
    ids_certificate_id,
    ids_uscc,
    ids_citizen_id,
    forms_dates,
    forms_input_dates,
    forms_codes,
    transport_form_and_json,
    code_missing_parameter,
    code_bad_token,
    code_malformed_identifier,
    code_malformed_value,
    code_unknown_method,
    code_unknown_certificate,
    code_unknown_type,
    *STATUSES,
)
