"""The launcher's state directory: where each node keeps its store and key, logs and pid files.

Layout (the launcher writes it, the nodes read their part of it)::

    <state>/topology.yaml          copy of the file ``ecert up`` was given
    <state>/<node-id>/node.db      the node's SQLite store
    <state>/<node-id>/admin.key    the node's admin key (created by the node at first start)
    <state>/<node-id>/link-keys.json  the keys of the node's links (written by the launcher)
    <state>/<node-id>/exchange.password  the node's broker login (written by the launcher)
    <state>/broker-access.json     the embedded broker's users and topic ACLs
    <state>/mosquitto/             Mosquitto's config, hashed logins and ACLs, when it is the
                                   network's broker (``gateway.control.mosquitto``)
    <state>/link.secret            what the link keys derive from (never read by a node)
    <state>/logs/<name>.log        stdout and stderr of a node or of the broker
    <state>/run/<name>.pid         pid of a running node or of the broker (``broker``)
    <state>/run/up.lock            held while an ``ecert up`` starts the network
    <state>/run/faults.json        the faults in force (``gateway.control.faults``), until down
    <state>/events/<name>.jsonl    the event stream of each node, and control.jsonl (``ecert
                                   events``; ``gateway.core.events``)

The state is private (SPEC §4: accounts, bound addresses, today's tokens, whole certificate
records): folders are 0700 and files 0600 from the moment they are made, and the processes
started here run with umask 077, so what they create is private too.

A pid file alone does not prove a process is ours: pids are reused. ``running_pid`` also checks
that the process's command line names the node (or the broker's port) and this state directory.
``ProcessTable`` starts and stops the processes recorded there.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gateway.control.errors import LauncherError
from gateway.core.events import EventSink, NullEvents, events_dir

BROKER = "broker"
LINK_KEYS_FILE = "link-keys.json"
PRIVATE_UMASK = 0o077  # of every process started here
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700; tighten it if it exists."""
    path.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != _PRIVATE_DIR:
        path.chmod(_PRIVATE_DIR)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` as a 0600 file; readers never see it half written."""
    partial = path.with_name(f"{path.name}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE_FILE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    partial.replace(path)


def open_private_log(path: Path) -> int:
    """A 0600 file opened for appending (a process's log), as a descriptor."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _PRIVATE_FILE)


HOST_PREFIX = "host-"  # a process of several nodes (``gateway.control.hosts``)
KEEPER = "keeper"  # heals timed faults of processes (``gateway.control.faults.keeper``)
KEEPER_MODULE = "gateway.control.faults.keeper"


class StateDir:
    """Paths and pid files under one state directory (made absolute at construction)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"StateDir({str(self.root)!r})"

    # -- paths ----------------------------------------------------------------------------------
    @property
    def topology_path(self) -> Path:
        return self.root / "topology.yaml"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the state directory for one ``up`` at a time (an advisory lock in run/)."""
        self.prepare()
        with os.fdopen(open_private_log(self.run_dir / "up.lock"), "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LauncherError(
                    f"another ecert up is starting the network in {self.root}"
                ) from None
            yield

    @property
    def faults_path(self) -> Path:
        return self.run_dir / "faults.json"

    @property
    def events_dir(self) -> Path:
        return events_dir(self.root)

    def node_dir(self, node_id: str) -> Path:
        return self.root / node_id

    def database_path(self, node_id: str) -> Path:
        return self.node_dir(node_id) / "node.db"

    def admin_key_path(self, node_id: str) -> Path:
        return self.node_dir(node_id) / "admin.key"

    def link_keys_path(self, node_id: str) -> Path:
        return self.node_dir(node_id) / LINK_KEYS_FILE

    def link_secret(self) -> bytes:
        """The network's link secret, made (0600) on first use."""
        path = self.root / "link.secret"
        if not path.exists():
            private_dir(self.root)
            write_private(path, secrets.token_hex(32).encode("ascii"))
        return bytes.fromhex(path.read_text(encoding="ascii").strip())

    def write_node_secret(self, node_id: str, name: str, value: str) -> None:
        private_dir(self.node_dir(node_id))
        write_private(self.node_dir(node_id) / name, value.encode("ascii"))

    @property
    def broker_access_path(self) -> Path:
        return self.root / "broker-access.json"

    @property
    def mosquitto_dir(self) -> Path:
        return self.root / "mosquitto"

    def link_key(self, node_id: str, neighbour: str) -> bytes | None:
        """The key of the link between two neighbours, as the launcher handed it to ``node_id``
        (None when it never did: a network started by hand)."""
        try:
            keys = json.loads(self.link_keys_path(node_id).read_text(encoding="ascii"))
        except FileNotFoundError:
            return None
        key = keys.get(neighbour)
        return bytes.fromhex(key) if isinstance(key, str) else None

    def write_link_keys(self, node_id: str, keys: dict[str, bytes]) -> None:
        """Hand a node the keys of its own links (and nothing else)."""
        private_dir(self.node_dir(node_id))
        text = json.dumps({other: key.hex() for other, key in sorted(keys.items())})
        write_private(self.link_keys_path(node_id), text.encode("ascii"))

    def log_path(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def pid_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def prepare(self) -> None:
        """Create the directories the launcher writes into, private."""
        for directory in (self.root, self.logs_dir, self.run_dir, self.events_dir):
            private_dir(directory)

    # -- pid files ------------------------------------------------------------------------------
    def write_pid(self, name: str, pid: int) -> None:
        private_dir(self.run_dir)
        write_private(self.pid_path(name), f"{pid}\n".encode("ascii"))

    def read_pid(self, name: str) -> int | None:
        try:
            text = self.pid_path(name).read_text(encoding="ascii").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def remove_pid(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.pid_path(name).unlink()

    def pid_names(self) -> list[str]:
        """Every name with a pid file (node ids and ``broker``)."""
        if not self.run_dir.is_dir():
            return []
        return sorted(path.stem for path in self.run_dir.glob("*.pid"))

    # -- liveness -------------------------------------------------------------------------------
    def node_marker(self, node_id: str) -> tuple[str, ...]:
        """Arguments that a node process of this state directory has on its command line."""
        return ("--node", node_id, "--state-dir", str(self.root))

    def keeper_marker(self) -> tuple[str, ...]:
        """Arguments that the fault keeper of this state directory has on its command line."""
        return (KEEPER_MODULE, "--state-dir", str(self.root))

    def running_pid(self, name: str, marker: Sequence[str]) -> int | None:
        """The pid from ``name``'s pid file if that process is alive and ``marker`` matches it."""
        pid = self.read_pid(name)
        if pid is None or not is_alive(pid, marker):
            return None
        return pid


def is_alive(pid: int, marker: Sequence[str] = ()) -> bool:
    """Whether ``pid`` runs and its command line contains ``marker`` as consecutive arguments.

    A zombie (exited, not yet reaped) counts as dead. Without /proc (not Linux) only the signal
    check is made.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else: the command line decides
    arguments = command_line(pid)
    if arguments is None:
        return not Path("/proc").is_dir()
    return bool(arguments) and _contains(arguments, list(marker))


def command_line(pid: int) -> list[str] | None:
    """The arguments of ``pid`` from /proc; [] for a zombie; None when /proc cannot tell."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return [] if Path("/proc").is_dir() else None
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _contains(arguments: list[str], marker: list[str]) -> bool:
    if not marker:
        return True
    width = len(marker)
    return any(arguments[i : i + width] == marker for i in range(len(arguments) - width + 1))


class ProcessTable:
    """Named background processes under a state directory: log file, pid file, stop and kill.

    ``markers(name)`` gives the arguments that identify the process ``name`` on its command line.
    Processes started here are also kept as ``Popen`` objects, so they are reaped when they end.
    """

    POLL_EVERY = 0.05  # seconds between exit checks, bounded by the caller's deadline
    REAP_WITHIN = 2.0  # seconds to wait for an earlier process of a name that is ending
    TAIL_LINES = 25

    def __init__(
        self,
        state: StateDir,
        markers: Callable[[str], Sequence[str]],
        *,
        env: dict[str, str] | None = None,
        die_with_owner: bool = False,
        events: EventSink | None = None,
    ):
        self.state = state
        self.markers = markers
        self.env = env
        self.die_with_owner = die_with_owner
        self.events = events or NullEvents()
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.log_offsets: dict[str, int] = {}  # where the latest start's lines begin

    def pid(self, name: str) -> int | None:
        return self.state.running_pid(name, self.markers(name))

    def spawn(self, name: str, command: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start ``command`` in its own session; stdout and stderr go to ``logs/<name>.log``."""
        self.state.prepare()
        previous = self.children.get(name)
        if previous is not None and previous.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # one ending by itself: reap it
                previous.wait(timeout=self.REAP_WITHIN)
        log_path = self.state.log_path(name)
        self.log_offsets[name] = _size(log_path)
        owner_death = _die_with(os.getpid()) if self.die_with_owner else None
        with os.fdopen(open_private_log(log_path), "ab") as log:
            process = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state.run_dir,
                env=self.env,
                start_new_session=True,  # outlives the CLI; Ctrl-C in its terminal misses it
                umask=PRIVATE_UMASK,
                # safe with threads here: it only calls a libc function looked up beforehand
                preexec_fn=owner_death,  # noqa: PLW1509
            )
        self.children[name] = process
        self.state.write_pid(name, process.pid)
        self.events.emit("process.started", node=_node_of(name), process=name, pid=process.pid)
        return process

    def exit_code(self, name: str) -> int | None:
        """The exit code of a process started here that has ended, else None."""
        process = self.children.get(name)
        return None if process is None else process.poll()

    async def stop(self, names: Sequence[str], within: float) -> list[str]:
        """SIGTERM the live ones, wait ``within`` s, SIGKILL leftovers; drop their pid files."""
        live = {name: pid for name in names if (pid := self.pid(name)) is not None}
        for name in names:  # ours, ending with its pid file gone already (a keeper retiring)
            child = self.children.get(name)
            if name not in live and child is not None and child.poll() is None:
                live[name] = child.pid
        for pid in live.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
                os.kill(pid, signal.SIGCONT)  # a paused process handles SIGTERM once resumed
        deadline = time.monotonic() + within
        await asyncio.gather(
            *(self._wait_gone(name, pid, deadline, within) for name, pid in live.items())
        )
        for name in names:
            self.state.remove_pid(name)
            child = self.children.pop(name, None)
            if child is not None:
                child.poll()  # reaped, also when it had ended by itself
        for name, pid in live.items():
            self.events.emit("process.stopped", node=_node_of(name), process=name, pid=pid)
        return list(live)

    async def kill(self, name: str, within: float) -> bool:
        """SIGKILL ``name`` as a crash would; its pid file stays behind, stale."""
        pid = self.pid(name)
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        await self._wait_gone(name, pid, time.monotonic() + within, None)
        if (child := self.children.get(name)) is not None and child.pid == pid:
            del self.children[name]  # reaped: a later start of ``name`` is not this one
        self.events.emit("process.killed", node=_node_of(name), process=name, pid=pid)
        return True

    async def _wait_gone(
        self, name: str, pid: int, deadline: float, kill_after: float | None
    ) -> None:
        while not self._exited(name, pid):
            if time.monotonic() > deadline:
                if kill_after is None:
                    raise LauncherError(f"{name} (pid {pid}) did not exit")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                deadline, kill_after = time.monotonic() + kill_after, None
            await asyncio.sleep(self.POLL_EVERY)

    def _exited(self, name: str, pid: int) -> bool:
        process = self.children.get(name)
        if process is not None and process.pid == pid:
            return process.poll() is not None  # also reaps our own child
        return not is_alive(pid, self.markers(name))

    # -- logs -----------------------------------------------------------------------------------
    def new_output(self, name: str) -> str:
        """What ``name`` wrote to its log since its latest start here."""
        return _read_from(self.state.log_path(name), self.log_offsets.get(name, 0))

    def tail(self, name: str) -> str:
        """The last lines of the latest start's output (or of the whole log)."""
        path = self.state.log_path(name)
        text = self.new_output(name) or _read_from(path, 0)
        lines = text.rstrip().splitlines()[-self.TAIL_LINES :]
        return "\n".join(lines) if lines else "(the log is empty)"


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with(owner_pid: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its starting thread ends; None
    elsewhere (no such request exists there)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it

    def request() -> None:  # runs in the child between fork and exec
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != owner_pid:  # the owner died before the request took effect
            os._exit(1)

    return request


def _node_of(name: str) -> str | None:
    return None if name in (BROKER, KEEPER) or name.startswith(HOST_PREFIX) else name


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")
    except OSError:
        return ""
