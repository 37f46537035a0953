"""'Now' and 'today' in one place, so every caller can inject its own."""

from __future__ import annotations

import datetime as dt

from kamflow.settings import get_settings


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today(at: dt.datetime | None = None) -> dt.date:
    """The business date in the company's timezone."""
    return (at or now()).astimezone(get_settings().tz).date()
