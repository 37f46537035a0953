"""Alembic, driven from code: `kamflow init` upgrades the domain database to head."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config

from kamflow.db import get_engine
from kamflow.errors import InvalidInput
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


APPEND_ONLY = ("audit_events", "alembic_version")
"""Tables the application role only reads and adds to: the audit trail (its triggers refuse changes too) and
Alembic's version, which only the owner's migrations move."""


def grant_roles(settings: Settings | None = None, *, app: str | None = None, reader: str | None = None) -> None:
    """PostgreSQL: let `app` (the role kamflow's server, flows and workers connect as) read and write the rows of
    every table and use their sequences — but, not owning them, never ALTER a table or DISABLE a trigger, nor
    change the audit trail — and `reader` (reports) only read. The owner runs this after each migration
    (`kamflow init --app-role --read-role`): it grants on the tables as they now are. The roles must exist."""
    engine = get_engine(settings)
    if engine.dialect.name != "postgresql":
        raise InvalidInput("database roles are PostgreSQL's: this database is SQLite", field="app_role")
    quote = engine.dialect.identifier_preparer.quote
    statements: list[str] = []
    if app:
        role = quote(app)
        statements += [
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            f"REVOKE UPDATE, DELETE, TRUNCATE ON {', '.join(APPEND_ONLY)} FROM {role}",
            f"REVOKE INSERT ON alembic_version FROM {role}",
        ]
    if reader:
        role = quote(reader)
        statements += [
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
        ]
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def new_revision(message: str, rev_id: str, settings: Settings | None = None) -> None:
    """For developers: write the next migration from the models (`python -m kamflow.migrate MSG ID`)."""
    _run(settings, lambda config: command.revision(config, message=message, autogenerate=True, rev_id=rev_id))


if __name__ == "__main__":
    import sys

    upgrade()
    new_revision(sys.argv[1], sys.argv[2])
