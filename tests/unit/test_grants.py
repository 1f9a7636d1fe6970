"""The grant index's messages (§8.1.3): a node's own list of well-formed grants is read back as
it was written; anything else is refused; every node may read every node's grants topic and
publish only on its own."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.control.exchange_access import exchange_access
from gateway.core.exchange import every_grants_topic, grants_topic
from gateway.core.topology import parse_topology
from nodes.authorisation.index import entries_of, grants_message
from nodes.store.authorisations import IndexEntry
from tests.unit.test_reminders import TOPOLOGY

ENTRY = IndexEntry("hlj-harbin", "1.2.156.X", "T", "N", "A1", "甲", "B2", "乙")


def test_a_message_reads_back_as_the_entries_it_was_made_of() -> None:
    message = grants_message("hlj-harbin", [ENTRY])
    assert entries_of("hlj-harbin", message) == [ENTRY]


@pytest.mark.parametrize(
    "message",
    [
        {"node": "hlj-daqing", "grants": []},  # another node's list on this node's topic
        {"node": "hlj-harbin"},
        {"node": "hlj-harbin", "grants": [{"certificateID": 1}]},
        {"node": "hlj-harbin", "grants": ["x"]},
    ],
)
def test_anything_but_the_publishers_own_list_of_grants_is_refused(message: Any) -> None:
    with pytest.raises(ValueError, match="grant"):
        entries_of("hlj-harbin", message)


def test_every_node_reads_every_grants_topic_and_publishes_only_its_own() -> None:
    access = exchange_access(parse_topology(TOPOLOGY), b"secret")
    for node, topics in access.subscribe.items():
        assert every_grants_topic("demo") in topics, node
        assert grants_topic("demo", node) in access.publish[node]
    assert grants_topic("demo", "hlj-harbin") not in access.publish["hlj"]
    assert every_grants_topic("demo") == "ecert/demo/grants/+"
