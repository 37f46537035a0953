"""`kamflow init --demo` on a database that holds data refuses (exit 2, nothing changed); `--reset` starts a SQLite
database again and keeps a copy of it; on PostgreSQL it refuses to reset and says why."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from kamflow.db import dispose_engines
from kamflow.settings import Settings, use_settings

Kamflow = Callable[..., tuple[int, Any]]


def customers_in(path: Path) -> int:
    with closing(sqlite3.connect(path)) as connection:
        return int(connection.execute("SELECT count(*) FROM customers").fetchone()[0])


def test_init_demo_on_a_database_with_data_refuses_and_changes_nothing(
    kamflow: Kamflow, settings: Settings
) -> None:
    database = settings.data_dir / "kamflow.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    code, refused = kamflow("init", "--demo")
    assert (code, refused["field"]) == (2, "demo")
    assert "already holds data (40 customers, 13 employees)" in refused["message"]
    assert "kamflow init --demo --reset" in refused["message"]
    dispose_engines()
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before


def test_reset_keeps_a_copy_and_starts_again(kamflow: Kamflow, settings: Settings) -> None:
    code, done = kamflow("init", "--demo", "--reset", "--customers", "5")
    assert code == 0, done
    backup = Path(done["backup"])
    assert backup.parent == settings.data_dir and backup.name.startswith("kamflow.db.backup-")
    assert customers_in(backup) == 40  # what the database held
    dispose_engines()
    assert customers_in(settings.data_dir / "kamflow.db") == 5 and done["demo"]["customers"] == 5


def test_reset_refuses_a_postgresql_database_and_says_why(kamflow: Kamflow, settings: Settings) -> None:
    use_settings(settings.model_copy(update={"database_url": "postgresql+psycopg://kamflow@127.0.0.1:9/kamflow"}))
    code, refused = kamflow("init", "--demo", "--reset")
    assert (code, refused["field"]) == (2, "reset")
    assert "only a SQLite file" in refused["message"] and "pg_dump" in refused["message"]
