"""The demo company: deterministic, shaped as the demo and the other tests expect, and fast enough."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from kamflow.db import get_engine
from kamflow.demo_data import DemoSummary, generate
from kamflow.discounts.tables import DiscountNorm, PriceColumn, Promotion
from kamflow.migrate import upgrade
from kamflow.models import Base, Customer, Employee, Invoice, Order, Payment
from kamflow.settings import Settings

TODAY = dt.date(2026, 11, 28)
CENTS = Decimal("0.01")
LOGINS = {
    "director": "director",
    "commercial": "commercial_director",
    "head.north": "department_head",
    "head.south": "department_head",
    "kam.north1": "kam",
    "kam.north2": "kam",
    "kam.south1": "kam",
    "kam.south2": "kam",
    "support": "sales_support",
    "legal": "legal",
    "hr": "hr",
    "planning": "economic_planning",
    "credit": "credit_controller",
}


def _empty_schema(path: Path) -> Engine:
    settings = Settings(data_dir=path)
    upgrade(settings)
    return get_engine(settings)


def _digest(engine: Engine) -> str:
    """Every row the demo company holds (the installation's id is the database's own, random)."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for table in (t for t in Base.metadata.sorted_tables if t.name != "installation"):
            for row in connection.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr((table.name, *row)).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, DemoSummary]:
    engine = _empty_schema(tmp_path_factory.mktemp("demo"))
    return engine, generate(engine, customers=300, seed=7, today=TODAY)


def _open_invoices(engine: Engine, code: str) -> list[tuple[dt.date, Decimal, bool]]:
    """(due date, open amount, disputed) of each invoice of the customer with something still open."""
    with engine.connect() as connection:
        customer_id = connection.scalar(select(Customer.id).where(Customer.code == code))
        invoices = connection.execute(
            select(Invoice.id, Invoice.due_date, Invoice.amount, Invoice.disputed).where(
                Invoice.customer_id == customer_id
            )
        ).all()
        paid: defaultdict[int, Decimal] = defaultdict(Decimal)
        for invoice_id, amount in connection.execute(
            select(Payment.invoice_id, Payment.amount).join(Invoice).where(Invoice.customer_id == customer_id)
        ):
            paid[invoice_id] += amount
    return [(due, amount - paid[i], disputed) for i, due, amount, disputed in invoices if amount > paid[i]]


def test_the_same_seed_gives_identical_rows(demo: tuple[Engine, DemoSummary], tmp_path: Path) -> None:
    engine, summary = demo
    again = _empty_schema(tmp_path)
    assert generate(again, customers=300, seed=7, today=TODAY) == summary
    assert _digest(again) == _digest(engine)


def test_another_seed_gives_other_rows(demo: tuple[Engine, DemoSummary], tmp_path: Path) -> None:
    other = _empty_schema(tmp_path)
    generate(other, customers=300, seed=8, today=TODAY)
    assert _digest(other) != _digest(demo[0])


def test_every_kam_reports_to_a_head_then_the_commercial_director_then_the_director(
    demo: tuple[Engine, DemoSummary],
) -> None:
    with demo[0].connect() as connection:
        people = {row.login: row for row in connection.execute(select(Employee))}
    by_id = {row.id: row for row in people.values()}
    assert {login: row.role for login, row in people.items()} == LOGINS

    def manager(login: str) -> str | None:
        manager_id = people[login].manager_id
        return None if manager_id is None else by_id[manager_id].login

    for kam in ("kam.north1", "kam.north2", "kam.south1", "kam.south2"):
        head = manager(kam)
        assert head == f"head.{kam.split('.')[1][:5]}"
        assert manager(head) == "commercial"
    assert manager("commercial") == "director"
    assert manager("director") is None
    assert [manager(login) for login in ("legal", "hr", "planning")] == ["director"] * 3
    assert (manager("support"), manager("credit")) == ("head.north", "commercial")
    assert people["head.south"].department == "Sales South"


def test_class_a_customers_carry_most_of_the_revenue(demo: tuple[Engine, DemoSummary]) -> None:
    engine, summary = demo
    revenue: defaultdict[str, Decimal] = defaultdict(Decimal)
    with engine.connect() as connection:
        for cls, amount in connection.execute(select(Customer.customer_class, Invoice.amount).join(Invoice)):
            revenue[cls] += amount
        classes = dict(connection.execute(select(Customer.code, Customer.customer_class)).all())
    assert set(revenue) == {"A", "B", "C"}
    assert revenue["A"] > Decimal("0.6") * sum(revenue.values())
    assert sorted(code for code, cls in classes.items() if cls == "A") == list(summary.key_accounts)
    assert len(summary.key_accounts) < len(classes) / 3
    assert {"C0001", "C0002"} <= set(summary.key_accounts)


