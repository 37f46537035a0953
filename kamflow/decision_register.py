"""The decision register: every audited decision of a period — who, when, on what, the outcome, the reasons and
the rule-set version — read from the audit trail. A decision is an event the rules decided (it carries their
version), a person's answer to a task (it names the task), or a document agreed, approved, acknowledged, returned
or rejected. What `kamflow report decisions` shows and exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from functools import cache

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kamflow import approvals, i18n, labels
from kamflow.i18n import N_, _
from kamflow.models import AuditEvent, Customer
from kamflow.reports import WORDS, words
from kamflow.tabular import Column, Row, Table, Tabular
from kamflow.timeline import DOCUMENT_ANSWERS, EVENTS
from kamflow.views import Part, said

DOCUMENT_DECISIONS = ("agree", "approve", "acknowledge", "returned", "rejected")
COLUMNS = (
    Column(N_("when")),
    Column(N_("who")),
    Column(N_("subject")),
    Column(N_("customer")),
    Column(N_("outcome")),
    Column(N_("reasons")),
    Column(N_("rules version")),
)


def outcome_of(action: str, *, by_rules: bool) -> str:
    """A decision's action in the reader's words: the rules' outcome (escalate, block) when they decided it
    (`by_rules`), a person's (APPROVED, COUNTERED) when one answered; what kamflow did (order released on
    recheck), or its action spelt out, when it is neither."""
    if action in DOCUMENT_ANSWERS:
        return said(DOCUMENT_ANSWERS[action])
    parts = action.split("_")
    for start in range(1, len(parts)):  # the outcome ends the action: order_release_with_prepayment
        ending = "_".join(parts[start:])
        if by_rules and ending in WORDS:
            return words(ending)
        if not by_rules and ending in approvals.OUTCOMES:
            return said(approvals.outcome(ending))
    return _(EVENTS[action]) if action in EVENTS else words(action)


def moment(at: dt.datetime) -> str:
    """An instant as the register writes it: the reader's day, the time and the timezone."""
    return f"{i18n.day(at.date())} {at.strftime('%H:%M %Z')}"


class DecisionLine(Part):
    at: dt.datetime
    actor: str
    subject_type: str
    subject_id: int
    customer: str | None
    action: str
    reasons: list[str]
    rules_version: str | None

    def outcome(self) -> str:
        """The decision in the reader's words (`outcome_of`)."""
        return outcome_of(self.action, by_rules=self.rules_version is not None)

    def cells(
        self, when: Callable[[dt.datetime], str] = moment, said_as: Callable[..., str] = outcome_of
    ) -> tuple[str | None, ...]:
        """The line's cells; `when` writes its instant and `said_as` its outcome (a table's lines share a few
        instants and outcomes: each written once)."""
        return (
            when(self.at),
            self.actor,
            f"{labels.subject(self.subject_type)} {self.subject_id}",
            self.customer,
            said_as(self.action, by_rules=self.rules_version is not None),
            "; ".join(self.reasons),
            (self.rules_version or "")[:12],
        )


class DecisionRegisterView(Tabular):
    """The decisions audited from one day to another (company time), oldest first."""

    period_from: dt.date
    period_to: dt.date
    kam: str | None
    decisions: list[DecisionLine]

    def table(self) -> Table:
        whose = (
            _("every audited decision on customers of {kam}; times in the company's timezone").format(kam=self.kam)
            if self.kam
            else _("every audited decision on every customer you may see; times in the company's timezone")
        )
        # the lines of a period share a few instants and outcomes: each written once (in this reader's words)
        when, said_as = cache(moment), cache(outcome_of)
        return Table(
            title=_("Decision register {start} to {end}").format(
                start=i18n.day(self.period_from), end=i18n.day(self.period_to)
            ),
            lines=(whose,),
            columns=tuple(column.shown() for column in COLUMNS),
            rows=tuple(Row(line.cells(when, said_as)) for line in self.decisions),
        )


def register(
    session: Session,
    *,
    start: dt.date,
    end: dt.date,
    tz: dt.tzinfo,
    kams: Collection[int] | None,
    kam: str | None,
) -> DecisionRegisterView:
    """The decisions audited from `start` to `end` (days in `tz`, both included). With `kams`, only decisions on
    those KAMs' customers (a decision that names no customer, such as a document's, is then left out)."""
    since = dt.datetime.combine(start, dt.time(), tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    customer = AuditEvent.detail["customer"].as_string()
    query = (
        select(
            AuditEvent.at,
            AuditEvent.actor,
            AuditEvent.subject_type,
            AuditEvent.subject_id,
            customer,
            AuditEvent.action,
            AuditEvent.reasons,
            AuditEvent.rules_version,
        )
        .where(
            AuditEvent.at >= since,
            AuditEvent.at < until,
            or_(
                AuditEvent.rules_version.is_not(None),
                AuditEvent.detail["task"].as_integer().is_not(None),
                AuditEvent.action.in_([f"document_{action}" for action in DOCUMENT_DECISIONS]),
            ),
        )
        .order_by(AuditEvent.seq)
    )
    if kams is not None:
        query = query.where(customer.in_(select(Customer.code).where(Customer.kam_id.in_(kams))))
    rows = session.connection().execute(query)  # Core rows: no ORM loading, a fraction of the cost per line
    return DecisionRegisterView(
        period_from=start,
        period_to=end,
        kam=kam,
        decisions=[  # the database's own values: built without validating them again
            DecisionLine.model_construct(
                at=at.astimezone(tz),
                actor=actor,
                subject_type=subject_type,
                subject_id=subject_id,
                customer=code,
                action=action,
                reasons=[f"{reason['rule']}: {reason['text']}" for reason in reasons],
                rules_version=rules_version,
            )
            for at, actor, subject_type, subject_id, code, action, reasons, rules_version in rows
        ],
    )
