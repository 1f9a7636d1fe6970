"""Fixtures for end-to-end tests: networks of real node processes from generated topologies.

``demo_network`` runs the demo shape (ten nodes and the embedded broker) once per test module;
tests sharing it must leave it as they found it (restart what they stop). For a network of
another shape, use ``write_topology`` and ``running_network`` from ``tests.e2e.harness``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import Network, network_in_background, write_topology


@pytest.fixture(scope="module")
def demo_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    root = tmp_path_factory.mktemp("demo-network")
    with network_in_background(write_topology(root, shape="demo"), root / "state") as net:
        yield net
