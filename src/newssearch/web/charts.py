"""The date histogram as server-rendered SVG geometry: one bar per date bucket, each a link."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 120
GAP = 1


@dataclass(frozen=True)
class Bar:
    """One bar: its bucket, count, geometry in SVG user units, and the link narrowing to it."""

    label: str
    count: int
    x: float
    y: float
    width: float
    height: float
    href: str


def range_of(bucket: str) -> tuple[dt.date, dt.date]:
    """First and last day of a date bucket: 2016, 2016-03, 2016-W09 or 2016-03-31."""
    if "-W" in bucket:
        year, week = bucket.split("-W")
        start = dt.date.fromisocalendar(int(year), int(week), 1)
        return start, start + dt.timedelta(days=6)
    parts = [int(p) for p in bucket.split("-")]
    if len(parts) == 1:
        return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
    if len(parts) == 2:
        last = calendar.monthrange(parts[0], parts[1])[1]
        return dt.date(parts[0], parts[1], 1), dt.date(parts[0], parts[1], last)
    day = dt.date(*parts)
    return day, day


def histogram(
    buckets: Sequence[tuple[str, int]], link: Callable[[dt.date, dt.date], str]
) -> list[Bar]:
    """Bars filling WIDTH x HEIGHT for (bucket, count) pairs; ``link`` makes each bar's URL."""
    if not buckets:
        return []
    widest = max(count for _, count in buckets) or 1
    step = WIDTH / len(buckets)
    bars = []
    for i, (label, count) in enumerate(buckets):
        height = 0.0 if not count else max(2.0, (HEIGHT - 4) * count / widest)
        bars.append(
            Bar(
                label=label,
                count=count,
                x=round(i * step, 2),
                y=round(HEIGHT - height, 2),
                width=round(max(step - GAP, 1.0), 2),
                height=round(height, 2),
                href=link(*range_of(label)),
            )
        )
    return bars