def test_c0001_is_healthy_and_c0002_is_more_than_30_days_overdue(demo: tuple[Engine, DemoSummary]) -> None:
    engine = demo[0]
    healthy = _open_invoices(engine, "C0001")
    assert healthy, "C0001 should have invoices not yet due"
    assert all(due >= TODAY and not disputed for due, _, disputed in healthy)
    with engine.connect() as connection:
        limit, customer_id = connection.execute(
            select(Customer.credit_limit, Customer.id).where(Customer.code == "C0001")
        ).one()
        open_orders = connection.scalars(
            select(Order.amount).where(Order.customer_id == customer_id, Order.status == "open")
        ).all()
    assert limit is not None, "C0001 should have a credit limit"
    assert limit >= 2 * (sum(amount for _, amount, _ in healthy) + sum(open_orders))
    assert limit % 1000 == 0

    overdue = _open_invoices(engine, "C0002")
    assert any((TODAY - due).days > 30 and not disputed for due, _, disputed in overdue)


def test_amounts_are_two_place_decimals_never_floats(tmp_path: Path) -> None:
    engine = _empty_schema(tmp_path)
    sent: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_execute")
    def record(_conn: Any, _clause: Any, multiparams: Any, params: Any, _options: Any) -> None:
        for row in (*multiparams, params):
            sent.extend(row.items())

    try:
        generate(engine, customers=50, seed=3, today=TODAY)
    finally:
        event.remove(engine, "before_execute", record)
    assert not [(key, value) for key, value in sent if isinstance(value, float)]
    money = [value for key, value in sent if key in ("amount", "credit_limit")]
    assert len(money) > 1000
    assert all(isinstance(v, Decimal) and v.as_tuple().exponent == -2 and v > 0 for v in money)
    with engine.connect() as connection:
        for column in (Invoice.amount, Payment.amount, Order.amount, Customer.credit_limit):
            values = connection.scalars(select(column)).all()
            assert values and all(isinstance(v, Decimal) and v == v.quantize(CENTS) for v in values)


def test_the_ledger_covers_18_months_before_today_and_never_overpays(
    demo: tuple[Engine, DemoSummary],
) -> None:
    with demo[0].connect() as connection:
        issued = connection.execute(select(Invoice.issue_date, Invoice.due_date, Invoice.order_id)).all()
        paid_on = connection.scalars(select(Payment.paid_on)).all()
        statuses = Counter(connection.scalars(select(Order.status)))
        disputed = connection.scalars(select(Invoice.id).where(Invoice.disputed)).all()
        invoiced = dict(connection.execute(select(Invoice.id, Invoice.amount)).all())
        paid_per_invoice: defaultdict[int, Decimal] = defaultdict(Decimal)
        for invoice_id, amount in connection.execute(select(Payment.invoice_id, Payment.amount)):
            paid_per_invoice[invoice_id] += amount
    assert min(i for i, _, _ in issued) >= TODAY - dt.timedelta(days=548)
    assert max(i for i, _, _ in issued) < TODAY
    assert all((due - issue).days in (30, 45, 60) for issue, due, _ in issued)
    assert max(paid_on) <= TODAY
    assert all(paid <= invoiced[invoice_id] for invoice_id, paid in paid_per_invoice.items())
    partly_paid = [i for i, paid in paid_per_invoice.items() if paid < invoiced[i]]
    unpaid = set(invoiced) - set(paid_per_invoice)
    assert statuses["open"] > 0
    assert statuses["invoiced"] == sum(1 for *_, order in issued if order is not None)
    assert disputed and partly_paid and unpaid


def test_price_list_norms_and_promotions(demo: tuple[Engine, DemoSummary]) -> None:
    with demo[0].connect() as connection:
        norms = {
            (number, cls): pct
            for number, cls, pct in connection.execute(
                select(PriceColumn.number, DiscountNorm.customer_class, DiscountNorm.max_pct).join(PriceColumn)
            )
        }
        promotions = connection.execute(select(Promotion)).all()
    assert len(norms) == 15
    assert [norms[1, "A"], norms[5, "A"], norms[5, "C"], norms[1, "C"]] == [5, 25, 12, 0]
    for number in range(1, 6):
        assert norms[number, "A"] >= norms[number, "B"] >= norms[number, "C"]
        assert number == 1 or norms[number, "A"] > norms[number - 1, "A"]
    active = [p.code for p in promotions if p.valid_from <= TODAY <= p.valid_to]
    expired = [p.code for p in promotions if p.valid_to < TODAY]
    assert (active, expired) == (["WINTER"], ["AUTUMN"])


def test_a_filled_schema_is_refused(demo: tuple[Engine, DemoSummary]) -> None:
    with pytest.raises(ValueError, match="employees"):
        generate(demo[0], customers=10, seed=1, today=TODAY)


def test_two_thousand_customers_give_about_ten_invoices_each(tmp_path: Path) -> None:
    engine = _empty_schema(tmp_path)
    summary = generate(engine, customers=2000, seed=11, today=TODAY)
    assert summary.customers == 2000 and summary.employees == 13
    assert 8 <= summary.invoices / summary.customers <= 12
    with engine.connect() as connection:
        counts = [connection.scalar(select(func.count()).select_from(m)) for m in (Invoice, Payment, Order)]
    assert counts == [summary.invoices, summary.payments, summary.orders]
