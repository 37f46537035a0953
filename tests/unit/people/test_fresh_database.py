"""A company without the demo: `kamflow init`, its people from a file, its customers from another; then the first
admin's password ends the setting up, and the org chart is an admin's to keep."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

import kamflow as package
from kamflow import migrate
from kamflow.db import dispose_engines, get_engine
from kamflow.demo_data import DEMO_PASSWORD
from kamflow.settings import Settings, use_settings
from tests.unit.people.conftest import answer, kamflow, set_password, sign_in

SAMPLES = Path(package.__file__).parent / "demo_csv"


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path / "data", token_file=tmp_path / "config" / "token", auth="required")
    use_settings(settings)
    yield settings
    dispose_engines()


def test_init_then_people_then_customers_on_a_fresh_database(fresh: Settings) -> None:
    assert kamflow("init").exit_code == 0
    code, people = answer("import", "employees", str(SAMPLES / "employees.csv"))
    assert code == 0 and people["added"] == 12
    code, customers = answer("import", "customers", str(SAMPLES / "customers.csv"))
    assert code == 0 and customers["imported"] == 2

    set_password("hr")  # the first admin's password: nobody could sign in before, so "setup" set it
    assert kamflow("user", "list").exit_code == 0  # reading stays open (the access policy will say who reads what)
    assert kamflow("import", "employees", str(SAMPLES / "employees.csv")).exit_code == 3  # not signed in
    assert sign_in("hr").exit_code == 0
    code, again = answer("import", "employees", str(SAMPLES / "employees.csv"))
    assert code == 0 and again["unchanged"] == 12
    code, tasks = answer("tasks")
    assert code == 0 and tasks == []


def test_the_people_migration_keeps_the_rows_it_finds(tmp_path: Path) -> None:
    """0007 changes the employees table in place: a copy would be refused while other rows point at it."""
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings, "0005")
    with get_engine(settings).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO employees (id, login, full_name, position, department, role, manager_id, active) "
                "VALUES (1, 'boss', 'B', 'B', 'M', 'director', NULL, 1), (2, 'kam', 'K', 'K', 'S', 'kam', 1, 1)"
            )
        )
    migrate.upgrade(settings)
    with get_engine(settings).connect() as connection:
        rows = connection.execute(text("SELECT login, roles, language, password_hash FROM employees")).all()
    assert sorted(rows) == [("boss", "[]", None, None), ("kam", "[]", None, None)]
    assert "api_tokens" in inspect(get_engine(settings)).get_table_names()
    migrate.downgrade(settings, "0005")
    with get_engine(settings).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM employees")).scalar() == 2
    dispose_engines()


def test_init_demo_prints_the_demo_password_every_demo_login_signs_in_with(fresh: Settings) -> None:
    code, result = answer("init", "--demo", "--customers", "5")
    assert code == 0 and result["demo_password"] == DEMO_PASSWORD
    assert sign_in("kam.north1", DEMO_PASSWORD).exit_code == 0
    assert "password" not in kamflow("init").stdout  # only --demo has one
