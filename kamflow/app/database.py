"""The database `kamflow init` sets up: whether it already holds data, and starting it again (`--reset`) with a
copy of what it held kept beside it. Only a SQLite file is reset: a PostgreSQL database belongs to its
administrator, who drops it after a dump of their own."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import func, inspect, select

from kamflow.db import dispose_engines, get_engine
from kamflow.errors import InvalidInput
from kamflow.models import Customer, Employee
from kamflow.settings import Settings

SQLITE = "sqlite:///"


def held(settings: Settings) -> dict[str, int]:
    """How many customers and employees the database holds (none if it has no tables yet)."""
    engine = get_engine(settings)
    if "customers" not in inspect(engine).get_table_names():
        return {}
    with engine.connect() as connection:
        counts = {
            "customers": connection.scalar(select(func.count()).select_from(Customer)) or 0,
            "employees": connection.scalar(select(func.count()).select_from(Employee)) or 0,
        }
    return {name: count for name, count in counts.items() if count}


def reset(settings: Settings, *, now: dt.datetime) -> Path | None:
    """Copy the SQLite database to `kamflow.db.backup-YYYYMMDDTHHMMSSZ` beside it (SQLite's online backup, so a
    database in WAL mode is copied whole) and remove it; the copy, or None when there was no file. InvalidInput on
    `reset` for any other database."""
    url = settings.db_url
    if not url.startswith(SQLITE):
        raise InvalidInput(
            "reset: kamflow resets only a SQLite file, which it can copy first; a PostgreSQL database is its "
            "administrator's to drop and create again (after pg_dump), then run kamflow init --demo",
            field="reset",
        )
    path = Path(url.removeprefix(SQLITE))
    dispose_engines()
    if not path.exists():
        return None
    copy = path.with_name(f"{path.name}.backup-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}")
    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    for leftover in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        leftover.unlink(missing_ok=True)
    return copy
