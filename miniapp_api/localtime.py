"""Stored times are naive UTC; people read and type the time of the campaign's time zone.
These two helpers are the only crossing between the two."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def to_local(moment: datetime, tz: str) -> datetime:
    """A stored naive-UTC time as an aware time in the zone tz."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz))


def to_utc(moment: datetime, tz: str) -> datetime:
    """A wall-clock time typed in the zone tz (naive) as the naive UTC that is stored."""
    return moment.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)
