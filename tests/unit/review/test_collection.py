"""The KAM's side of collection through the real CLI: bad input names the field, exits with its code and
writes nothing; the right person records promises, holds disputed invoices and carries out tasks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kamflow import clock, i18n, org
from kamflow.app.cli import app
from kamflow.credit.facts import money
from kamflow.errors import NotPermitted
from kamflow.models import AuditEvent, Customer, Employee, Invoice, InvoiceHold
from kamflow.review import collection
from kamflow.review.tables import CollectionTask, CustomerReview, PaymentPromise
from kamflow.review.views import title
from tests.conftest import NOW, TODAY
from tests.unit.review.conftest import review
from tests.unit.statements import statements


def written(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (PaymentPromise, InvoiceHold, AuditEvent)
    )


def an_invoice_of(session: Session, code: str) -> str:
    return (
        session.scalars(
            select(Invoice.number).join(Customer).where(Customer.code == code).order_by(Invoice.id)
        ).first()
        or ""
    )


def test_bad_promises_name_the_field_and_write_nothing(session: Session, kamflow: Any) -> None:
    later = (clock.today() + dt.timedelta(days=7)).isoformat()
    before = written(session)
    for args, code, field in [
        (["C0002", "--amount", "-5", "--date", later, "--as", "kam.north2"], 2, "amount"),
        (["C0002", "--amount", "1.005", "--date", later, "--as", "kam.north2"], 2, "amount"),
        (["C0002", "--amount", "100", "--date", "2020-01-01", "--as", "kam.north2"], 2, "date"),
        (["C0002", "--amount", "100", "--date", "31/12/2030", "--as", "kam.north2"], 2, "promised_for"),
        (["C0002", "--amount", "100", "--date", later, "--as", "kam.south1"], 3, "requester"),
        (["C9999", "--amount", "100", "--date", later, "--as", "kam.north2"], 4, "customer"),
    ]:
        exit_code, answer = kamflow("collection", "promise", *args)
        assert (exit_code, answer["field"]) == (code, field), answer
    assert written(session) == (before[0], before[1], before[2] + 1)  # nothing but the refusal's audit event
    refusal = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert refusal is not None and (refusal.action, refusal.actor) == ("access_refused", "kam.south1")
    exit_code, answer = kamflow(
        "collection", "promise", "C0002", "--amount", "1250.50", "--date", later, "--as", "kam.north2"
    )
    assert exit_code == 0 and answer["status"] == "open" and answer["amount"] == "1250.50"
    assert written(session)[0] == before[0] + 1


def test_holding_a_disputed_invoice(session: Session, kamflow: Any) -> None:
    number = an_invoice_of(session, "C0002")
    assert kamflow("collection", "hold", "INV-NOPE", "--as", "kam.north2")[0] == 4
    assert kamflow("collection", "hold", number, "--as", "kam.south1")[0] == 3
    exit_code, answer = kamflow("collection", "hold", number, "--reason", "short delivery", "--as", "kam.north2")
    assert exit_code == 0 and answer["on_hold"] and answer["reason"] == "short delivery"
    exit_code, answer = kamflow("collection", "hold", number, "--as", "kam.north2")
    assert (exit_code, answer["field"]) == (2, "invoice")
    exit_code, answer = kamflow("collection", "hold", number, "--release", "--as", "credit")
    assert exit_code == 0 and not answer["on_hold"]


def test_tasks_are_listed_for_their_assignee_and_done_by_them_only(session: Session, kamflow: Any) -> None:
    review(session, TODAY)
    exit_code, mine = kamflow("collection", "tasks", "--as", "kam.north2")
    theirs = (
        select(Customer.code).join(Employee, Employee.id == Customer.kam_id).where(Employee.login == "kam.north2")
    )
    assert exit_code == 0 and mine and {row["customer"] for row in mine} <= set(session.scalars(theirs))
    task = mine[0]
    assert kamflow("collection", "done", str(task["task_id"]), "--as", "kam.south1")[0] == 3
    assert kamflow("collection", "done", "999999", "--as", "kam.north2")[0] == 4
    exit_code, answer = kamflow(
        "collection", "done", str(task["task_id"]), "--note", "called", "--as", "kam.north2"
    )
    assert exit_code == 0 and answer["status"] == "done"
    assert session.get(CollectionTask, task["task_id"]).status == "done"  # type: ignore[union-attr]
    assert kamflow("collection", "done", str(task["task_id"]), "--as", "kam.north2")[1]["field"] == "task"


def test_the_review_command_refuses_bad_dates_before_starting_anything(session: Session, kamflow: Any) -> None:
    assert kamflow("review", "--as-of", "2024-13-01")[1]["field"] == "as_of"
    assert kamflow("review", "--shards", "0")[1]["field"] == "shards"
    review(session, TODAY)
    exit_code, answer = kamflow("review", "--as-of", (TODAY - dt.timedelta(days=1)).isoformat())
    assert (exit_code, answer["field"]) == (2, "business_date")


def order(session: Session, frm: str, to: str, *, days: int = 6) -> None:
    org.delegate(
        session,
        frm=org.employee(session, frm),
        to=org.employee(session, to),
        valid_from=TODAY,
        valid_to=TODAY + dt.timedelta(days=days),
        order_ref="Order 12/2026",
        now=NOW,
    )


def listed(session: Session, login: str, on: dt.date = TODAY) -> list[int]:
    return [task.id for task, _ in collection.tasks_for(session, org.employee(session, login), on=on)]


def test_a_kam_who_delegated_neither_sees_nor_completes_their_tasks_while_the_delegate_does(
    session: Session,
) -> None:
    """As with approval tasks (kamflow.approvals.verify_actor): for the window of the order, the delegate acts
    and the absent KAM does not; afterwards the KAM again."""
    review(session, TODAY)
    own = listed(session, "kam.north2")
    assert len(own) >= 2 and not set(own) & set(listed(session, "kam.north1"))
    order(session, "kam.north2", "kam.north1", days=2)
    assert listed(session, "kam.north2") == [] and set(own) <= set(listed(session, "kam.north1"))
    first, second = own[0], own[-1]
    with pytest.raises(NotPermitted, match=r"is for kam\.north1, not kam\.north2") as refused:
        collection.complete_task(session, task_id=first, login="kam.north2", note="", on=TODAY, now=NOW)
    assert refused.value.field == "as" and session.get_one(CollectionTask, first).status == "open"
    done = collection.complete_task(session, task_id=first, login="kam.north1", note="called", on=TODAY, now=NOW)
    assert done.status == "done" and done.done_by_id == org.employee(session, "kam.north1").id
    after = TODAY + dt.timedelta(days=3)
    assert second in listed(session, "kam.north2", after) and second not in listed(session, "kam.north1", after)
    with pytest.raises(NotPermitted):
        collection.complete_task(session, task_id=second, login="kam.north1", note="", on=after, now=NOW)
    collection.complete_task(session, task_id=second, login="kam.north2", note="", on=after, now=NOW)


def test_listing_collection_tasks_reads_the_same_statements_however_many_people_a_kam_stands_in_for(
    session: Session,
) -> None:
    review(session, TODAY)

    def count() -> tuple[int, int]:
        kam = org.employee(session, "kam.north1")
        with statements(session) as sent:
            tasks = collection.tasks_for(session, kam, on=TODAY)
        return len(sent), len(tasks)

    alone, own = count()
    for absent in ("kam.north2", "kam.south1", "kam.south2"):
        order(session, absent, "kam.north1")
    standing_in, everyone = count()
    assert everyone > own and standing_in == alone == 2  # the delegations in force, then the tasks


def test_a_task_reads_as_people_speak_in_the_terminal(session: Session, kamflow: Any) -> None:
    review(session, TODAY)
    _, mine = kamflow("collection", "tasks", "--as", "kam.north2")
    printed = CliRunner().invoke(app, ["collection", "tasks", "--as", "kam.north2"]).stdout
    heads = [line.split(" — ")[0] for line in printed.splitlines()]
    assert len(heads) == len(mine)
    for head, task in zip(heads, mine, strict=True):
        assert "_" not in head  # actions and channels in words: "propose limit change by KAM call"
        assert head.endswith(f"({money(Decimal(task['amount']))} overdue)")
    assert any(Decimal(task["amount"]) >= 1000 for task in mine)  # so some amount above shows a separator


def test_a_customers_credit_at_a_glance_in_the_terminal_as_on_its_page(session: Session, kamflow: Any) -> None:
    """`kamflow customer`: the exposure, what the latest completed review found with the rules' reasons, and the
    open collection tasks, each as stored; before any review it says so; to those who may see the customer only,
    audited either way."""
    runner = CliRunner()
    before = runner.invoke(app, ["customer", "C0002", "--as", "credit"])
    assert before.exit_code == 0, before.output
    assert before.stdout.startswith("exposure of C0002 ")
    assert "No completed credit review has reviewed this customer yet." in before.stdout
    assert before.stdout.rstrip().endswith("Open collection tasks\nNone open.")

    review(session, TODAY)
    client = session.scalars(select(Customer).where(Customer.code == "C0002")).one()
    found = session.scalars(select(CustomerReview).where(CustomerReview.customer_id == client.id)).one()
    opened = session.scalars(
        select(CollectionTask)
        .where(CollectionTask.customer_id == client.id, CollectionTask.status == "open")
        .order_by(CollectionTask.next_action_on, CollectionTask.id)
    ).all()
    assert opened and found.reasons  # the demo's C0002 has tasks, so the test sees them
    code, shown = kamflow("customer", "C0002", "--as", "credit")
    assert code == 0 and shown["exposure"]["customer"] == "C0002"
    assert (
        shown["reviewed"]["business_date"] == TODAY.isoformat() and shown["reviewed"]["outcome"] == found.outcome
    )
    assert Decimal(shown["reviewed"]["overdue"]) == found.overdue
    days = ["1-30 days", "31-60 days", "61-90 days", "over 90 days"]
    assert [label for label, _amount in shown["reviewed"]["ageing"]] == ["not due", *days]
    assert [task["task_id"] for task in shown["tasks"]] == [task.id for task in opened]
    printed = runner.invoke(app, ["customer", "C0002", "--as", "credit"]).stdout
    assert (
        f"dunning level {found.dunning_level}; the rules' decision: {found.outcome.replace('_', ' ')}" in printed
    )
    assert f"overdue {money(found.overdue)}" in printed
    assert all(f"- {reason['text']}" in printed for reason in found.reasons)
    assert all(f"\ntask {task.id}: " in printed for task in opened)

    english = [reason["text"] for reason in found.reasons]
    assert found.facts and set(found.facts) < set(shown_facts(session, client))  # only what the reasons print
    reader = org.employee(session, "credit")
    reader.language = "es"
    session.commit()
    _, spanish = kamflow("customer", "C0002", "--as", "credit")
    assert len(spanish["reviewed"]["reasons"]) == len(english)
    assert not set(spanish["reviewed"]["reasons"]) & set(english)
    assert any(text.startswith("Nivel de reclamación ") for text in spanish["reviewed"]["reasons"])
    dias = ["1-30 días", "31-60 días", "61-90 días", "más de 90 días"]
    assert [label for label, _amount in spanish["reviewed"]["ageing"]][1:] == dias
    found.facts = None  # as a review kept before it kept them: the reasons read as kept
    session.commit()
    assert kamflow("customer", "C0002", "--as", "credit")[1]["reviewed"]["reasons"] == english
    reader.language = None
    session.commit()

    before_refusal = written(session)
    odd = runner.invoke(app, ["customer", "C" + "0" * 100, "--as", "credit"])
    assert odd.exit_code == 2 and "customer" in odd.output and written(session) == before_refusal
    refused = runner.invoke(app, ["customer", "C0002", "--as", "kam.south1"])
    assert refused.exit_code == 3 and "C0002" not in refused.stdout
    assert written(session) == (*before_refusal[:2], before_refusal[2] + 1)
    audited = session.scalars(select(AuditEvent).where(AuditEvent.action.in_(("customer_read", "access_refused"))))
    assert [(event.actor, event.action) for event in audited][-3:] == [
        ("credit", "customer_read"),
        ("credit", "customer_read"),
        ("kam.south1", "access_refused"),
    ]


def shown_facts(session: Session, client: Customer) -> dict[str, Any]:
    """Every fact the rules decided the customer's night on, as its collection tasks' audit events keep them."""
    tasks = select(CollectionTask.id).where(CollectionTask.customer_id == client.id)
    kept = select(AuditEvent.facts).where(
        AuditEvent.subject_type == "collection_task", AuditEvent.subject_id.in_(tasks)
    )
    return session.scalars(kept).first() or {}


def test_a_kam_reads_the_reasons_of_their_collection_tasks_in_their_own_language(
    session: Session, kamflow: Any
) -> None:
    """The review writes a task's reasons in the rule file's first language; a KAM who reads Spanish reads them in
    Spanish, written from the decision the task's audit event keeps, in the terminal and on the task's page; one
    who reads English reads them as kept."""
    review(session, TODAY)
    kam = org.employee(session, "kam.north2")
    kept = {task.id: task for task, _code in collection.tasks_for(session, kam, on=TODAY)}
    dunning = [task for task in kept.values() if task.action == "dunning"]
    assert dunning and all(task.reasons[0]["text"].startswith("Dunning level ") for task in dunning)

    code, english = kamflow("collection", "tasks", "--as", "kam.north2")
    assert code == 0 and {t["task_id"]: t["reasons"] for t in english} == {
        task_id: [reason["text"] for reason in task.reasons] for task_id, task in kept.items()
    }
    kam.language = "es"
    session.commit()
    code, spanish = kamflow("collection", "tasks", "--as", "kam.north2")
    assert code == 0 and [t["task_id"] for t in spanish] == [t["task_id"] for t in english]
    for shown in spanish:
        task = kept[shown["task_id"]]
        assert len(shown["reasons"]) == len(task.reasons)
        assert not set(shown["reasons"]) & {reason["text"] for reason in task.reasons}  # none left in English
        if task.action == "dunning":
            assert shown["reasons"][0].startswith(f"Nivel de reclamación {task.level} (")
            assert money(task.amount).replace(",", "X").replace(".", ",").replace("X", ".") in shown["reasons"][0]


def test_a_collection_tasks_title_names_the_task_in_its_readers_language() -> None:
    """The head's inbox lists escalations by title: a case escalated to them, not an order to escalate."""
    escalated = CollectionTask(action="escalate", level=None, channel=None)
    dunning = CollectionTask(action="dunning", level=2, channel="letter")
    assert title(escalated, "C0065") == "Escalated case for C0065"
    assert title(dunning, "C0002") == "Dunning level 2 by letter for C0002"
    with i18n.reading("es"):
        assert title(escalated, "C0065") == "Caso elevado para C0065"
        assert title(dunning, "C0002") == "Reclamación nivel 2 por carta para C0002"
