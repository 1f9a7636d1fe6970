"""Expiry reminders (§8.3.4), the pure parts: the date window, a reminder's days left, the
topology's settings, and the exchange ACLs (a node publishes its own reminders, its parent
reads them, nobody else does)."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.control.exchange_access import exchange_access
from gateway.core.errors import TopologyError
from gateway.core.exchange import reminders_topic
from gateway.core.topology import parse_topology
from nodes.reminders import reminder, window

TOPOLOGY = """
network: demo
reminders: {within_days: 45, every: 3600}
nodes:
  - {id: national, tier: national, name: 国家, host: 127.0.3.1, port: 8701}
  - {id: hlj, tier: province, parent: national, name: 黑龙江, area_code: "230000",
     host: 127.0.3.2, port: 8701}
  - {id: hlj-harbin, tier: city, parent: hlj, name: 哈尔滨, area_code: "230100",
     data_source: "101", host: 127.0.3.3, port: 8701}
  - {id: hlj-daqing, tier: city, parent: hlj, name: 大庆, area_code: "230600",
     data_source: "102", host: 127.0.3.4, port: 8701}
"""


def test_the_window_includes_today_and_the_last_day() -> None:
    assert window(date(2026, 12, 5), 30) == ("2026-12-05", "2027-01-04")


def test_a_reminder_counts_the_days_left() -> None:
    record = {"CertificateID": "X", "CertificateExpiringDate": "2026-12-15"}
    assert reminder(record, date(2026, 12, 5))["daysLeft"] == 10


def test_the_topology_sets_the_window_and_the_round() -> None:
    topology = parse_topology(TOPOLOGY)
    assert (topology.reminders.within_days, topology.reminders.every) == (45, 3600)
    assert parse_topology(TOPOLOGY.replace("reminders: {within_days: 45, every: 3600}\n", ""))\
        .reminders.within_days == 30  # fmt: skip


@pytest.mark.parametrize("bad", ["{within_days: 0}", "{every: 0}", "{days: 3}"])
def test_bad_reminder_settings_are_refused(bad: str) -> None:
    with pytest.raises(TopologyError, match="reminders"):
        parse_topology(TOPOLOGY.replace("{within_days: 45, every: 3600}", bad))


def test_a_node_publishes_its_reminders_and_only_its_parent_reads_them() -> None:
    access = exchange_access(parse_topology(TOPOLOGY), b"secret")
    harbin = reminders_topic("demo", "hlj-harbin")
    assert harbin in access.publish["hlj-harbin"]
    assert harbin not in access.publish["hlj-daqing"]
    assert harbin in access.subscribe["hlj"]
    assert harbin not in access.subscribe["hlj-daqing"]
    assert harbin not in access.subscribe["national"]
