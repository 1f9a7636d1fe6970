"""Time, injectable so tests can cross midnight (tokens are valid to the end of the day)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_ZERO = timedelta(0)


class Clock:
    """Wall-clock time in the network's time zone, shifted by ``offset`` (zero in production).

    ``stamp`` and ``today_iso`` run on every request: with no offset they reuse the text of the
    current second (its date, time and UTC offset) and only write the microseconds.
    """

    def __init__(self, zone: ZoneInfo, offset: timedelta = _ZERO):
        self.zone = zone
        self.offset = offset
        self._second = -1  # the second the texts below are of
        self._prefix = ""  # YYYY-MM-DDTHH:MM:SS
        self._suffix = ""  # the UTC offset, +08:00
        self._day = ""  # YYYY-MM-DD

    def now(self) -> datetime:
        return datetime.now(self.zone) + self.offset

    def today(self) -> date:
        return self.now().date()

    def today_iso(self) -> str:
        """``today().isoformat()``."""
        if self.offset:
            return self.today().isoformat()
        self._text_of(int(time.time()))
        return self._day

    def end_of_day(self) -> datetime:
        tomorrow = self.today() + timedelta(days=1)
        return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=self.zone)

    def stamp(self) -> str:
        """``cd_time`` and audit times: ISO 8601 with microseconds and offset."""
        if self.offset:
            return self.now().isoformat(timespec="microseconds")
        now = time.time()
        second = int(now)
        self._text_of(second)
        return f"{self._prefix}.{int((now - second) * 1_000_000):06d}{self._suffix}"

    def _text_of(self, second: int) -> None:
        if second != self._second:
            text = datetime.fromtimestamp(second, self.zone).isoformat()
            self._prefix, self._suffix, self._day = text[:19], text[19:], text[:10]
            self._second = second

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
