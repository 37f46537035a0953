"""Every view the App shows pins its JSON keys (what `--json` prints): a key renamed or dropped shows here. Each
view also reads as the lines the CLI prints."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from flows.processes import decided_view
from kamflow import approvals, org
from kamflow.app.cli import app
from kamflow.app.ops.catalog import TaskLine
from kamflow.app.serve import prefect_environment
from kamflow.credit import limits, orders, solvency, standing
from kamflow.discounts import views as discounts
from kamflow.documents import views as documents
from kamflow.models import InvoiceHold
from kamflow.people.views import person_view
from kamflow.review import views as review
from kamflow.review.tables import CollectionTask, PaymentPromise
from kamflow.settings import Settings
from kamflow.views import View
from tests.conftest import NOW, TODAY, customer
from tests.unit.credit.conftest import change
from tests.unit.credit.test_orders import blocked_order, settle
from tests.unit.documents.conftest import submit
from tests.unit.documents.test_views import approved_memo
from tests.unit.review.conftest import review as run_review
from tests.unit.test_processes import waiting_discount

REASONS = {"rule", "text"}
WAITING = {"reasons", "task_id", "assignee", "decided_by", "verdict"}


def keys(view: View) -> set[str]:
    return set(view.model_dump(mode="json"))


def test_an_order_view(session: Session) -> None:
    view = orders.view(session, blocked_order(session))
    assert keys(view) == WAITING | {
        "check_id",
        "order",
        "customer",
        "amount",
        "currency",
        "status",
        "prepayment_amount",
        "exposure_after",
        "credit_limit",
        "rules_version",
        "flow_run_id",
    }
    assert {*view.model_dump(mode="json")["reasons"][0]} == REASONS
    amount = f"{Decimal(view.amount):,}"  # grouped in thousands, as the reader writes it
    assert view.text().startswith(f"order {view.order} for C0001, {amount} EUR: BLOCKED (exposure after ")


def test_a_limit_view(session: Session) -> None:
    view = limits.view(session, change(session, "C0001", "10000000.00"))
    assert keys(view) == WAITING | {
        "change_id",
        "customer",
        "category",
        "old_limit",
        "new_limit",
        "until",
        "exposure",
        "status",
        "released_orders",
        "rules_version",
        "flow_run_id",
    }
    assert view.text().startswith(f"total limit of C0001 {Decimal(view.old_limit):,} → 10,000,000.00: PENDING")


def test_a_solvency_view(session: Session) -> None:
    check = solvency.submit(
        session,
        request=solvency.SolvencyCheckIn(customer="C0001", requester="credit", checked_on=TODAY),
        flow_run_id=None,
        now=NOW,
    )
    view = solvency.view(session, check)
    assert keys(view) == WAITING | {
        "check_id",
        "customer",
        "status",
        "risk_class",
        "outcome",
        "decision",
        "proposed_limit",
        "approved_limit",
        "formula",
        "scores",
        "rules_version",
        "class_rules_version",
        "flow_run_id",
    }
    assert view.text().startswith("solvency of C0001: risk class A, Altman Z′ ")


def test_an_exposure_view(session: Session) -> None:
    view = standing.exposure_view(standing.standing(session, customer(session, "C0001"), on=TODAY))
    assert keys(view) == {
        "customer",
        "name",
        "as_of",
        "currency",
        "credit_limit",
        "base_limit",
        "temporary_until",
        "grace_days",
        "oldest_overdue_days",
        "categories",
    }
    assert {*view.model_dump(mode="json")["categories"][0]} == {
        "category",
        "amount",
        "limit",
        "headroom",
        "utilisation_pct",
    }
    grouped = f"{Decimal(view.categories[0].amount):,}"
    assert view.text().splitlines()[1].split() == ["open", "invoices", grouped, "no", "limit"]


def test_a_discount_request_view(session: Session, settings: Settings) -> None:
    row, _task = waiting_discount(session, settings)
    view = discounts.view(session, row.id)
    assert keys(view) == WAITING | {
        "request_id",
        "status",
        "customer",
        "discount_pct",
        "granted_pct",
        "rules_version",
        "flow_run_id",
    }
    assert view.text().startswith(f"request {row.id} for C0001: PENDING\nwaiting for {view.assignee} — task ")


def test_a_decided_view_is_flat(session: Session) -> None:
    check = settle(session, blocked_order(session), action="release")
    task = approvals.current(session, process=orders.PROCESS, subject_id=check.id)
    assert task is not None
    view = decided_view(session, task)
    assert view is not None
    assert keys(view) == {"task_id", "process"} | keys(view.subject)
    assert view.model_dump(mode="json")["task_id"] is None  # the subject's own: no open task any more


def test_a_document_view(session: Session) -> None:
    view = documents.show(session, submit(session).id, on=TODAY)
    shown = view.model_dump(mode="json")
    assert set(shown) == {
        "document_id",
        "type",
        "title",
        "status",
        "author",
        "fields",
        "round",
        "version",
        "content_hash",
        "effective_version",
        "steps",
        "waiting_for",
        "diff",
        "flow_run_id",
    }
    assert set(shown["steps"][0]) == {"stage", "step", "kind", "status", "needed", "version", "tasks"}
    assert set(shown["steps"][0]["tasks"][0]) == {
        "task_id",
        "owner",
        "assignee",
        "status",
        "action",
        "by",
        "comment",
        "due_at",
        "reminders",
    }
    assert set(shown["waiting_for"][0]) == {"task_id", "step", "assignee"}
    lines = view.text().splitlines()
    assert (
        lines[0].endswith(f": IN REVIEW — {view.title}") and lines[1] == "  agreement/legal (agree, needs 1): open"
    )


def test_an_acknowledgment_journal(session: Session) -> None:
    view = documents.acks(session, approved_memo(session))
    shown = view.model_dump(mode="json")
    assert set(shown) == {"document_id", "version", "acknowledged", "not_yet"}
    assert set(shown["acknowledged"][0]) == {"login", "name", "position", "acknowledged_at", "task_id"}
    assert view.text().splitlines()[0] == f"document {view.document_id} version 1:"


def test_a_delegation_view() -> None:
    view = documents.DelegationView(
        delegation_id=1, from_="legal", to="hr", from_date="2026-04-01", to_date="2026-04-10", order_ref="Order 12"
    )
    assert view.model_dump(mode="json") == {
        "delegation_id": 1,
        "from": "legal",
        "to": "hr",
        "from_date": "2026-04-01",
        "to_date": "2026-04-10",
        "order_ref": "Order 12",
    }
    assert view.text() == "delegation 1: hr for legal from 2026-04-01 to 2026-04-10 (Order 12)"


def test_a_review_view(session: Session) -> None:
    view = review.review_view(run_review(session, TODAY), flow_run_id="run")
    shown = view.model_dump(mode="json")
    assert set(shown) == {
        "business_date",
        "status",
        "flow_run_id",
        "customers",
        "raised",
        "levels",
        "tasks",
        "totals",
        "top_risks",
        "summary",
    }
    assert set(shown["levels"][0]) == {"level", "channel", "customers", "change"}
    assert view.text() == view.summary


def test_collection_views(session: Session) -> None:
    run_review(session, TODAY)
    task = session.query(CollectionTask).order_by(CollectionTask.id).first()
    assert task is not None
    [shown] = review.task_views(session, [(task, "C0002")])
    assert keys(shown) == {
        "task_id",
        "customer",
        "action",
        "channel",
        "level",
        "business_date",
        "next_action_on",
        "amount",
        "fee",
        "status",
        "reasons",
    }
    assert shown.text().startswith(f"task {task.id}: C0002 ")
    promise = PaymentPromise(id=7, amount=100, currency="EUR", promised_for=TODAY, status="open")
    assert keys(review.promise_view(promise, "C0002")) == {
        "promise_id",
        "customer",
        "amount",
        "currency",
        "promised_for",
        "status",
    }
    hold = InvoiceHold(reason="wrong goods", placed_on=TODAY, released_on=None)
    held = review.hold_view(hold, "INV-1")
    assert keys(held) == {"invoice", "on_hold", "since", "released_on", "reason"}
    assert held.text() == "invoice INV-1 on hold: wrong goods"


def test_a_task_line() -> None:
    line = TaskLine(
        task_id=3,
        process="document-approval",
        subject_id=1,
        title="Agree: memo",
        owner="legal",
        due_at="2026-03-19T09:30:00+00:00",
        level=1,
        approval_code="ABCD-EFGH",
        delegated=True,
    )
    assert keys(line) == {
        "task_id",
        "process",
        "subject_id",
        "title",
        "owner",
        "due_at",
        "level",
        "approval_code",
        "delegated",
    }
    assert line.text() == "task 3: Agree: memo (due 2026-03-19 10:30 CET, for legal) — approval code ABCD-EFGH"


@pytest.mark.parametrize("as_json", [False, True])
def test_the_cli_prints_a_view_as_text_or_json(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    for name, value in prefect_environment(settings).items():
        monkeypatch.setenv(name, value)
    args = ["credit", "exposure", "C0001", "--as", "credit", *(["--json"] if as_json else [])]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0
    assert done.stdout.startswith('{\n  "customer": "C0001"' if as_json else "exposure of C0001 ")


def test_a_person_view(session: Session) -> None:
    view = person_view(org.employee(session, "hr"))
    assert keys(view) == {
        "login",
        "name",
        "position",
        "department",
        "superior",
        "roles",
        "active",
        "language",
        "email",
        "password",
    }
    assert view.text() == (
        "hr: Romero Vega, Isabel, HR Manager (Human Resources); roles hr, admin; reports to director — no password"
    )
