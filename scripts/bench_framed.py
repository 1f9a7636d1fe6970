"""What a lighter transport between nodes would cost: a 5-process chain over framed TCP streams.

    .venv/bin/python scripts/bench_framed.py [--requests 3000] [--answer FILE]

Evidence for a decision, not part of the network: ``bench_route.py`` compares the network with a
bare *aiohttp* chain, and a node cannot beat that chain while it uses the same HTTP library and
does more per hop. This script runs the same shape of chain — five uvloop processes, four
forwards, the same request bytes, an answer of the same size — over persistent connections that
carry length-prefixed frames instead of HTTP, and prints requests/s, p50 and the CPU each process
spent per request at concurrency 32, for comparison with ``bench_route.py``'s bare chains.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import cpu_seconds, free_port

HOSTS = [f"127.0.8.{40 + index}" for index in range(5)]
CONCURRENCY = 32
FRAME = struct.Struct(">I")  # a frame is its length, then its bytes
REQUEST = (
    b'{"AccountId":"app","AccessToken":"token","CertificateID":'
    b'"1.2.156.3005.2.11100000000013127D001.11230100MB00000000.0000000001.001.W","UseFor":"bench"}'
)
ANSWER_SIZE = 1500  # about a GetCertificateDataByCertificateID envelope


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    (length,) = FRAME.unpack(await reader.readexactly(FRAME.size))
    return await reader.readexactly(length)


def frame(body: bytes) -> bytes:
    return FRAME.pack(len(body)) + body


# -- one process of the chain ---------------------------------------------------------------------
async def serve(host: str, port: int, next_hop: tuple[str, int] | None, answer: bytes) -> None:
    """Answer frames with ``answer``, or forward them to ``next_hop`` over pooled connections."""
    pool: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def forward(body: bytes) -> bytes:
        assert next_hop is not None
        connection = pool.pop() if pool else await asyncio.open_connection(*next_hop)
        reader, writer = connection
        writer.write(frame(body))
        reply = await read_frame(reader)
        pool.append(connection)
        return reply

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                body = await read_frame(reader)
                writer.write(frame(answer if next_hop is None else await forward(body)))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
        except asyncio.CancelledError:  # the process is stopping: end the connection quietly
            writer.close()

    server = await asyncio.start_server(handle, host, port, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print("ready", flush=True)
    async with server:
        await stop.wait()


# -- the driver -----------------------------------------------------------------------------------
async def drive(port: int, requests: int) -> tuple[float, list[float]]:
    """``requests`` round trips from CONCURRENCY connections; (seconds, latencies in ms)."""
    connections = [await asyncio.open_connection(HOSTS[0], port) for _ in range(CONCURRENCY)]
    latencies: list[float] = []

    async def worker(
        count: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        for _ in range(count):
            started = time.perf_counter()
            writer.write(frame(REQUEST))
            await read_frame(reader)
            latencies.append((time.perf_counter() - started) * 1000)

    share = requests // CONCURRENCY
    begun = time.perf_counter()
    await asyncio.gather(*(worker(share, reader, writer) for reader, writer in connections))
    elapsed = time.perf_counter() - begun
    for _, writer in connections:
        writer.close()
    return elapsed, latencies


def start_chain(ports: list[int]) -> list[subprocess.Popen[bytes]]:
    processes = []
    for index in reversed(range(len(HOSTS))):  # the answerer first
        command = [sys.executable, __file__, "--serve", f"{HOSTS[index]}:{ports[index]}"]
        if index + 1 < len(HOSTS):
            command += ["--next", f"{HOSTS[index + 1]}:{ports[index + 1]}"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE)
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"a chain process did not start (exit {process.poll()})")
        processes.append(process)
    return processes


def bench(requests: int) -> None:
    ports = [free_port(host) for host in HOSTS]
    processes = start_chain(ports)
    try:
        asyncio.run(drive(ports[0], CONCURRENCY * 20))  # warm up
        before = [cpu_seconds(process.pid) for process in processes]
        elapsed, latencies = asyncio.run(drive(ports[0], requests))
        after = [cpu_seconds(process.pid) for process in processes]
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    done = len(latencies)
    spent = [round((a - b) * 1e6 / done) for a, b in zip(after, before, strict=True)]
    print(
        f"framed chain, 5 uvloop processes, concurrency {CONCURRENCY}: {done / elapsed:,.0f} req/s"
    )
    print(f"  p50 {statistics.median(latencies):.2f} ms")
    print(f"  CPU µs per request, answerer first: {', '.join(map(str, spent))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--serve", metavar="HOST:PORT", help=argparse.SUPPRESS)
    parser.add_argument("--next", metavar="HOST:PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is None:
        bench(args.requests)
        return 0
    import uvloop

    host, _, port = args.serve.rpartition(":")
    next_hop = None
    if args.next:
        next_host, _, next_port = args.next.rpartition(":")
        next_hop = (next_host, int(next_port))
    uvloop.run(serve(host, int(port), next_hop, b"x" * ANSWER_SIZE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
