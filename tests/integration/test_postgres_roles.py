"""The production shape's database roles on a real PostgreSQL: the owner migrates; the application's role reads and
writes rows (a decision and its audit chain) but cannot alter a table, disable the audit trail's trigger or change
an audit event; the reports' role only reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from kamflow import migrate
from kamflow.db import dispose_engines, get_engine, unit_of_work
from kamflow.demo_data import generate
from kamflow.discounts import service as discounts
from kamflow.settings import Settings, use_settings
from kamflow.verify import verify
from tests.conftest import NOW, TODAY, customer
from tests.integration.test_postgres import URL, pytestmark  # noqa: F401


@pytest.fixture
def roles(tmp_path: Path) -> Iterator[dict[str, Settings]]:
    """A database owned by an owner role, beside an application role and a reports role: settings for each."""
    assert URL is not None
    tag = uuid.uuid4().hex[:8]
    names = {"owner": f"owner_{tag}", "app": f"app_{tag}", "reader": f"reader_{tag}"}
    database = f"kamflow_roles_{tag}"
    admin = create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names.values():
            connection.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'"))
        connection.execute(text(f"CREATE DATABASE {database} OWNER {names['owner']}"))
    url = make_url(URL).set(database=database, password="pw")
    yield {
        kind: Settings(
            data_dir=tmp_path, database_url=url.set(username=name).render_as_string(hide_password=False)
        )
        for kind, name in names.items()
    }
    dispose_engines()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {database}"))
        for name in names.values():
            connection.execute(text(f"DROP ROLE {name}"))
    admin.dispose()


def role(settings: Settings) -> str:
    return str(make_url(settings.db_url).username)


def test_the_application_role_acts_but_cannot_alter_tables_or_the_audit_trail(roles: dict[str, Settings]) -> None:
    migrate.upgrade(roles["owner"])
    generate(get_engine(roles["owner"]), customers=10, seed=7, today=TODAY)
    migrate.grant_roles(roles["owner"], app=role(roles["app"]), reader=role(roles["reader"]))

    use_settings(roles["app"])
    with unit_of_work() as session:  # a decision, audited in the chain, as the application makes it
        kam = customer(session, "C0001").kam.login
        ask = discounts.DiscountRequestIn(
            customer="C0001", price_column=3, discount_pct=Decimal(60), order_total=Decimal(1000), requester=kam
        )
        assert discounts.submit(session, request=ask, flow_run_id="pg", now=NOW).status == "rejected"
    for refused in (
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "ALTER TABLE discount_requests ADD COLUMN sneaky integer",
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "UPDATE audit_events SET actor = 'someone else'",
        "DELETE FROM audit_events",
        "UPDATE alembic_version SET version_num = 'x'",
    ):
        with get_engine(roles["app"]).connect() as connection, pytest.raises(ProgrammingError) as error:
            connection.execute(text(refused))
        assert "must be owner" in str(error.value) or "permission denied" in str(error.value), refused

    with get_engine(roles["reader"]).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM discount_requests")).scalar_one() == 1
        with pytest.raises(ProgrammingError, match="permission denied"):
            connection.execute(text("DELETE FROM discount_requests"))
    with get_engine(roles["owner"]).connect() as connection:
        assert verify(connection).ok, "the application's writes broke the audit chain"
