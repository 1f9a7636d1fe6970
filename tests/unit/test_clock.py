"""The node clock: stamps and days in the network's time zone, shifted by the test offset."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nodes.clock import Clock

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$")


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/St_Johns", "UTC"])
def test_a_stamp_is_now_in_the_zone_with_microseconds_and_offset(zone: str) -> None:
    clock = Clock(ZoneInfo(zone))
    before = clock.now()
    stamps = [clock.stamp() for _ in range(3)]
    after = clock.now()
    for stamp in stamps:
        assert STAMP.match(stamp), stamp
        moment = datetime.fromisoformat(stamp)
        assert before - timedelta(microseconds=1) <= moment <= after  # now() rounds, ours cuts
        assert moment.utcoffset() == before.utcoffset()
    assert stamps == sorted(stamps)
    assert clock.today_iso() == clock.today().isoformat()


def test_stamp_and_day_follow_an_advanced_clock() -> None:
    clock = Clock(ZoneInfo("Asia/Shanghai"))
    clock.advance(clock.end_of_day() - clock.now() + timedelta(seconds=1))
    tomorrow = clock.today().isoformat()
    assert clock.today_iso() == tomorrow
    assert clock.stamp().startswith(tomorrow + "T00:00:0")
    assert STAMP.match(clock.stamp())
