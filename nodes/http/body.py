"""The body of a sharing call (SPEC §3.1): a form (UTF-8) or a JSON object, read within limits.

Anything else is 15. A body over ``MAX_BODY`` is 15 with HTTP 413, answered before reading when
the Content-Length says so (also after ``Expect: 100-continue``, which is then not granted); a
body that does not decode as its Content-Encoding says is 15 and closes the connection, and so
is one that does not arrive in time (HTTP 408); a name given twice, in a form or a JSON object,
is 15.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, unquote_to_bytes

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from nodes.errors import BodyLate, BodyTooLarge, BodyUnreadable, ParameterInvalid

MAX_BODY = 1024 * 1024  # 1 MiB
MAX_FIELDS = 64


@dataclass(frozen=True, slots=True)
class Body:
    """The bytes as they came (what a link signature covers) and the parameters they carry."""

    raw: bytes
    params: dict[str, Any]


async def expect_small_body(request: web.Request) -> None:
    """``Expect: 100-continue``: let the body come only when it may be read; otherwise the
    handler answers 413 (15) at once and the caller never sends it."""
    if (request.content_length or 0) <= MAX_BODY and request.version >= (1, 1):
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # as aiohttp's own handler: the answer is still to come


async def read_body(request: web.Request, *, within: float) -> Body:
    """The call's body and its parameters; the body must be in within ``within`` seconds."""
    if (request.content_length or 0) > MAX_BODY:
        raise BodyTooLarge(MAX_BODY)
    try:
        async with asyncio.timeout(within):
            body = await request.read()
    except TimeoutError:
        raise BodyLate(within) from None
    except web.RequestPayloadError as exc:  # e.g. marked "gzip" but not compressed
        cause = exc.__cause__
        reason = cause.message if isinstance(cause, HttpProcessingError) else str(exc)
        raise BodyUnreadable(reason.strip()) from None
    content_type = request.content_type
    if "multipart" in content_type:
        raise ParameterInvalid("body", "use application/x-www-form-urlencoded or JSON")
    if content_type.endswith("json") or body.lstrip()[:1] == b"{":
        return Body(body, _json_body(body))
    return Body(body, _form_body(body, request.charset or "utf-8"))


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ParameterInvalid("body", f"not valid UTF-8 JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ParameterInvalid("body", "a JSON body must be an object")
    if not _each_key_once(body, value):
        json.loads(body, object_pairs_hook=_refuse_duplicates)  # names the key, as a form does
    return value


def _each_key_once(body: bytes, value: dict[str, Any]) -> bool:
    """True when no member name can be given twice: each appears once in the text, unescaped.
    (A name given twice appears twice; an escaped one may hide, so those take the exact path.)"""
    if b"\\u" in body:
        return False
    return all(body.count(orjson.dumps(key)) == 1 for key in value)


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, member in pairs:
        if name in found:
            raise ParameterInvalid(name[:64], "given more than once")
        found[name] = member
    return found


def _form_body(body: bytes, charset: str) -> dict[str, Any]:
    """``application/x-www-form-urlencoded`` as ``parse_qsl`` reads it, strict about encoding."""
    try:
        fields = body.decode(charset).split("&") if body else []
        if len(fields) > MAX_FIELDS:
            raise ParameterInvalid("body", f"more than {MAX_FIELDS} form fields")
        values: dict[str, Any] = {}
        for field in fields:
            if field:
                name, _, value = field.partition("=")
                name = _unquote(name, charset)
                if name in values:
                    raise ParameterInvalid(name[:64], "given more than once")
                values[name] = _unquote(value, charset)
    except (UnicodeDecodeError, LookupError):
        raise ParameterInvalid("body", f"the form body is not valid {charset}") from None
    return values


def _unquote(text: str, charset: str) -> str:
    """``unquote_plus(text, encoding=charset, errors="strict")``; an ASCII field (what a form
    encoder sends) is unescaped in one step, which is what ``unquote`` does for it too."""
    if "%" in text or "+" in text:
        if text.isascii():
            return unquote_to_bytes(text.replace("+", " ")).decode(charset)
        return unquote_plus(text, encoding=charset, errors="strict")
    return text
