"""Payment schedules, allocation and credit notes through `kamflow import`: ageing, overdue and exposure go by
instalment; a payment settles what it names or else the oldest open part first; a bad row anywhere imports nothing
and is listed; payments and credit notes re-check the customer's blocked orders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kamflow import approvals, audit, clock, ledger
from kamflow.credit import orders
from kamflow.models import Allocation, CreditNote, Customer, Instalment, Invoice, Payment
from kamflow.review.tables import CustomerReview
from tests.conftest import NOW, TODAY
from tests.unit.credit.conftest import order
from tests.unit.review.conftest import review

Kamflow = Callable[..., tuple[int, Any]]
AS_OF = "2026-03-16"  # the policy's grace days are 5: what fell due by 2026-03-10 is overdue
SETUP = {
    "customers": "code,name,customer_class,company_type,kam,credit_limit,currency,payment_terms_days\n"
    "C9101,Plazos S.L.,B,private,kam.north1,10000.00,EUR,30\n",
    "invoices": "number,customer,issue_date,due_date,amount\n"
    "P-1,C9101,2026-01-01,2026-03-31,3000.00\n"
    "P-2,C9101,2026-01-20,2026-02-19,1000.00\n",
    "instalments": "invoice,due_date,amount\n"
    "P-1,2026-01-31,1000.00\nP-1,2026-02-28,1000.00\nP-1,2026-03-31,1000.00\n",
}


def load(kamflow: Kamflow, tmp_path: Path, kind: str, text: str) -> tuple[int, Any]:
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    return kamflow("import", kind.replace("_", "-"), str(path))


@pytest.fixture
def scheduled(kamflow: Kamflow, tmp_path: Path) -> Kamflow:
    """C9101 owes P-1 in three instalments of 1,000 (due 31 January, 28 February, 31 March) and P-2 whole."""
    for kind, text in SETUP.items():
        code, done = load(kamflow, tmp_path, kind, text)
        assert code == 0, done
    return kamflow


def exposure(kamflow: Kamflow) -> dict[str, Decimal]:
    code, view = kamflow("credit", "exposure", "C9101", "--as-of", AS_OF, "--as", "credit")
    assert code == 0, view
    return {line["category"]: Decimal(line["amount"]) for line in view["categories"]}


def test_overdue_and_ageing_go_by_instalment(scheduled: Kamflow) -> None:
    # P-1 is due whole only on 31 March, but two of its instalments are overdue
    owed = exposure(scheduled)
    assert (owed["open invoices"], owed["overdue"]) == (Decimal("4000.00"), Decimal("3000.00"))
    code, ageing = scheduled("report", "ageing", "--kam", "kam.north1", "--as-of", AS_OF, "--as", "credit")
    assert code == 0
    line = next(line for line in ageing["customers"] if line["customer"] == "C9101")
    assert Decimal(line["not_due"]) == Decimal("1000.00") and Decimal(line["past_due"]) == Decimal("3000.00")
    assert line["oldest_overdue_days"] == 44  # the first instalment, due 31 January


def test_a_payment_naming_only_the_customer_settles_the_oldest_open_parts_first(
    scheduled: Kamflow, tmp_path: Path, session: Session
) -> None:
    code, done = load(scheduled, tmp_path, "payments", "customer,paid_on,amount\nC9101,2026-03-10,1500.00\n")
    assert code == 0 and done["imported"] == 1, done
    # the first instalment of P-1 (due 31 January), then half of P-2 (due 19 February)
    paid = session.execute(
        select(Invoice.number, Payment.amount).join(Invoice).where(Invoice.number.in_(["P-1", "P-2"]))
    ).all()
    assert sorted(paid) == [("P-1", Decimal("1000.00")), ("P-2", Decimal("500.00"))]
    allocated = session.execute(select(Instalment.due_date, Allocation.amount).join(Instalment)).all()
    assert allocated == [(dt.date(2026, 1, 31), Decimal("1000.00"))]
    assert exposure(scheduled)["overdue"] == Decimal("1500.00")


def test_a_payment_naming_an_instalment_settles_that_one(scheduled: Kamflow, tmp_path: Path) -> None:
    text = "invoice,instalment,paid_on,amount\nP-1,3,2026-03-12,1000.00\n"
    assert load(scheduled, tmp_path, "payments", text)[0] == 0
    owed = exposure(scheduled)
    assert (owed["open invoices"], owed["overdue"]) == (Decimal("3000.00"), Decimal("3000.00"))
    # naming only the invoice: its oldest open instalment first
    assert load(scheduled, tmp_path, "payments", "invoice,paid_on,amount\nP-1,2026-03-13,1200.00\n")[0] == 0
    assert exposure(scheduled)["overdue"] == Decimal("1800.00")


def test_a_bad_payment_row_anywhere_imports_nothing_and_each_is_listed(
    scheduled: Kamflow, tmp_path: Path, session: Session
) -> None:
    before = session.scalar(select(func.count()).select_from(Payment))
    text = (
        "invoice,customer,instalment,paid_on,amount\n"
        "P-1,,3,2026-03-12,1000.00\n"
        "P-1,,3,2026-03-12,0.01\n"  # the instalment is paid by the row above
        "P-2,,1,2026-03-12,1.00\n"  # P-2 has no schedule
        ",,,2026-03-12,1.00\n"  # names nothing
        ",C9101,,2025-12-31,1.00\n"  # nothing issued by then
    )
    code, refused = load(scheduled, tmp_path, "payments", text)
    assert code == 2
    assert [(p["line"], p["field"]) for p in refused["problems"]] == [
        (3, "amount"),
        (4, "instalment"),
        (5, "invoice"),
        (6, "amount"),
    ]
    assert "0.01 is more than the 0.00 open on instalment 3 of invoice P-1" in refused["problems"][0]["message"]
    assert session.scalar(select(func.count()).select_from(Payment)) == before


def test_a_schedule_must_sum_to_its_invoice_and_be_its_only_one(scheduled: Kamflow, tmp_path: Path) -> None:
    code, refused = load(
        scheduled,
        tmp_path,
        "instalments",
        "invoice,due_date,amount\nP-2,2026-02-01,400.00\nP-2,2026-02-01,500.00\nP-1,2026-04-30,1.00\n",
    )
    assert code == 2
    assert [(p["line"], p["field"]) for p in refused["problems"]] == [
        (3, "due_date"),
        (3, "amount"),
        (4, "invoice"),
    ]
    assert "sum to 900.00, not to its amount 1000.00" in refused["problems"][1]["message"]


def test_what_already_paid_an_invoice_is_allocated_to_its_new_instalments(
    scheduled: Kamflow, tmp_path: Path, session: Session
) -> None:
    load(scheduled, tmp_path, "payments", "invoice,paid_on,amount\nP-2,2026-02-10,700.00\n")
    load(
        scheduled,
        tmp_path,
        "credit_notes",
        "number,invoice,issued_on,amount,reason\nCN-1,P-2,2026-02-12,100.00,damaged\n",
    )
    code, done = load(
        scheduled,
        tmp_path,
        "instalments",
        "invoice,due_date,amount\nP-2,2026-01-25,500.00\nP-2,2026-02-25,500.00\n",
    )
    assert code == 0, done
    allocated = session.execute(
        select(Instalment.due_date, Allocation.amount, Allocation.credit_note_id.is_not(None))
        .join(Instalment)
        .join(Invoice)
        .where(Invoice.number == "P-2")
        .order_by(Allocation.id)
    ).all()
    assert allocated == [
        (dt.date(2026, 1, 25), Decimal("500.00"), False),
        (dt.date(2026, 2, 25), Decimal("200.00"), False),
        (dt.date(2026, 2, 25), Decimal("100.00"), True),
    ]


def test_a_credit_note_reduces_the_balance_and_beyond_what_is_open_is_refused(
    scheduled: Kamflow, tmp_path: Path, session: Session
) -> None:
    text = "number,invoice,issued_on,amount,reason\nCN-1,P-2,2026-03-01,250.00,returned\n"
    assert load(scheduled, tmp_path, "credit_notes", text)[0] == 0
    assert exposure(scheduled)["open invoices"] == Decimal("3750.00")
    again = (
        "number,invoice,issued_on,amount,reason\nCN-1,P-2,2026-03-01,1.00,refused\nCN-2,P-2,2026-03-01,751,lost\n"
    )
    code, refused = load(scheduled, tmp_path, "credit_notes", again)
    assert code == 2
    assert [(p["line"], p["field"]) for p in refused["problems"]] == [(2, "number"), (3, "reason")]
    assert session.scalar(select(func.count()).select_from(CreditNote)) == 1


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("payments", "customer,paid_on,amount\nC9101,2026-03-10,2000.00\n"),
        ("credit_notes", "number,invoice,issued_on,amount,reason\nCN-9,P-2,2026-03-10,1000.00,refused\n"),
    ],
)
def test_a_payment_or_credit_note_releases_blocked_orders_that_now_pass(
    scheduled: Kamflow, tmp_path: Path, session: Session, monkeypatch: pytest.MonkeyPatch, kind: str, text: str
) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)  # the re-check's business date is the demo's
    check = order(session, "C9101", "6500.00")  # 4,000 open + 6,500 > 10,000, and 3,000 overdue
    assert check.status == "blocked"
    task = approvals.open_task(
        session,
        process=orders.PROCESS,
        subject_id=check.id,
        title="blocked",
        explanation="",
        role=check.decision["role"],
        requester=check.requester,
        flow_run_id=None,
        now=NOW,
        deadline=dt.timedelta(hours=48),
    )
    session.commit()
    code, done = load(scheduled, tmp_path, kind, text)
    assert code == 0, done
    assert done["released_orders"] == [check.order.number]
    session.expire_all()
    assert (check.status, check.order.status) == ("released", "open")
    assert (task.status, task.action, task.actor_id) == ("decided", "release", None)  # decided by kamflow
    released = audit.trail(session, subject_type="order_credit_check", subject_id=check.id)[-1]
    assert (released.actor, released.action) == ("kamflow", "order_released_on_recheck")
    assert released.rules_version == check.rules_version and task.id == released.detail["task"]


def test_the_statement_lists_instalments_and_credit_notes_and_closes_on_the_open_invoices(
    scheduled: Kamflow, tmp_path: Path
) -> None:
    load(scheduled, tmp_path, "payments", "customer,paid_on,amount\nC9101,2026-03-10,1500.00\n")
    load(
        scheduled,
        tmp_path,
        "credit_notes",
        "number,invoice,issued_on,amount,reason\nCN-1,P-2,2026-03-11,300.00,refused\n",
    )
    code, view = scheduled("statement", "C9101", "--to", AS_OF, "--as", "credit")
    assert code == 0, view
    assert Decimal(view["closing_balance"]) == exposure(scheduled)["open invoices"] == Decimal("2200.00")
    p1 = next(entry for entry in view["entries"] if entry["document"] == "P-1")
    assert p1["description"] == (
        "invoice in instalments: 1,000.00 due 2026-01-31; 1,000.00 due 2026-02-28; 1,000.00 due 2026-03-31"
    )
    note = next(entry for entry in view["entries"] if entry["kind"] == "credit_note")
    assert (note["document"], note["description"], Decimal(note["credit"])) == (
        "CN-1",
        "credit note on P-2 (refused)",
        Decimal("300.00"),
    )


def test_the_nightly_review_ages_and_dunns_by_instalment(scheduled: Kamflow, session: Session) -> None:
    review(session, TODAY)
    row = session.scalar(
        select(CustomerReview)
        .join(Customer, Customer.id == CustomerReview.customer_id)
        .where(Customer.code == "C9101")
    )
    assert row is not None
    # P-1's first two instalments and P-2 are past due (and beyond the grace days); its third is not due yet
    assert (row.not_due, row.overdue, row.dunnable) == (Decimal("1000.00"), Decimal("3000.00"), Decimal("3000.00"))
    assert row.dunning_level > 0


def test_payment_behaviour_goes_by_the_instalment_paid(
    scheduled: Kamflow, tmp_path: Path, session: Session
) -> None:
    # the first instalment, due 31 January, paid 10 days late (P-1 itself is due only on 31 March)
    assert (
        load(scheduled, tmp_path, "payments", "invoice,instalment,paid_on,amount\nP-1,1,2026-02-10,1000.00\n")[0]
        == 0
    )
    client = session.scalar(select(Customer).where(Customer.code == "C9101"))
    assert client is not None
    late = session.execute(ledger.days_late(TODAY, customer_ids=[client.id])).one()
    assert (late.paid_amount, late.weighted_days_late) == (Decimal("1000.00"), Decimal("10.00"))
    due = session.execute(ledger.paid_late(TODAY, customer_ids=[client.id])).one()
    assert (due.invoices_due, due.invoices_late) == (3, 3)  # P-1's first two instalments and P-2, none on time
