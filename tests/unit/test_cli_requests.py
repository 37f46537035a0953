"""A bad request to start a process is refused by `kamflow` before any flow run starts: the exit code says what
kind of failure, the JSON names the field, and nothing is written."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kamflow.app.cli import app
from kamflow.credit.tables import OrderCreditCheck
from kamflow.discounts.tables import DiscountRequest
from kamflow.models import AuditEvent, Order
from kamflow.settings import Settings
from tests.conftest import customer


@pytest.fixture
def cli_env(settings: Settings) -> Iterator[None]:
    """The CLI configures Prefect through the environment: give it back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def counts(session: Session) -> tuple[int, ...]:
    tables = (DiscountRequest, Order, OrderCreditCheck, AuditEvent)
    return tuple(session.scalar(select(func.count()).select_from(t)) or 0 for t in tables)


def refused(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, [*args, "--json"])
    return done.exit_code, json.loads(done.stdout)["field"]


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (["--customer", "C9999"], 4, "customer"),
        (["--column", "42"], 2, "price_column"),
        (["--discount-pct", "0"], 2, "discount_pct"),
        (["--discount-pct", "100"], 2, "discount_pct"),
        (["--discount-pct", "abc"], 2, "discount_pct"),
        (["--order-total", "-5"], 2, "order_total"),
    ],
)
def test_a_bad_discount_request_exits_with_its_code_naming_the_field_and_writes_nothing(
    cli_env: None, session: Session, args: list[str], code: int, field: str
) -> None:
    given = {"--customer": "C0001", "--column": "3", "--discount-pct": "5", "--order-total": "1000"}
    given.update(dict(zip(args[::2], args[1::2], strict=True)))
    before = counts(session)
    kam = customer(session, "C0001").kam.login
    asked = [x for kv in given.items() for x in kv]
    assert refused("discount", "request", *asked, "--as", kam) == (code, field)
    assert counts(session) == before


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (["--customer", "C0001", "--amount", "-5"], 2, "amount"),
        (["--customer", "C9999", "--amount", "5"], 4, "customer"),
    ],
)
def test_a_bad_order_exits_with_its_code_naming_the_field_and_writes_nothing(
    cli_env: None, session: Session, args: list[str], code: int, field: str
) -> None:
    before = counts(session)
    assert refused("order", "submit", *args, "--as", "kam.north1") == (code, field)
    assert counts(session) == before
