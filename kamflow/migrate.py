"""Alembic, driven from code: `kamflow init` upgrades the domain database to head."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config

from kamflow.db import get_engine
from kamflow.settings import Settings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(settings: Settings | None = None) -> Config:
    settings = settings or get_settings()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _run(settings: Settings | None, step: Callable[[Config], object]) -> None:
    """Run a step in one transaction. On SQLite foreign keys are off meanwhile (they can only be switched
    outside a transaction), as SQLite asks for table rebuilds: batch mode drops and re-creates tables that
    others refer to. Every reference is checked before the transaction commits."""
    config = alembic_config(settings)
    with get_engine(settings).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                step(config)
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").first()):
                    raise RuntimeError(f"the migration breaks a foreign key: {tuple(broken)}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade(settings: Settings | None = None, revision: str = "head") -> None:
    _run(settings, lambda config: command.upgrade(config, revision))


def downgrade(settings: Settings | None = None, revision: str = "base") -> None:
    _run(settings, lambda config: command.downgrade(config, revision))


def new_revision(message: str, rev_id: str, settings: Settings | None = None) -> None:
    """For developers: write the next migration from the models (`python -m kamflow.migrate MSG ID`)."""
    _run(settings, lambda config: command.revision(config, message=message, autogenerate=True, rev_id=rev_id))


if __name__ == "__main__":
    import sys

    upgrade()
    new_revision(sys.argv[1], sys.argv[2])
