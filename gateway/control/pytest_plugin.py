"""The pytest plugin of ecert-cascade (entry point ``pytest11``: loaded by every pytest run
where the package is installed). Without its fixtures it costs an option group and a marker;
nothing is imported or started until a test asks for ``ecert_network``.

Fixtures:

- ``ecert_network`` — a running, settled network (``gateway.control.testing.EcertNetwork``):
  node URLs, ``account(node, ip)``, ``call(node, method, ...)`` returning envelope, route and
  timings, ``certificates(node)``, ``admin(...)``, ``wait()``, and ``fault(kind, ...)``, a
  context manager holding a fault (``gateway.control.faults``) in force for its block. Tests
  asking for the same network share it for the whole session.
- ``ecert_networks`` — the session's ``NetworkPool``, for fixtures of a wider scope.

Which network: ``@pytest.mark.ecert_topology("path.yaml", seed=..., per_node=...,
keep_addresses=...)`` on the test, module or class (a path relative to the test file), else
``--ecert-topology PATH``, else the demo network of ``topology.yaml``. Each starts on fresh
loopback addresses and free ports unless ``keep_addresses=True`` or ``--ecert-keep-addresses``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gateway.control.testing import EcertNetwork, NetworkPool, NetworkSpec

MARKER = "ecert_topology"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ecert", "ecert-cascade networks (the ecert_network fixture)")
    group.addoption(
        "--ecert-topology",
        metavar="PATH",
        default=None,
        help="topology file of ecert_network when no marker names one (default: the demo)",
    )
    group.addoption(
        "--ecert-nodes-per-process",
        metavar="N",
        type=int,
        default=None,
        help="run N nodes in each process of ecert_network (default: the launcher's rule)",
    )
    group.addoption(
        "--ecert-keep-addresses",
        action="store_true",
        help="start networks on the topology's own addresses, not fresh loopback ones",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path=None, *, seed=2836, per_node=40, keep_addresses=False): the network "
        "the ecert_network fixture runs (path relative to the test file; default the demo)",
    )


@pytest.fixture(scope="session")
def ecert_networks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetworkPool]:
    """Every network the session's tests asked for, stopped at its end."""
    from gateway.control.testing import NetworkPool  # noqa: PLC0415 - only when used

    pool = NetworkPool(tmp_path_factory.mktemp("ecert"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def ecert_network(request: pytest.FixtureRequest, ecert_networks: NetworkPool) -> EcertNetwork:
    """The running network of the test's topology (marker, option, or the demo)."""
    return ecert_networks.get(network_spec(request))


def network_spec(request: pytest.FixtureRequest) -> NetworkSpec:
    from gateway.control.testing import NetworkSpec  # noqa: PLC0415 - only when used

    marker = request.node.get_closest_marker(MARKER)
    args: tuple[Any, ...] = marker.args if marker is not None else ()
    kwargs: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    config = request.config
    if len(args) > 1 or set(kwargs) - {"path", "seed", "per_node", "keep_addresses"}:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER} takes a path and seed=, per_node=, keep_addresses="
        )
    given = args[0] if args else kwargs.pop("path", None)
    if given is not None:
        topology = Path(request.node.path).parent / str(given)
    elif config.getoption("ecert_topology"):
        topology = Path(config.invocation_params.dir) / config.getoption("ecert_topology")
    else:
        topology = NetworkSpec().topology
    keep = kwargs.pop("keep_addresses", False) or config.getoption("ecert_keep_addresses")
    packing = config.getoption("ecert_nodes_per_process")
    return NetworkSpec(
        topology=topology.resolve(), keep_addresses=bool(keep), nodes_per_process=packing, **kwargs
    )
