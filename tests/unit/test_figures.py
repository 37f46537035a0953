"""The ledger's running figures (kamflow.figures) equal a full recompute from the ledger after every change —
imports of invoices, instalments, payments, credit notes and orders, the ORM's writes, the windows moved —
`kamflow ledger verify` says so and names a tampered figure, and the review reads the same rows from them as from
the ledger."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kamflow import figures, i18n, imports
from kamflow.app.cli import app
from kamflow.app.cli.ledger import _verify_text
from kamflow.errors import InvalidInput
from kamflow.models import Customer, Invoice, Order, Payment
from kamflow.review import read, service
from tests.conftest import TODAY

CUSTOMERS = ("C0001", "C0002", "C0003")
NUMBERS = itertools.count(1)
days = st.integers(min_value=-500, max_value=30).map(lambda n: TODAY + dt.timedelta(days=n))
amounts = st.integers(min_value=1, max_value=500_000).map(lambda cents: Decimal(cents) / 100)
who = st.sampled_from(CUSTOMERS)
steps = st.one_of(
    st.tuples(st.just("invoice"), who, days, st.integers(0, 60), amounts, st.booleans()),
    st.tuples(st.just("order"), who, days, amounts, st.sampled_from(["open", "invoiced"])),
    st.tuples(st.just("payment"), who, days, amounts),
    st.tuples(st.just("credit_note"), who, amounts),
    st.tuples(st.just("instalments"), who),
    st.tuples(st.just("orm_payment"), who, days, amounts),
    st.tuples(st.just("orm_order"), who, amounts),
    st.tuples(st.just("dispute"), who),
    st.tuples(st.just("roll"), days, st.sampled_from([90, 365])),
)


def _import(session: Session, folder: Path, kind: str, header: str, *lines: str) -> None:
    path = folder / f"{kind}-{next(NUMBERS)}.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    try:
        imports.import_file(session, kind, path, actor="credit")
    except InvalidInput:  # a payment beyond what is open, a credit note before its invoice: nothing written
        session.rollback()  # as the command's unit of work does


def _latest_invoice(session: Session, code: str) -> Invoice | None:
    return session.scalars(
        select(Invoice).join(Customer).where(Customer.code == code).order_by(Invoice.id.desc()).limit(1)
    ).first()


def change(session: Session, folder: Path, step: tuple[Any, ...]) -> None:
    """One change of the ledger, through the path that makes it in kamflow, committed."""
    kind, *args = step
    if kind == "invoice":
        code, issued, terms, amount, disputed = args
        due = issued + dt.timedelta(days=terms)
        line = f"F-{next(NUMBERS)},{code},{issued},{due},{amount},{str(disputed).lower()}"
        _import(session, folder, "invoices", "number,customer,issue_date,due_date,amount,disputed", line)
    elif kind == "order":
        code, day, amount, status = args
        line = f"O-{next(NUMBERS)},{code},{day},{amount},{status}"
        _import(session, folder, "orders", "number,customer,order_date,amount,status", line)
    elif kind == "payment":
        code, day, amount = args
        _import(session, folder, "payments", "customer,paid_on,amount", f"{code},{day},{amount}")
    elif kind == "credit_note" and (invoice := _latest_invoice(session, args[0])) is not None:
        issued = invoice.issue_date + dt.timedelta(days=3)
        line = f"CN-{next(NUMBERS)},{invoice.number},{issued},{args[1]},returned"
        _import(session, folder, "credit_notes", "number,invoice,issued_on,amount,reason", line)
    elif kind == "instalments" and (invoice := _latest_invoice(session, args[0])) is not None:
        half = (invoice.amount / 2).quantize(Decimal("0.01"))
        first, second = invoice.issue_date + dt.timedelta(days=10), invoice.issue_date + dt.timedelta(days=40)
        lines = (f"{invoice.number},{first},{half}", f"{invoice.number},{second},{invoice.amount - half}")
        _import(session, folder, "instalments", "invoice,due_date,amount", *lines)
    elif kind == "orm_payment" and (invoice := _latest_invoice(session, args[0])) is not None:
        session.add(Payment(invoice_id=invoice.id, paid_on=max(args[1], invoice.issue_date), amount=args[2]))
    elif kind == "orm_order":
        order = session.scalars(
            select(Order).join(Customer).where(Customer.code == args[0]).order_by(Order.id.desc()).limit(1)
        ).first()
        if order is not None:
            order.prepaid = min(order.amount, args[1])
            order.status = "cancelled" if order.status == "invoiced" else "open"
    elif kind == "dispute" and (invoice := _latest_invoice(session, args[0])) is not None:
        invoice.disputed = not invoice.disputed
    elif kind == "roll":
        day, window = args
        figures.roll(session, figures.Windows.ending(day, sales_days=window, paid_days=window))
    session.commit()


assert settings.default is not None  # tests/conftest.py loads a profile


@settings(max_examples=min(settings.default.max_examples, 60))  # each example makes up to 8 changes
@given(st.lists(steps, min_size=1, max_size=8))
def test_the_running_figures_equal_a_full_recompute_after_every_change(
    session: Session, tmp_path: Path, changes: list[tuple[Any, ...]]
) -> None:
    for step in changes:
        change(session, tmp_path, step)
        customers, found = figures.differences(session)
        assert found == [], step
        assert customers >= 40  # every demo customer has a ledger


def test_the_review_reads_the_same_rows_from_the_figures_as_from_the_ledger(session: Session) -> None:
    everyone = select(Customer.id).where(Customer.active.is_(True))
    for day, fresh in ((TODAY, 40), (TODAY + dt.timedelta(days=1), 40), (TODAY - dt.timedelta(days=60), 1)):
        now = dt.datetime.combine(day, dt.time(2), tzinfo=dt.UTC)
        service.start_review(session, as_of=day, shards=1, now=now)  # moves the windows to the day
        session.commit()
        run = service.prepare(session, service.get_review(session, day), now=now)
        connection = session.connection()
        # 60 days back, the demo's ledger goes on after the day for all but one customer: theirs is read instead
        assert len(read._rows(connection.execute(read._figures_query(run, everyone)))) == fresh
        said = read._rows(connection.execute(read._ledger_query(run, everyone)))
        reads = read.Reads.of(run, shard=0, shards=1, size=100)
        batch = read._read_batch(session.get_bind().engine, reads, after=0)
        assert batch is not None and len(said) == 40 and batch.rows == said
        session.rollback()


@pytest.mark.parametrize("chunk", [figures.CHUNK, 3], ids=["one chunk", "chunks of 3 customers"])
def test_verify_says_the_figures_equal_the_ledger_and_names_a_tampered_one(
    session: Session, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(figures, "CHUNK", chunk)
    runner = CliRunner()
    equal = runner.invoke(app, ["ledger", "verify"])
    assert equal.exit_code == 0, equal.output
    assert "The running figures of 40 customers equal the ledger." in equal.output
    tampered = session.scalars(select(Customer.id).where(Customer.code.in_(["C0002", "C0040"]))).all()
    for customer_id in tampered:
        session.execute(
            text("UPDATE customer_figures SET sales = sales + 1 WHERE customer_id = :id"), {"id": customer_id}
        )
    session.execute(text("DELETE FROM open_items WHERE id = (SELECT min(id) FROM open_items)"))
    session.commit()
    differ = runner.invoke(app, ["ledger", "verify"])
    assert differ.exit_code == 2
    lines = differ.output.splitlines()
    assert lines[0] == "3 running figures differ from the ledger:"
    assert any(line.startswith("C0002: sales in the window: kept ") for line in lines)
    assert any(line.startswith("C0040: sales in the window: kept ") for line in lines)
    assert any(": open item of invoice " in line and "kept none, the ledger says " in line for line in lines)
    report = runner.invoke(app, ["ledger", "verify", "--json"])
    assert report.exit_code == 2 and '"figure": "sales"' in report.output


def test_verify_speaks_spanish() -> None:
    report = {
        "ok": False,
        "customers": 40,
        "differences": [
            {"customer": "C0002", "figure": "sales", "kept": Decimal("1001.50"), "ledger": Decimal("1000.50")},
            {
                "customer": "C0003",
                "figure": "open_item",
                "invoice": "F-7",
                "instalment_id": None,
                "kept": None,
                "ledger": (TODAY, Decimal("12.00"), True),
            },
        ],
    }
    with i18n.reading("es"):
        shown = _verify_text(report)
    assert "cifras acumuladas difieren" in shown and "ventas en el periodo" in shown and "1.001,50" in shown
    assert "partida abierta de la factura F-7" in shown and "en disputa" in shown and "{" not in shown
