"""What people do between reviews: carry out a collection task, record a customer's promise to pay, put a
disputed invoice on hold. Each checks who is acting, writes nothing when it refuses, and is audited."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kamflow import audit, i18n, org
from kamflow.bounds import NOTE_CHARS, Line, Prose
from kamflow.credit import policy, standing
from kamflow.errors import InvalidInput, NotFound, NotPermitted
from kamflow.i18n import N_, _
from kamflow.models import Customer, Employee, Invoice, InvoiceHold
from kamflow.review.dunning import DUNNING
from kamflow.review.tables import CollectionTask, DunningState, PaymentPromise
from kamflow.types import CustomerCode, Day, Login, Positive

STATUSES = (N_("done"), N_("superseded"))
"""A collection task's statuses once no longer open, in words, for the catalog."""


class PromiseIn(BaseModel):
    """A customer's promise to pay, as the KAM records it."""

    model_config = ConfigDict(extra="forbid")

    customer: CustomerCode = Field(description="Customer code, e.g. C0002.")
    amount: Positive = Field(description="Amount promised.")
    promised_for: Day = Field(description="Date the customer promised to pay by (today or later).")
    recorded_by: Login = Field(description="Login of the person recording it (the KAM or above).")


class HoldIn(BaseModel):
    """Put a disputed invoice on hold: no dunning for it while the dispute lasts."""

    model_config = ConfigDict(extra="forbid")

    invoice: Annotated[str, Line(Invoice.number)] = Field(description="Invoice number, e.g. INV-00000042.")
    reason: Annotated[str, Prose(NOTE_CHARS, min_length=1)] = Field(description="What is disputed.")
    placed_by: Login = Field(description="Login of the person placing the hold.")
    release: bool = Field(default=False, description="Release the hold instead (the dispute is settled).")


def tasks_for(session: Session, person: Employee, *, on: dt.date) -> list[tuple[CollectionTask, str]]:
    """The open collection tasks a person may act on (their own and those of people they stand in for),
    each with its customer's code, soonest next action first."""
    mine = org.delegations_on(session, on=on).represented_by(person)
    rows = session.execute(
        select(CollectionTask, Customer.code)
        .join(Customer, Customer.id == CollectionTask.customer_id)
        .where(CollectionTask.status == "open", CollectionTask.assignee_id.in_(mine))
        .order_by(CollectionTask.next_action_on, CollectionTask.id)
    )
    return [(task, code) for task, code in rows]


def complete_task(
    session: Session, *, task_id: int, login: str, note: str, on: dt.date, now: dt.datetime
) -> CollectionTask:
    """Mark a collection task carried out; a dunning task's level then counts as carried out, so the next
    review may raise the customer one more level. Whoever acts for the assignee that day does it (as with
    approval tasks): during a delegation their delegate, not the assignee."""
    task = session.get(CollectionTask, task_id)
    if task is None:
        raise NotFound(_("no collection task {task}").format(task=task_id), field="task")
    if task.status != "open":
        raise InvalidInput(
            _("collection task {task} is already {status}").format(task=task_id, status=_(task.status)),
            field="task",
        )
    actor = org.employee(session, login)
    who = org.acting_for(session, session.get_one(Employee, task.assignee_id), on=on)
    if who.id != actor.id:
        raise NotPermitted(
            _("collection task {task} is for {owner}, not {login}").format(
                task=task_id, owner=who.login, login=login
            ),
            field="as",
        )
    if on < task.business_date:
        raise InvalidInput(
            _("task {task} was made on {day}; it cannot be done before").format(
                task=task_id, day=i18n.day(task.business_date)
            ),
            field="on",
        )
    task.status, task.done_on, task.done_by_id, task.note = "done", on, actor.id, note
    if task.action == DUNNING:
        session.execute(
            update(DunningState)
            .where(DunningState.customer_id == task.customer_id, DunningState.level == task.level)
            .values(carried_out=True, last_reminder_on=on)
        )
    audit.record(
        session,
        at=now,
        actor=actor.login,
        action="collection_task_done",
        subject_type="collection_task",
        subject_id=task.id,
        detail={"on": on.isoformat(), "note": note, "action": task.action, "level": task.level},
    )
    return task


def record_promise(session: Session, promise: PromiseIn, *, on: dt.date, now: dt.datetime) -> PaymentPromise:
    """Record a promise to pay; it replaces the customer's open one. The next review holds the dunning level
    until the date, then finds it kept (paid since) or broken (escalated)."""
    client = standing.customer(session, promise.customer)
    person = standing.requester(session, promise.recorded_by, client, also=policy.current().records_collection)
    if promise.promised_for < on:
        raise InvalidInput(
            _("the promised date {promised} is before today, {today}").format(
                promised=i18n.day(promise.promised_for), today=i18n.day(on)
            ),
            field="date",
        )
    session.execute(
        update(PaymentPromise)
        .where(PaymentPromise.customer_id == client.id, PaymentPromise.status == "open")
        .values(status="superseded", resolved_on=on)
    )
    row = PaymentPromise(
        customer_id=client.id,
        amount=promise.amount,
        currency=client.currency,
        promised_for=promise.promised_for,
        recorded_on=on,
        recorded_by_id=person.id,
        recorded_at=now,
        status="open",
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=person.login,
        action="promise_recorded",
        subject_type="payment_promise",
        subject_id=row.id,
        detail={"customer": client.code, "amount": str(promise.amount), "date": promise.promised_for.isoformat()},
    )
    return row


def hold_invoice(session: Session, hold: HoldIn, *, on: dt.date, now: dt.datetime) -> InvoiceHold:
    """Put a disputed invoice on hold from `on` (or release its hold): it stays a receivable, but dunning
    leaves it out."""
    invoice = session.scalar(select(Invoice).where(Invoice.number == hold.invoice))
    if invoice is None:
        raise NotFound(_("no invoice {invoice}").format(invoice=repr(hold.invoice)), field="invoice")
    client = session.get_one(Customer, invoice.customer_id)
    person = standing.requester(session, hold.placed_by, client, also=policy.current().records_collection)
    row = session.scalar(select(InvoiceHold).where(InvoiceHold.invoice_id == invoice.id))
    held = row is not None and row.released_on is None
    if hold.release != held:
        state = (
            _("invoice {invoice} is not on hold") if hold.release else _("invoice {invoice} is already on hold")
        )
        raise InvalidInput(state.format(invoice=hold.invoice), field="invoice")
    if hold.release:
        assert row is not None
        row.released_on = on
    elif row is None:
        row = InvoiceHold(
            invoice_id=invoice.id, reason=hold.reason, placed_on=on, placed_by_id=person.id, placed_at=now
        )
        session.add(row)
    else:
        row.reason, row.placed_on, row.placed_by_id, row.placed_at, row.released_on = (
            hold.reason,
            on,
            person.id,
            now,
            None,
        )
    session.flush()
    audit.record(
        session,
        at=now,
        actor=person.login,
        action="invoice_hold_released" if hold.release else "invoice_held",
        subject_type="invoice",
        subject_id=invoice.id,
        detail={"invoice": invoice.number, "customer": client.code, "reason": hold.reason},
    )
    return row
