"""Real MQTT brokers for tests: the embedded amqtt broker and Mosquitto, each in a subprocess.

A conftest makes the fixtures available with ``from tests.brokers import *``:

- ``embedded_broker`` / ``mosquitto_broker``: a running broker on a free port of 127.0.0.1 (function
  scope), stopped after the test even when it fails;
- ``broker``: the same test once per broker; the Mosquitto run carries ``pytest.mark.mosquitto``.

Every fixture yields a ``BrokerProcess`` with ``host``, ``port``, ``url`` and blocking ``stop()``,
``start()`` and ``restart()`` (same port); from async code call them through
``asyncio.to_thread``. Without a ``mosquitto`` binary the Mosquitto tests are skipped, unless
``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

__all__ = [
    "BrokerProcess",
    "EmbeddedBroker",
    "MosquittoBroker",
    "broker_fixture",
    "embedded_broker_fixture",
    "free_port",
    "mosquitto_broker_fixture",
    "require_mosquitto",
    "start_embedded_broker",
    "start_mosquitto",
]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
READY_WITHIN = 15.0  # seconds a broker may take to accept connections (slow shared CI machines)
STOP_WITHIN = 5.0  # seconds between SIGTERM and SIGKILL


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class BrokerProcess:
    """A broker subprocess bound to one host:port; it can be stopped and started again."""

    kind = "broker"

    def __init__(self, host: str, port: int, workdir: Path):
        self.host = host
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None  # of the last stopped process; -9 if it had to be killed
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.kind}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def wait_ready(self, deadline: float) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self.process is not None:
            raise RuntimeError(f"{self.kind} on {self.url} is already running")
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=PROJECT_ROOT,
            env=_child_env(),
            bufsize=0,
        )
        try:
            self.wait_ready(time.monotonic() + READY_WITHIN)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(STOP_WITHIN)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.returncode = process.returncode
            if process.stdout is not None:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def failure(self, what: str) -> RuntimeError:
        tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        return RuntimeError(f"{self.kind} on {self.url}: {what}\n--- {self.log_path} ---\n{tail}")


class EmbeddedBroker(BrokerProcess):
    """``python -m gateway.control.broker``; ready when it prints ``ready``."""

    kind = "embedded"

    def command(self) -> list[str]:
        address = ["--host", self.host, "--port", str(self.port)]
        return [sys.executable, "-m", "gateway.control.broker", *address]

    def wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        stdout = self.process.stdout
        seen = b""
        while b"ready\n" not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self.failure(f"no 'ready' within {READY_WITHIN} s (stdout {seen!r})")
            readable, _, _ = select.select([stdout], [], [], remaining)
            if readable:
                chunk = os.read(stdout.fileno(), 4096)
                if not chunk:
                    raise self.failure(f"exited with {self.process.wait()} before 'ready'")
                seen += chunk


class MosquittoBroker(BrokerProcess):
    """``mosquitto -c FILE``: one listener on host:port, anonymous access, no persistence."""

    kind = "mosquitto"

    def command(self) -> list[str]:
        config = self.workdir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "set_tcp_nodelay true\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        return [require_mosquitto(), "-c", str(config)]

    def wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while True:
            if self.process.poll() is not None:
                raise self.failure(f"exited with {self.process.returncode}")
            with contextlib.suppress(OSError):
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return
            if time.monotonic() > deadline:
                raise self.failure(f"not accepting connections within {READY_WITHIN} s")
            time.sleep(0.02)  # polling interval, bounded by the deadline above


def require_mosquitto() -> str:
    """The mosquitto binary; skip the test without one, or fail when CI=true."""
    path = shutil.which("mosquitto")
    if path is None:
        message = "the mosquitto binary is not on PATH (apt-get install mosquitto)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _running(broker: BrokerProcess) -> Iterator[BrokerProcess]:
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


@contextlib.contextmanager
def start_embedded_broker(host: str, port: int) -> Iterator[BrokerProcess]:
    with tempfile.TemporaryDirectory(prefix="embedded-broker-") as workdir:
        yield from _running(EmbeddedBroker(host, port, Path(workdir)))


@contextlib.contextmanager
def start_mosquitto(host: str, port: int) -> Iterator[BrokerProcess]:
    require_mosquitto()
    with tempfile.TemporaryDirectory(prefix="mosquitto-") as workdir:
        yield from _running(MosquittoBroker(host, port, Path(workdir)))


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


# Fixtures are registered under ``name=`` so importing them does not shadow test parameters.
@pytest.fixture(name="embedded_broker")
def embedded_broker_fixture() -> Iterator[BrokerProcess]:
    with start_embedded_broker(HOST, free_port()) as running:
        yield running


@pytest.fixture(name="mosquitto_broker")
def mosquitto_broker_fixture() -> Iterator[BrokerProcess]:
    with start_mosquitto(HOST, free_port()) as running:
        yield running


@pytest.fixture(
    name="broker",
    params=["embedded", pytest.param("mosquitto", marks=pytest.mark.mosquitto)],
)
def broker_fixture(request: pytest.FixtureRequest) -> BrokerProcess:
    """Each test using it runs once per broker kind."""
    running: BrokerProcess = request.getfixturevalue(f"{request.param}_broker")
    return running
