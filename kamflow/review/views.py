"""What people are shown of the credit review and of collection: the review's summary (`kamflow review`), a
collection task (`collection tasks`, `collection done`), a promise to pay and a disputed-invoice hold, and what
the latest review found for a customer with its open tasks (the customer's page)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import i18n, labels, rulesets
from kamflow.i18n import _
from kamflow.models import AuditEvent, Customer, Employee, InvoiceHold
from kamflow.reports import amount, number, words
from kamflow.review import ageing
from kamflow.review.report import ReviewSummary
from kamflow.review.service import RULESET
from kamflow.review.tables import CollectionTask, CreditReview, CustomerReview, PaymentPromise
from kamflow.views import Part, View


class LevelLine(Part):
    """Customers at a dunning level, and the change since the previous review."""

    level: int
    channel: str
    customers: int
    change: int


class ReviewView(View):
    """A finished review of a business date: its counts, money per currency, the riskiest customers, and the
    summary people read."""

    business_date: str
    status: str
    flow_run_id: str
    customers: int
    raised: int
    levels: list[LevelLine]
    tasks: dict[str, int]
    totals: dict[str, dict[str, str]]
    top_risks: list[dict[str, str | int]]
    summary: str

    def text(self) -> str:
        return self.summary


def review_view(summary: ReviewSummary, *, flow_run_id: str) -> ReviewView:
    return ReviewView(
        business_date=summary.business_date.isoformat(),
        status=summary.status,
        flow_run_id=flow_run_id,
        customers=summary.totals.customers,
        raised=summary.totals.raised,
        levels=summary.levels_table(),
        tasks=summary.tasks,
        totals=summary.totals.to_json()["money"],
        top_risks=summary.top_risks,
        summary=summary.markdown(),
    )


def what(action: str, level: int | None, channel: str | None) -> str:
    """A collection task's action in words, in the reader's language: "dunning level 2 by letter"."""
    return (
        labels.task(action)
        + (_(" level {level}").format(level=level) if level else "")
        + (_(" by {channel}").format(channel=words(channel)) if channel else "")
    )


def title(task: CollectionTask, customer: str) -> str:
    """A collection task's heading: "Dunning level 2 by letter for C0002"."""
    heading = what(task.action, task.level, task.channel)
    return _("{what} for {customer}").format(what=heading[:1].upper() + heading[1:], customer=customer)


class CollectionTaskView(View):
    """A collection task as the person who carries it out reads it."""

    task_id: int
    customer: str
    action: str
    channel: str | None
    level: int | None
    business_date: str
    next_action_on: str
    amount: str
    fee: str
    status: str
    reasons: list[str]

    def text(self) -> str:
        return _("task {task}: {customer} {what}, by {day} ({amount} overdue) — {reasons}").format(
            task=self.task_id,
            customer=self.customer,
            what=what(self.action, self.level, self.channel),
            day=i18n.day(dt.date.fromisoformat(self.next_action_on)),
            amount=amount(self.amount),
            reasons="; ".join(self.reasons),
        )


def task_views(session: Session, tasks: Sequence[tuple[CollectionTask, str]]) -> list[CollectionTaskView]:
    """Collection tasks (each with its customer's code) as their reader reads them: their reasons in the reader's
    language, written from the decision each task's audit event keeps (the rules' facts and version, as
    `rulesets.reasons_in` writes a decision's); as the task keeps them where that cannot be done. One read."""
    decided = session.execute(
        select(AuditEvent.subject_id, AuditEvent.reasons, AuditEvent.facts, AuditEvent.rules_version).where(
            AuditEvent.subject_type == "collection_task",
            AuditEvent.subject_id.in_([task.id for task, _code in tasks]),
            AuditEvent.rules_version.is_not(None),
        )
    )
    kept = {task_id: (said, facts, version) for task_id, said, facts, version in decided}
    views = []
    for task, customer in tasks:
        reasons = [reason["text"] for reason in task.reasons]
        if task.id in kept:
            reasons = _written(session, task.action, *kept[task.id])
        views.append(
            CollectionTaskView(
                task_id=task.id,
                customer=customer,
                action=task.action,
                channel=task.channel,
                level=task.level,
                business_date=task.business_date.isoformat(),
                next_action_on=task.next_action_on.isoformat(),
                amount=str(task.amount),
                fee=str(task.fee),
                status=task.status,
                reasons=reasons,
            )
        )
    return views


def _written(
    session: Session, outcome: str, reasons: list[dict[str, str]], facts: dict[str, Any], version: str
) -> list[str]:
    """Reasons of the review's rules in the reader's language, written from the facts they print under the rules
    version that decided (`rulesets.reasons_in`); as kept where that cannot be done."""
    decision = {"ruleset": RULESET, "outcome": outcome, "role": None, "reasons": reasons}
    return [
        reason["text"] for reason in rulesets.reasons_in(session, decision | {"facts": facts, "version": version})
    ]


class PromiseView(View):
    """A customer's promise to pay, as recorded."""

    promise_id: int
    customer: str
    amount: str
    currency: str
    promised_for: str
    status: str

    def text(self) -> str:
        return _("promise {promise}: {customer} pays {amount} by {day}").format(
            promise=self.promise_id,
            customer=self.customer,
            amount=f"{amount(self.amount)} {self.currency}",
            day=i18n.day(dt.date.fromisoformat(self.promised_for)),
        )


