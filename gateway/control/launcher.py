"""Start, watch and stop a whole network: the embedded broker and the node processes.

Every node runs in ``python -m nodes --topology <state>/topology.yaml --node ID --state-dir
<state> ...`` in its own session, so the network keeps running after ``ecert up`` returns; a
process of one node writes to ``<state>/logs/<id>.log`` and its pid to ``<state>/run/<id>.pid``
(see ``gateway.control.state``). Bigger networks pack several nodes into one process, a node
host (``gateway.control.hosts``: the rule, the names, the control port); a node of a host is
stopped, killed (aborted as a crash would) and started through that port, alone. Readiness is
``GET /healthz`` answering ``ready`` with the node's own (host's) pid, polled against one
deadline; a node that exits or misses it fails ``up`` with its log's tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import aiohttp

from gateway.control.admin_client import AdminClient
from gateway.control.errors import AdminError, LauncherError
from gateway.control.events import ControlEvents
from gateway.control.exchange_access import exchange_access, exchange_password
from gateway.control.faults.book import end_faults
from gateway.control.hosts import (
    check_memory,
    control,
    control_path,
    host_name,
    pack,
    read_hosts,
    serving,
    write_hosts,
)
from gateway.control.mosquitto import CONFIG_FILE, mosquitto_command, mosquitto_ready
from gateway.control.node_status import BrokerStatus, NodeStatus, is_ready, node_status
from gateway.control.state import BROKER, HOST_PREFIX, KEEPER, ProcessTable, StateDir, write_private
from gateway.core.client import client_session
from gateway.core.links import keys_of
from gateway.core.topology import Topology, load_topology

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # holds both ``gateway`` and ``nodes``
READY_WITHIN = 60.0  # seconds for the whole network to become ready
STOP_WITHIN = 10.0  # seconds between SIGTERM and SIGKILL
POLL_EVERY = 0.1  # seconds between readiness polls (bounded by the deadlines above)
PROBE_TIMEOUT = 3.0  # seconds for one /healthz or /admin/status request

Phase = Literal["starting", "ready", "running"]
ProgressCallback = Callable[[str, Phase], None]


@dataclass
class UpResult:
    started: list[str] = field(default_factory=list)
    already_running: list[str] = field(default_factory=list)
    broker_started: bool = False


class Launcher:
    """The processes of one network under one state directory.

    ``Launcher(topology, state_dir)`` for ``up``; ``Launcher.from_state(state_dir)`` for every
    later command (it reads the copy ``up`` made). ``die_with_owner``: the processes started get
    SIGTERM when the thread that started them ends (Linux), for a network that must not outlive
    its scenario run or test session, even a killed one. All methods are coroutines that keep no
    event-loop-bound state, so one launcher may be driven from several ``asyncio.run`` calls.
    """

    def __init__(
        self,
        topology_path: str | Path,
        state_dir: str | Path,
        *,
        seed: int | None = 2836,
        per_node: int = 40,
        ready_within: float = READY_WITHIN,
        stop_within: float = STOP_WITHIN,
        die_with_owner: bool = False,
        node_args: tuple[str, ...] = (),
        nodes_per_process: int | None = None,
    ):
        self.node_args = node_args  # passed to every ``python -m nodes`` (a benchmark's switch)
        self.source = Path(topology_path).expanduser().resolve()
        self.state = StateDir(state_dir)
        self.topology: Topology = load_topology(self.source)
        self.seed = seed
        self.per_node = per_node
        self.ready_within = ready_within
        self.stop_within = stop_within
        self.nodes_per_process = nodes_per_process  # None: the rule of gateway.control.hosts
        # (the file's identity, node → host) of run/hosts.json, read again when it changes
        self._hosts: tuple[tuple[int, int, int], dict[str, str]] | None = None
        self.events = ControlEvents(self.state, by="launcher")
        self.processes = ProcessTable(
            self.state,
            self._marker,
            env=_child_env(),
            die_with_owner=die_with_owner,
            events=self.events,
        )

    @classmethod
    def from_state(cls, state_dir: str | Path, topology_path: str | Path | None = None) -> Launcher:
        state = StateDir(state_dir)
        path = Path(topology_path) if topology_path else state.topology_path
        if not path.exists():
            raise LauncherError(f"no network in {state.root}: run `ecert up` first")
        return cls(path, state.root)

    # -- queries ------------------------------------------------------------------------------
    @property
    def embedded_broker(self) -> bool:
        """The network starts its broker itself: the embedded one, or Mosquitto."""
        return self.topology.exchange.launched

    def node_pid(self, node_id: str) -> int | None:
        """The pid of the node's process (its host's) if it is alive and serves the node."""
        pid = self.processes.pid(node_id)
        if pid is None:
            return None
        host = self.host_of(node_id)
        if host is None or self.processes.pid(host) != pid:
            return pid  # a process of its own
        listed = serving(self.state, host)
        return pid if listed is None or node_id in listed else None

    def host_of(self, node_id: str) -> str | None:
        """The host of several nodes that ``node_id`` was started in, if any."""
        try:
            found = (self.state.run_dir / "hosts.json").stat()
        except FileNotFoundError:
            return None
        version = (found.st_ino, found.st_mtime_ns, found.st_size)  # each write is a new file
        if self._hosts is None or self._hosts[0] != version:
            hosts = read_hosts(self.state)
            self._hosts = (version, {n: name for name, nodes in hosts.items() for n in nodes})
        return self._hosts[1].get(node_id)

    def _live_host(self, node_id: str) -> str | None:
        host = self.host_of(node_id)
        return host if host is not None and self.processes.pid(host) is not None else None

    def broker_pid(self) -> int | None:
        return self.processes.pid(BROKER)

    def running(self) -> dict[str, int]:
        """Every live process of this network by name (node ids and ``broker``)."""
        found = {node.id: self.node_pid(node.id) for node in self.topology.nodes}
        found[BROKER] = self.broker_pid()
        return {name: pid for name, pid in found.items() if pid is not None}

    # -- up and down --------------------------------------------------------------------------
    async def up(self, progress: ProgressCallback | None = None) -> UpResult:
        """Start whatever of the network is not running and wait until all of it is ready."""
        self._check_addresses()
        self.state.prepare()
        with self.state.exclusive():
            return await self._up(progress or (lambda name, phase: None))

    async def _up(self, notify: ProgressCallback) -> UpResult:
        result = UpResult()
        running = [node.id for node in self.topology.nodes if self.node_pid(node.id)]
        self._install_topology(network_running=bool(running))
        down = [node.id for node in self.topology.nodes if node.id not in running]
        back = {node_id: host for node_id in down if (host := self._live_host(node_id))}
        missing = [node_id for node_id in down if node_id not in back]
        groups = pack(self.topology, missing, nodes_per_process=self.nodes_per_process)
        check_memory(groups)  # before anything starts
        deadline = time.monotonic() + self.ready_within
        hosts: list[str] = []
        try:
            result.broker_started = await self._ensure_broker(deadline, notify)
            for node_id in running:
                result.already_running.append(node_id)
                notify(node_id, "running")
            for node_id, host in back.items():  # back into its living host
                await self._start_in_host(host, node_id)
                result.started.append(node_id)
                notify(node_id, "starting")
            for group in groups:
                hosts.append(self._spawn(group))
                result.started.extend(group)
                for node_id in group:
                    notify(node_id, "starting")
            await self._wait_ready([node.id for node in self.topology.nodes], deadline, notify)
        except BaseException:
            broker = [BROKER] if result.broker_started else []
            await self.processes.stop([*result.started, *hosts, *broker], self.stop_within)
            raise
        return result

    async def down(self) -> list[str]:
        """End every fault, stop every node (SIGTERM, then SIGKILL after the deadline), the
        broker last."""
        await end_faults(self.state, self.processes, self.stop_within, self.events)
        names = [node.id for node in self.topology.nodes]
        hosts = list(read_hosts(self.state))
        stopped = await self.processes.stop([*names, *hosts], self.stop_within)
        write_hosts(self.state, {})
        self._hosts = None
        stopped += await self.processes.stop([BROKER], self.stop_within)
        return [name for name in stopped if name not in hosts]

    async def stop_some(
        self, node_ids: Sequence[str], *, broker: bool = False, kill: bool = False
    ) -> list[str]:
        """Stop these nodes (and the embedded broker): SIGTERM, or SIGKILL as a crash would.
        What was running is answered; ``up`` starts them again."""
        for node_id in node_ids:
            self.topology.node(node_id)  # an unknown id is an error before anything stops
        in_hosts = {node_id: host for node_id in node_ids if (host := self._live_host(node_id))}
        done = [
            node_id
            for node_id, host in in_hosts.items()
            if await self._control_one(host, node_id, kill=kill)
        ]
        names = [n for n in node_ids if n not in in_hosts] + ([BROKER] if broker else [])
        if not kill:
            return done + await self.processes.stop(names, self.stop_within)
        return done + [name for name in names if await self.processes.kill(name, self.stop_within)]

    async def _control_one(self, host: str, node_id: str, *, kill: bool) -> bool:
        """Stop (or abort, as a crash would) one node of a shared host, the others untouched."""
        pid = self.node_pid(node_id)
        if pid is None:
            return False
        await control(self.state, host, "abort" if kill else "stop", node_id)
        if not kill:
            self.state.remove_pid(node_id)
        kind = "process.killed" if kill else "process.stopped"
        self.events.emit(kind, node=node_id, process=host, pid=pid)
        return True

    async def _start_in_host(self, host: str, node_id: str) -> None:
        await control(self.state, host, "start", node_id)
        pid = self.processes.pid(host)
        if pid is not None:
            self.state.write_pid(node_id, pid)
            self.events.emit("process.started", node=node_id, process=host, pid=pid)

    async def start_node(self, node_id: str) -> None:
        """Start one node and wait until it is ready."""
        self.topology.node(node_id)
        pid = self.node_pid(node_id)
        if pid is not None:
            raise LauncherError(f"node {node_id} is already running (pid {pid})")
        self.state.prepare()
        if not self.state.topology_path.exists():
            self._install_topology(network_running=False)
        host = self._live_host(node_id)
        if host is not None:
            await self._start_in_host(host, node_id)
        else:
            self._spawn([node_id])
        try:
            await self._wait_ready([node_id], time.monotonic() + self.ready_within, None)
        except BaseException:
            await self.processes.stop([node_id], self.stop_within)
            raise

    async def stop_node(self, node_id: str) -> bool:
        """SIGTERM one node and wait for it; False when it was not running."""
        return bool(await self.stop_some([node_id]))

    async def kill_node(self, node_id: str) -> bool:
        """SIGKILL one node, as a crash would; its pid file stays behind, stale."""
        return bool(await self.stop_some([node_id], kill=True))

    async def wait_healthy(self, node_id: str, within: float = READY_WITHIN) -> None:
        """Wait until a running node answers /healthz as ready."""
        self.topology.node(node_id)
        await self._wait_ready([node_id], time.monotonic() + within, None)

    # -- the broker ---------------------------------------------------------------------------
    async def start_broker(self) -> None:
        if not self.embedded_broker:
            raise LauncherError(f"the broker {self.topology.exchange.broker} is not ours to start")
        self.state.prepare()
        if not await self._ensure_broker(time.monotonic() + self.ready_within, lambda n, p: None):
            raise LauncherError(f"the broker is already running (pid {self.broker_pid()})")

    async def stop_broker(self) -> bool:
        return bool(await self.stop_some([], broker=True))

    async def restart_broker(self) -> None:
        await self.stop_broker()
        await self.start_broker()

    def broker_status(self) -> BrokerStatus:
        exchange = self.topology.exchange
        pid = self.broker_pid() if self.embedded_broker else None
        url = f"mqtt://{exchange.broker_host}:{exchange.broker_port}"
        return BrokerStatus(url=url, embedded=self.embedded_broker, pid=pid, alive=pid is not None)

    # -- status -------------------------------------------------------------------------------
    async def status(self, node_ids: Sequence[str] | None = None) -> list[NodeStatus]:
        """Every node (or these): process, health and the counters of its /admin/status."""
        ids = [node.id for node in self.topology.nodes] if node_ids is None else list(node_ids)
        async with client_session(limit=32, total_timeout=PROBE_TIMEOUT) as session:
            return list(
                await asyncio.gather(
                    *(
                        node_status(
                            self.topology,
                            self.state,
                            node_id,
                            pid=self.node_pid(node_id),
                            session=session,
                        )
                        for node_id in ids
                    )
                )
            )

    # -- processes ----------------------------------------------------------------------------
    def _check_addresses(self) -> None:
        for node in self.topology.nodes:
            if node.port == 0:
                raise LauncherError(f"node {node.id} has port 0; the launcher needs fixed ports")

    def _install_topology(self, *, network_running: bool) -> None:
        """Copy the topology into the state directory (refused while another one runs)."""
        copy = self.state.topology_path
        if copy == self.source:
            return
        text = self.source.read_bytes()
        if network_running and copy.exists() and copy.read_bytes() != text:
            raise LauncherError(
                f"a network from a different topology runs in {self.state.root}; "
                "run `ecert down` first"
            )
        self.state.prepare()
        write_private(copy, text)

    def _marker(self, name: str) -> tuple[str, ...]:
        if name == BROKER:
            exchange = self.topology.exchange
            if exchange.broker == "mosquitto":
                return ("-c", str(self.state.mosquitto_dir / CONFIG_FILE))
            return ("gateway.control.broker", "--host", exchange.host, "--port", str(exchange.port),
                    "--access", str(self.state.broker_access_path))  # fmt: skip
        if name == KEEPER:
            return self.state.keeper_marker()
        if name.startswith(HOST_PREFIX):
            return ("--control", str(control_path(self.state, name)))
        return self.state.node_marker(name)

    def _spawn(self, node_ids: list[str]) -> str:
        """Start one process for these nodes (a host when several); its name."""
        name = host_name(node_ids)
        hosts = read_hosts(self.state)
        for nodes in hosts.values():  # a node starting anew leaves the host it was in
            nodes[:] = [n for n in nodes if n not in node_ids]
        hosts = {host: nodes for host, nodes in hosts.items() if nodes}
        if len(node_ids) > 1:
            hosts[name] = list(node_ids)
        write_hosts(self.state, hosts)
        self._hosts = None  # read again, whatever the clock's resolution
        if len(node_ids) == 1:
            self._spawn_node(node_ids[0])
            return name
        for node_id in node_ids:
            self._hand_keys(node_id)
        each = [arg for node_id in node_ids for arg in self._marker(node_id)]
        process = self.processes.spawn(name, self._nodes_command(*self._marker(name), *each))
        for node_id in node_ids:
            self.state.write_pid(node_id, process.pid)
        return name

    def _hand_keys(self, node_id: str) -> None:
        neighbours = [node.id for node in self.topology.neighbours(node_id)]
        secret = self.state.link_secret()
        self.state.write_link_keys(node_id, keys_of(secret, node_id, neighbours))
        if self.embedded_broker:  # an external broker is configured by its operator
            password = exchange_password(secret, node_id)
            self.state.write_node_secret(node_id, "exchange.password", password)

    def _spawn_node(self, node_id: str) -> None:
        self._hand_keys(node_id)
        self.processes.spawn(node_id, self._nodes_command(*self._marker(node_id)))

    def _nodes_command(self, *markers: str) -> list[str]:
        """``python -m nodes`` for the nodes (and the host) ``markers`` name."""
        seed = ["--no-seed"] if self.seed is None else ["--seed", str(self.seed)]
        return [
            sys.executable, "-m", "nodes",
            "--topology", str(self.state.topology_path),
            *markers,
            *seed, "--per-node", str(self.per_node),
            *self.node_args,
        ]  # fmt: skip

    async def _ensure_broker(self, deadline: float, notify: ProgressCallback) -> bool:
        """Start the embedded broker unless it runs or the topology names an external one."""
        if not self.embedded_broker:
            return False
        if self.broker_pid() is not None:
            notify(BROKER, "running")
            return False
        notify(BROKER, "starting")
        command, ready = self._broker_command()
        self.processes.spawn(BROKER, command)
        while not any(map(ready, self.processes.new_output(BROKER).splitlines())):
            code = self.processes.exit_code(BROKER)
            if code is not None:
                self.state.remove_pid(BROKER)
                raise self._failure(BROKER, f"exited with code {code}")
            if time.monotonic() > deadline:
                await self.processes.stop([BROKER], self.stop_within)
                raise self._failure(BROKER, "did not say it is ready in time")
            await asyncio.sleep(POLL_EVERY)
        notify(BROKER, "ready")
        return True

    def _broker_command(self) -> tuple[list[str], Callable[[str], bool]]:
        """Write the broker's logins and topic ACLs; its command and its ready line."""
        if self.topology.exchange.broker == "mosquitto":
            return mosquitto_command(self.state, self.topology), mosquitto_ready
        access = exchange_access(self.topology, self.state.link_secret())
        write_private(self.state.broker_access_path, json.dumps(access.as_json()).encode())
        return [sys.executable, "-m", *self._marker(BROKER)], "ready".__eq__

    async def _wait_ready(
        self, node_ids: Sequence[str], deadline: float, notify: ProgressCallback | None
    ) -> None:
        async with client_session(limit=32, total_timeout=PROBE_TIMEOUT) as session:
            try:
                async with asyncio.TaskGroup() as group:
                    for node_id in node_ids:
                        group.create_task(self._wait_one(session, node_id, deadline, notify))
            except ExceptionGroup as failed:
                raise failed.exceptions[0] from None

    async def _wait_one(
        self,
        session: aiohttp.ClientSession,
        node_id: str,
        deadline: float,
        notify: ProgressCallback | None,
    ) -> None:
        admin = AdminClient(self.topology, self.state, node_id, session=session)
        host = self.host_of(node_id)
        name = host if host is not None and host in self.processes.children else node_id
        while True:
            code = self.processes.exit_code(name)
            if code is not None:
                raise self._failure(name, f"exited with code {code}")
            process = self.processes.children.get(name)
            pid = process.pid if process else self.node_pid(node_id)
            if pid is None:
                raise self._failure(name, "is not running")
            with contextlib.suppress(AdminError):
                if is_ready(await admin.healthz(), node_id, pid):
                    break
            if time.monotonic() > deadline:
                raise self._failure(node_id, "did not become ready in time")
            await asyncio.sleep(POLL_EVERY)
        if notify is not None:
            notify(node_id, "ready")

    def _failure(self, name: str, what: str) -> LauncherError:
        label = "the broker" if name == BROKER else f"node {name}"
        if name.startswith(HOST_PREFIX):
            label = f"the node host {name}"
        log_path = self.state.log_path(name)
        return LauncherError(
            f"{label} {what}; last lines of {log_path}:\n{self.processes.tail(name)}"
        )


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env
