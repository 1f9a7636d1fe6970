"""A node host: several nodes in one process, each wholly its own.

``NodeHost`` runs each node as one task of its task group, ``node[<id>].serve_loop``, around
``nodes.serve.serve``: the node's socket, store, accounts, tokens, audit, forwarder, exchange
identity, events file and metrics registry are made by ``assembled`` for that node alone, and
nothing of a node is kept at module level, so two nodes of a host share nothing but the
interpreter. Each node's task runs in a context of its own with ``node`` bound for structlog, so
every log line of the host names the node it is about (aiohttp's request tasks inherit it from
the listening socket).

A node is started, stopped (cleanly, as SIGTERM does) and aborted (as SIGKILL does) alone:
``abort`` closes its listening socket and every connection at once (a request in flight gets no
answer), cancels its tasks and closes its store without the shutdown steps; SQLite keeps what
was committed and drops the transaction left open, as after a crash, so the node finds on
restart what a killed process would have found. The host itself stops on SIGTERM or SIGINT.
What the host holds for the whole process (the garbage collector's tuning, signal handlers) is
set once by the host, never by a node.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import structlog

from nodes.errors import NodeStartFailed
from nodes.serve import ServedNode, serve
from nodes.settings import NodeSettings

log = structlog.get_logger()
ABORT_WITHIN = 5.0  # seconds an aborted node may take to let go of its resources


class HostError(Exception):
    """A request to the host that names a node it does not run, or one already running."""


@dataclass
class _Running:
    """One node of the host: its stop switch, what it became and (once started) its task."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    aborted: bool = False
    served: asyncio.Future[ServedNode] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    task: asyncio.Task[None] = field(init=False)


class NodeHost:
    """``async with NodeHost(settings_of) as host: await host.start("hlj")``.

    ``settings_of(node_id)`` builds a node's settings when it starts (so a restart reads its
    keys again, as a new process would). Leaving the block stops every node cleanly.
    """

    def __init__(self, settings_of: Callable[[str], NodeSettings]):
        self.settings_of = settings_of
        self._nodes: dict[str, _Running] = {}
        self._tasks: asyncio.TaskGroup | None = None
        self.stopped = asyncio.Event()  # set when a node ends by itself (failed or stopped)

    async def __aenter__(self) -> Self:
        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for running in self._nodes.values():
            running.stop.set()
        assert self._tasks is not None
        await self._tasks.__aexit__(exc_type, exc, tb)

    # -- queries ----------------------------------------------------------------------------------
    def running(self) -> list[str]:
        """The ids of the nodes serving now (in the order they were started)."""
        return [node_id for node_id, running in self._nodes.items() if not running.task.done()]

    def served(self, node_id: str) -> ServedNode:
        """What a serving node is made of (its context and app), for tests and the control."""
        running = self._nodes.get(node_id)
        if running is None or running.task.done() or not running.served.done():
            raise HostError(f"node {node_id} is not serving in this host")
        return running.served.result()

    # -- one node ---------------------------------------------------------------------------------
    async def start(self, node_id: str) -> ServedNode:
        """Start one node and wait until it listens; ``NodeStartFailed`` when it cannot."""
        if node_id in self.running():
            raise HostError(f"node {node_id} is already running in this host")
        assert self._tasks is not None, "use the host as an async context manager"
        settings = self.settings_of(node_id)
        running = _Running()
        context = contextvars.copy_context()
        context.run(structlog.contextvars.bind_contextvars, node=node_id)
        task = self._tasks.create_task(
            self._serve_loop(settings, running), name=f"node[{node_id}].serve_loop", context=context
        )
        running.task = task
        self._nodes[node_id] = running
        waits: set[asyncio.Future[Any]] = {running.served, task}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if running.served.done() and not running.served.cancelled():
            return running.served.result()
        raise NodeStartFailed(f"node {node_id} did not start; see its log lines")

    async def stop(self, node_id: str) -> bool:
        """Stop one node cleanly (as SIGTERM does); False when it was not running."""
        running = self._nodes.get(node_id)
        if running is None or running.task.done():
            return False
        running.stop.set()
        await asyncio.wait({running.task})
        return True

    async def abort(self, node_id: str) -> bool:
        """End one node as a crash would (see the module's docstring); False when not running."""
        running = self._nodes.get(node_id)
        if running is None or running.task.done():
            return False
        running.aborted = True
        running.task.cancel()
        await asyncio.wait({running.task}, timeout=ABORT_WITHIN)
        while not running.task.done():  # something of the node's cleanup hangs: cut it short
            stack = io.StringIO()
            running.task.print_stack(file=stack)
            log.warning("node.abort_forced", node=node_id, waiting_in=stack.getvalue()[-3000:])
            running.task.cancel()
            await asyncio.wait({running.task}, timeout=ABORT_WITHIN)
        return True

    async def _serve_loop(self, settings: NodeSettings, running: _Running) -> None:
        try:
            await serve(settings, shutdown_trigger=running.stop.wait, on_served=running.served)
        except asyncio.CancelledError:
            if not running.aborted:
                raise  # the host itself ends
            log.warning("node.aborted")  # the abort ends the node alone
        except Exception as exc:  # one node's failure must not end its neighbours in the host
            if not _start_failed(exc):  # else node.bind_failed is logged
                log.exception("node.failed")
        finally:
            if not running.served.done():
                running.served.cancel()
            self.stopped.set()


def _start_failed(exc: Exception) -> bool:
    """Whether ``exc`` is (or only wraps, in the exchange's task group) ``NodeStartFailed``."""
    if isinstance(exc, ExceptionGroup):
        return exc.subgroup(NodeStartFailed) is not None
    return isinstance(exc, NodeStartFailed)
