"""Time, injectable so tests can cross midnight (tokens are valid to the end of the day)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    """Wall-clock time in the network's time zone, shifted by ``offset`` (zero in production)."""

    def __init__(self, zone: ZoneInfo, offset: timedelta = timedelta(0)):
        self.zone = zone
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(self.zone) + self.offset

    def today(self) -> date:
        return self.now().date()

    def end_of_day(self) -> datetime:
        tomorrow = self.today() + timedelta(days=1)
        return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=self.zone)

    def stamp(self) -> str:
        """``cd_time`` and audit times: ISO 8601 with microseconds and offset."""
        return self.now().isoformat(timespec="microseconds")

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
