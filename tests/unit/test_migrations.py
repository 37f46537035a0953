"""The Alembic chain: up, down, up again, and it matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from kamflow import migrate
from kamflow.db import dispose_engines, get_engine
from kamflow.installation import installation_id
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


def test_0008_keeps_what_limits_meant(tmp_path: Path) -> None:
    """A sub-limit of 0 for open orders or invoices meant none (now NULL); an overdue limit of 0, or no credit
    terms at all, tolerated no overdue (now an explicit 0); total limits stay as they were."""
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings, "0006")
    with get_engine(settings).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO employees (id, login, full_name, position, department, role, active) "
                "VALUES (1, 'kam', 'K', 'KAM', 'Sales', 'kam', 1)"
            )
        )
        for customer_id, limit in ((1, "0.00"), (2, "5000.00")):
            connection.execute(
                text(
                    "INSERT INTO customers (id, code, name, customer_class, company_type, kam_id, credit_limit,"
                    " currency, payment_terms_days, active) VALUES (:id, :code, 'x', 'B', 'private', 1, :limit,"
                    " 'EUR', 30, 1)"
                ),
                {"id": customer_id, "code": f"C000{customer_id}", "limit": limit},
            )
        connection.execute(
            text(
                "INSERT INTO credit_terms (customer_id, open_orders_limit, open_invoices_limit, overdue_limit,"
                " updated_at) VALUES (2, 0, 700, 0, '2026-01-01 00:00:00')"
            )
        )
    migrate.upgrade(settings)
    with get_engine(settings).connect() as connection:
        limits = connection.execute(text("SELECT id, credit_limit FROM customers ORDER BY id")).all()
        terms = connection.execute(
            text(
                "SELECT customer_id, open_orders_limit, open_invoices_limit, overdue_limit FROM credit_terms"
                " ORDER BY customer_id"
            )
        ).all()
    assert [(i, str(limit)) for i, limit in limits] == [(1, "0"), (2, "5000")]
    assert [tuple(None if v is None else str(v) for v in row) for row in terms] == [
        ("1", None, None, "0"),
        ("2", None, "700", "0"),
    ]
    dispose_engines()


def test_every_new_database_gets_an_installation_id_of_its_own(tmp_path: Path) -> None:
    ids = []
    for name in ("one", "two"):
        settings = Settings(data_dir=tmp_path / name)
        migrate.upgrade(settings)
        with Session(get_engine(settings)) as session:
            ids.append(installation_id(session))
        dispose_engines()
    assert len(set(ids)) == 2 and all(len(i) == 8 for i in ids)
