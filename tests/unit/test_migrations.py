"""The Alembic chain: up, down, up again, and it matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from kamflow import migrate
from kamflow.db import dispose_engines, get_engine
from kamflow.schema import metadata
from kamflow.settings import Settings


def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings)
    assert "audit_events" in inspect(get_engine(settings)).get_table_names()
    migrate.downgrade(settings)
    assert inspect(get_engine(settings)).get_table_names() == ["alembic_version"]
    migrate.upgrade(settings)
    with get_engine(settings).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    dispose_engines()
