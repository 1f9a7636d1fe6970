"""Hooks for the schemathesis pass (``tests/e2e/test_schemathesis.py``): generated calls carry a
real account and its token, so they reach past authentication; every answer must be free of 99
and of tracebacks."""

from __future__ import annotations

import os
from typing import Any

import schemathesis

ACCOUNT = os.environ.get("ECERT_ACCOUNT", "")
TOKEN = os.environ.get("ECERT_TOKEN", "")


@schemathesis.hook
def map_body(ctx: Any, body: Any) -> Any:
    if isinstance(body, dict) and not ctx.operation.path.endswith("/token"):
        return {**body, "AccountId": ACCOUNT, "AccessToken": TOKEN}
    return body


@schemathesis.check
def no_99_no_traceback(ctx: Any, response: Any, case: Any) -> bool | None:
    text = response.text or ""
    assert "Traceback" not in text, "a traceback on the wire"
    assert '"status":"99"' not in text, "status 99 (其他异常)"
    return None
