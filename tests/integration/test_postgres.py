"""The same migrations and services on a real PostgreSQL (CI starts one; see .ci/run)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, func, inspect, select, text
from sqlalchemy.orm import Session

import kamflow as package
from kamflow import audit, migrate, org
from kamflow.db import dispose_engines, get_engine, unit_of_work
from kamflow.demo_data import generate
from kamflow.discounts import service as discounts
from kamflow.errors import InvalidInput
from kamflow.models import AuditEvent, Delegation
from kamflow.people import directory, passwords, signin
from kamflow.settings import Settings, use_settings
from tests.conftest import NOW, TODAY, customer
from tests.unit.documents.conftest import delegate
from tests.unit.test_audit_chain import TAMPERING, change_rows_and_verify, tamper_and_verify, write_events

URL = os.environ.get("KAMFLOW_TEST_POSTGRES_URL")
if URL is None and os.environ.get("CI"):
    raise RuntimeError("CI must provide KAMFLOW_TEST_POSTGRES_URL (.ci/run starts PostgreSQL)")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(URL is None, reason="set KAMFLOW_TEST_POSTGRES_URL to a PostgreSQL server"),
]

SAMPLES = Path(package.__file__).parent / "demo_csv"


@pytest.fixture
def pg_settings(tmp_path) -> Iterator[Settings]:  # type: ignore[no-untyped-def]
    assert URL is not None
    name = f"kamflow_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    settings = Settings(data_dir=tmp_path, database_url=URL.rsplit("/", 1)[0] + f"/{name}")
    use_settings(settings)
    yield settings
    dispose_engines()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name}"))
    admin.dispose()


def test_migrations_go_up_down_and_up_on_postgresql(pg_settings: Settings) -> None:
    migrate.upgrade(pg_settings)
    migrate.downgrade(pg_settings)
    assert inspect(get_engine(pg_settings)).get_table_names() == ["alembic_version"]
    migrate.upgrade(pg_settings)
    assert "approval_tasks" in inspect(get_engine(pg_settings)).get_table_names()


def test_a_discount_is_decided_and_the_audit_trail_refuses_changes_on_postgresql(
    pg_settings: Settings,
) -> None:
    migrate.upgrade(pg_settings)
    generate(get_engine(pg_settings), customers=20, seed=7, today=TODAY)
    with unit_of_work() as session:
        kam = customer(session, "C0001").kam.login
        ask = discounts.DiscountRequestIn(
            customer="C0001",
            price_column=3,
            discount_pct="60",
            order_total="1000",
            requester=kam,
            requested_on=TODAY,
        )
        row = discounts.submit(session, request=ask, flow_run_id="pg", now=NOW)
        assert row.status == "rejected"
    with pytest.raises(Exception, match="append-only"), get_engine(pg_settings).begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'x'"))


def test_a_delegation_cycle_is_found_by_the_recursive_read_on_postgresql(pg_settings: Settings) -> None:
    migrate.upgrade(pg_settings)
    generate(get_engine(pg_settings), customers=5, seed=7, today=TODAY)
    week = TODAY + dt.timedelta(days=6)

    def order(session: Session, frm: str, to: str) -> None:
        org.delegate(
            session,
            frm=org.employee(session, frm),
            to=org.employee(session, to),
            valid_from=TODAY,
            valid_to=week,
            order_ref=f"{frm}-{to}",
            now=NOW,
        )

    with unit_of_work() as session:
        order(session, "legal", "credit")
        order(session, "credit", "support")
    with unit_of_work() as session, pytest.raises(InvalidInput, match="support -> legal -> credit -> support"):
        order(session, "support", "legal")
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Delegation)) == 2
        assert org.acting_for(session, org.employee(session, "legal"), on=TODAY).login == "support"


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_the_audit_chain_names_what_was_changed_in_sql_on_postgresql(
    pg_settings: Settings, tamper: Callable[[Connection, int], str]
) -> None:
    migrate.upgrade(pg_settings)
    write_events(pg_settings)
    tamper_and_verify(get_engine(pg_settings), tamper)


def test_business_rows_changed_in_sql_are_reported_on_postgresql(pg_settings: Settings) -> None:
    migrate.upgrade(pg_settings)
    generate(get_engine(pg_settings), customers=20, seed=7, today=TODAY)
    change_rows_and_verify(pg_settings)


def test_concurrent_writers_keep_one_chain_on_postgresql(pg_settings: Settings) -> None:
    """Shards writing batches at once: seqs are handed out under the head's lock, so the chain stays whole and
    the ids rise with it."""
    migrate.upgrade(pg_settings)

    def shard(k: int) -> None:
        for n in range(10):
            with unit_of_work(pg_settings) as session:
                events = [
                    audit.Event(at=NOW, actor="rules", action="shard", subject_type="t", subject_id=k * 1000 + n)
                ] * 100
                audit.record_many(session, events)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(shard, range(4)))
    with get_engine(pg_settings).connect() as connection:
        check = audit.walk(connection, batch=250)
        ids = connection.execute(select(AuditEvent.id).order_by(AuditEvent.seq)).scalars().all()
    assert check.problem is None and check.events == check.head_seq == 4000
    assert ids == sorted(ids)


def test_the_migration_chains_existing_events_and_keeps_them_append_only_on_postgresql(
    pg_settings: Settings,
) -> None:
    migrate.upgrade(pg_settings, "0005")
    with get_engine(pg_settings).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (at, actor, action, subject_type, subject_id, reasons, facts, "
                "rules_version, detail) SELECT now(), 'rules', 'old', 't', k, '[]', '{\"a\": 1.5}', NULL, "
                "json_build_object('k', k) FROM generate_series(1, 2500) AS k"
            )
        )
    migrate.upgrade(pg_settings)
    with get_engine(pg_settings).connect() as connection:
        check = audit.walk(connection)
    assert check.problem is None and check.events == 2500
    with pytest.raises(Exception, match="append-only"), get_engine(pg_settings).begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'x'"))


def test_people_migrate_import_sign_in_and_act_through_a_delegation_on_postgresql(pg_settings: Settings) -> None:
    migrate.upgrade(pg_settings, "0005")
    with get_engine(pg_settings).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO employees (id, login, full_name, position, department, role, manager_id, active) "
                "VALUES (100, 'old.boss', 'B', 'B', 'M', 'director', NULL, true), "
                "(101, 'old.kam', 'K', 'K', 'S', 'kam', 100, true)"
            )
        )
    migrate.upgrade(pg_settings)  # 0007 alters employees in place, rows and all
    with unit_of_work() as session:
        assert org.employee(session, "old.kam").roles == []
        session.execute(text("DELETE FROM employees"))
    generate(get_engine(pg_settings), customers=5, seed=7, today=TODAY)
    with unit_of_work() as session:
        result = directory.import_employees(session, SAMPLES / "employees.csv", actor="setup", now=NOW)
        assert (result["updated"], result["unchanged"]) == (4, 8)
        passwords.set_password(
            session, org.employee(session, "kam.north2"), "a long password", actor="setup", now=NOW
        )
        delegate(session, "head.north", "kam.north2", TODAY, TODAY)

    def sign_in(session: Session, password: str) -> signin.Issued | signin.Refused:
        return signin.sign_in(
            session,
            login="kam.north2",
            password=password,
            now=NOW,
            lifetime=dt.timedelta(hours=12),
            failures=5,
            window=dt.timedelta(minutes=15),
        )

    with unit_of_work() as session:
        wrong, issued = sign_in(session, "not it"), sign_in(session, "a long password")
    assert isinstance(wrong, signin.Refused) and isinstance(issued, signin.Issued)
    with unit_of_work() as session:
        acting = signin.identify(session, token=issued.token, as_login="head.north", on=TODAY, now=NOW)
        assert isinstance(acting, signin.Acting) and (acting.login, acting.on_behalf) == ("head.north", True)
        expired = signin.identify(
            session, token=issued.token, as_login=None, on=TODAY, now=NOW + dt.timedelta(hours=13)
        )
        assert isinstance(expired, signin.Refused) and expired.field == "token"
