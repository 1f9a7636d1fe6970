"""The Mosquitto a network starts gets the embedded broker's logins and topic ACLs (issue #13)."""

from __future__ import annotations

from pathlib import Path

from gateway.control.exchange_access import exchange_access
from gateway.control.mosquitto import acl_text, config_text, mosquitto_ready
from tests.unit.test_catalog_support import topology

SECRET = bytes(range(32))


def test_each_node_writes_and_reads_only_the_topics_of_its_links_and_its_own() -> None:
    text = acl_text(exchange_access(topology("net"), SECRET))
    blocks = {lines[0]: lines[1:] for lines in map(str.splitlines, text.split("\n\n")) if lines}
    assert blocks["user hlj-harbin"] == [
        "topic write ecert/net/reminders/hlj-harbin",  # its own broadcast topics (§8.3.4, §8.1.3)
        "topic write ecert/net/grants/hlj-harbin",
        "topic write ecert/net/catalog/hlj",
        "topic write ecert/net/types/hlj",
        "topic write ecert/net/ack/hlj-harbin-amr",
        "topic write ecert/net/anomaly/hlj-harbin-amr",
        "topic read ecert/net/grants/+",  # every node's authorisations
        "topic read ecert/net/ack/hlj-harbin",
        "topic read ecert/net/anomaly/hlj-harbin",
        "topic read ecert/net/reminders/hlj-harbin-amr",  # its children's reminders
        "topic read ecert/net/catalog/hlj-harbin",
        "topic read ecert/net/types/hlj-harbin",
    ]
    assert "#" not in text  # nobody reads the whole network; one wildcard, for the grants
    assert {line for line in text.splitlines() if "+" in line} == {"topic read ecert/net/grants/+"}


def test_the_config_refuses_anonymous_clients_and_names_the_files() -> None:
    text = config_text("127.0.0.9", 18830, Path("/state/mosquitto"))
    assert "listener 18830 127.0.0.9" in text.splitlines()
    assert "allow_anonymous false" in text.splitlines()
    assert "password_file /state/mosquitto/passwd" in text.splitlines()
    assert "acl_file /state/mosquitto/acl" in text.splitlines()
    assert mosquitto_ready("1796463314: mosquitto version 2.0.11 running")
    assert not mosquitto_ready("1796463314: mosquitto version 2.0.11 starting")
