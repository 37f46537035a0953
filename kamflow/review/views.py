"""What people are shown of the credit review and of collection: the review's summary (`kamflow review`), a
collection task (`collection tasks`, `collection done`), a promise to pay and a disputed-invoice hold."""

from __future__ import annotations

import datetime as dt

from kamflow import i18n
from kamflow.i18n import N_, _
from kamflow.models import InvoiceHold
from kamflow.reports import amount, words
from kamflow.review.report import ReviewSummary
from kamflow.review.tables import CollectionTask, PaymentPromise
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


WORDS = (
    *(N_("dunning"), N_("escalate"), N_("block orders"), N_("propose limit change")),
    *(N_("KAM call"), N_("letter"), N_("stop shipments"), N_("legal")),
)
"""The collection tasks' actions and channels in words, for the catalog."""


def what(action: str, level: int | None, channel: str | None) -> str:
    """A collection task's action in words, in the reader's language: "dunning level 2 by letter"."""
    return (
        _(words(action))
        + (_(" level {level}").format(level=level) if level else "")
        + (_(" by {channel}").format(channel=_(words(channel))) if channel else "")
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


def task_view(task: CollectionTask, customer: str) -> CollectionTaskView:
    return CollectionTaskView(
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
        reasons=[reason["text"] for reason in task.reasons],
    )


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