def promise_view(promise: PaymentPromise, customer: str) -> PromiseView:
    return PromiseView(
        promise_id=promise.id,
        customer=customer,
        amount=str(promise.amount),
        currency=promise.currency,
        promised_for=promise.promised_for.isoformat(),
        status=promise.status,
    )


class HoldView(View):
    """A disputed invoice's hold: in force, or released."""

    invoice: str
    on_hold: bool
    since: str
    released_on: str | None
    reason: str

    def text(self) -> str:
        if self.on_hold:
            return _("invoice {invoice} on hold: {reason}").format(invoice=self.invoice, reason=self.reason)
        return _("invoice {invoice} released").format(invoice=self.invoice)


def hold_view(hold: InvoiceHold, invoice: str) -> HoldView:
    return HoldView(
        invoice=invoice,
        on_hold=hold.released_on is None,
        since=hold.placed_on.isoformat(),
        released_on=None if hold.released_on is None else hold.released_on.isoformat(),
        reason=hold.reason,
    )


class Reviewed(Part):
    """What the latest completed review found for a customer, with the rules' decision and why."""

    business_date: dt.date
    currency: str
    ageing: list[tuple[str, Decimal]]
    """Not due, then overdue per ageing bucket, as that review's labels."""
    overdue: Decimal
    serious_overdue: Decimal
    oldest_overdue_days: int | None
    dso: Decimal | None
    payment_days: Decimal | None
    payment_days_change: Decimal | None
    altman_zone: str | None
    dunning_level: int
    outcome: str
    reasons: list[str]
    rules_version: str

    def text(self) -> str:
        head = _(
            "The review of {day}, in {currency}: dunning level {level}; the rules' decision: {outcome} (rules "
            "version {version})."
        ).format(
            day=i18n.day(self.business_date),
            currency=self.currency,
            level=self.dunning_level,
            outcome=words(self.outcome),
            version=self.rules_version[:12],
        )
        ageing = [*self.ageing, (_("overdue"), self.overdue)]
        paid = number(self.payment_days)
        if self.payment_days_change is not None:
            change = _("{change} since the review before").format(change=number(self.payment_days_change))
            paid = f"{paid} ({change})"
        facts = [
            (_("Seriously overdue"), amount(self.serious_overdue)),
            (_("Oldest overdue (days)"), number(self.oldest_overdue_days)),
            (_("DSO (days)"), number(self.dso)),
            (_("Paid after the due date, on average (days)"), paid),
            (_("Altman Z-score zone"), words(self.altman_zone) if self.altman_zone else "—"),
        ]
        return "\n".join(
            [
                head,
                "  ".join(f"{label} {amount(value)}" for label, value in ageing),
                *(f"{name}: {value}" for name, value in facts),
                *(f"- {reason}" for reason in self.reasons),
            ]
        )


class OpenTask(Part):
    """An open collection task of a customer, and who carries it out by when."""

    task_id: int
    title: str
    next_action_on: dt.date
    assignee: str

    def text(self) -> str:
        return _("task {task}: {title} — next action on {day}, {person}").format(
            task=self.task_id, title=self.title, day=i18n.day(self.next_action_on), person=self.assignee
        )


def reviewed(session: Session, customer: Customer) -> Reviewed | None:
    """The customer's row of the latest completed review (None: no completed review has reviewed it), its reasons
    in the reader's language (as kept, from a review before it kept the facts they print)."""
    found = session.execute(
        select(CustomerReview, CreditReview)
        .join(CreditReview, CreditReview.id == CustomerReview.review_id)
        .where(CustomerReview.customer_id == customer.id, CreditReview.status == "completed")
        .order_by(CreditReview.business_date.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    row, review = found
    version = review.rules_version or ""
    return Reviewed(
        business_date=review.business_date,
        currency=row.currency,
        ageing=[
            (_("not due"), row.not_due),
            *zip(map(ageing.shown, review.bucket_labels), map(Decimal, row.buckets), strict=True),
        ],
        overdue=row.overdue,
        serious_overdue=row.serious_overdue,
        oldest_overdue_days=row.oldest_overdue_days,
        dso=row.dso,
        payment_days=row.payment_days,
        payment_days_change=row.payment_days_change,
        altman_zone=row.altman_zone,
        dunning_level=row.dunning_level,
        outcome=row.outcome,
        reasons=_written(session, row.outcome, row.reasons, row.facts or {}, version),
        rules_version=version,
    )


def open_tasks(session: Session, customer: Customer) -> list[OpenTask]:
    """The customer's open collection tasks, soonest next action first."""
    rows = session.execute(
        select(CollectionTask, Employee.full_name)
        .join(Employee, Employee.id == CollectionTask.assignee_id)
        .where(CollectionTask.customer_id == customer.id, CollectionTask.status == "open")
        .order_by(CollectionTask.next_action_on, CollectionTask.id)
    )
    code = customer.code
    return [
        OpenTask(task_id=task.id, title=title(task, code), next_action_on=task.next_action_on, assignee=who)
        for task, who in rows
    ]
