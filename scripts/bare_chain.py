"""One process of a bare aiohttp forwarding chain: the floor the routing benchmark compares with.

    python scripts/bare_chain.py --listen 127.0.5.1:9001 --next http://127.0.5.2:9002/x
    python scripts/bare_chain.py --listen 127.0.5.2:9002 --answer answer.json

A forwarder POSTs the request body it received to ``--next`` over one pooled keep-alive session
and answers what came back; the last process answers the bytes of ``--answer``. No parsing, no
checks, no store: only the HTTP hops. Prints ``ready`` once listening; stops on SIGTERM/SIGINT.
``--uvloop`` runs it on uvloop (the default is the plain asyncio loop).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.core.client import client_session

SESSION = web.AppKey("session", aiohttp.ClientSession)
NEXT = web.AppKey("next", str)
ANSWER = web.AppKey("answer", bytes)


async def forward(request: web.Request) -> web.Response:
    body = await request.read()
    async with request.app[SESSION].post(
        request.app[NEXT], data=body, headers={"Content-Type": "application/json"}
    ) as response:
        answer = await response.read()
    return web.Response(body=answer, content_type="application/json")


async def answer(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=request.app[ANSWER], content_type="application/json")


async def serve(host: str, port: int, next_url: str | None, answer_bytes: bytes) -> None:
    app = web.Application()
    if next_url:
        app[NEXT] = next_url
        app.router.add_post("/{tail:.*}", forward)
    else:
        app[ANSWER] = answer_bytes
        app.router.add_post("/{tail:.*}", answer)
    session = client_session(limit=256) if next_url else None
    if session is not None:
        app[SESSION] = session
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        if session is not None:
            await session.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--listen", required=True, metavar="HOST:PORT")
    parser.add_argument("--next", metavar="URL", help="forward to this URL")
    parser.add_argument("--answer", type=Path, metavar="FILE", help="answer these bytes (last)")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    args = parser.parse_args(argv)
    if bool(args.next) == bool(args.answer):
        parser.error("give exactly one of --next and --answer")
    host, _, port = args.listen.rpartition(":")
    body = args.answer.read_bytes() if args.answer else b""
    main_coroutine = serve(host, int(port), args.next, body)
    if args.uvloop:
        import uvloop

        uvloop.run(main_coroutine)
    else:
        asyncio.run(main_coroutine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
