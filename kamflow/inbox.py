"""A person's inbox: every open task they may act on today (their own, and those of whoever they stand in for),
across all processes, each with what it is about and the figure that decides it, and the collection tasks the
nightly credit review gave them. Set-based: one read for the tasks and one per process for their subjects, and
two for the collection tasks, whatever the number of tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import approvals, i18n, reports
from kamflow.credit import limits, orders, solvency
from kamflow.credit.tables import CreditCheck, CreditLimitChange, OrderCreditCheck
from kamflow.discounts import PROCESS as DISCOUNTS
from kamflow.discounts.tables import DiscountRequest
from kamflow.documents.service import PROCESS as DOCUMENTS
from kamflow.documents.tables import Document
from kamflow.i18n import _
from kamflow.models import ApprovalTask, Customer, Employee
from kamflow.review import collection
from kamflow.review import views as collection_views
from kamflow.review.dunning import LIMIT_CHANGE
from kamflow.review.tables import CollectionTask, CustomerReview
from kamflow.settings import get_settings
from kamflow.views import Part, View

COLLECTION = "collection"
"""The inbox's name for the collection tasks of the nightly credit review (no approval process of their own)."""


class Subject(Part):
    """What a task is about: a customer (code and name) or a document (its title), and the figure that decides."""

    customer: str | None
    name: str
    figure: str


class InboxLine(Part):
    task_id: int
    href: str
    process: str
    title: str
    customer: str | None
    subject: str
    figure: str
    requester: str
    opened_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    level: int
    owner: str
    delegated: bool


class Inbox(View):
    lines: list[InboxLine]

    def text(self) -> str:
        return "\n".join(
            _("task {task}: {title} — {figure}").format(task=line.task_id, title=line.title, figure=line.figure)
            for line in self.lines
        )


def _fact(column: Any, name: str) -> Any:
    """One of the rules' facts a decision kept (a decimal's exact text), read in the database: the page needs
    a figure or two, not every decision's whole JSON."""
    return column[("facts", name)].as_string().label(name)


def _amount(text: str | None) -> Decimal:
    return Decimal(text or 0)


def _discounts(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    rows = session.execute(
        select(
            DiscountRequest.id,
            DiscountRequest.discount_pct,
            _fact(DiscountRequest.decision, "norm_pct"),
            _fact(DiscountRequest.decision, "overdue_amount"),
            Customer.code,
            Customer.name,
        )
        .join(Customer, Customer.id == DiscountRequest.customer_id)
        .where(DiscountRequest.id.in_(ids))
    )
    found = {}
    for row in rows:
        asked = reports.number(row.discount_pct)
        parts = [
            _("asks {asked}%").format(asked=asked)
            if row.norm_pct is None
            else _("asks {asked}% vs norm {norm}%").format(asked=asked, norm=reports.number(row.norm_pct))
        ]
        overdue = _amount(row.overdue_amount)
        if overdue > 0:
            parts.append(_("{amount} overdue").format(amount=reports.amount(overdue)))
        found[row.id] = Subject(customer=row.code, name=row.name, figure=", ".join(parts))
    return found


def _orders(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    rows = session.execute(
        select(
            OrderCreditCheck.id,
            *(
                _fact(OrderCreditCheck.decision, f)
                for f in ("order_amount", "over_limit_amount", "overdue_amount")
            ),
            Customer.code,
            Customer.name,
            Customer.currency,
        )
        .join(Customer, Customer.id == OrderCreditCheck.customer_id)
        .where(OrderCreditCheck.id.in_(ids))
    )
    found = {}
    for row in rows:
        parts = [_("order {amount}").format(amount=i18n.money(_amount(row.order_amount), row.currency))]
        if _amount(row.over_limit_amount) > 0:
            parts.append(_("{amount} over the limit").format(amount=reports.amount(row.over_limit_amount)))
        if _amount(row.overdue_amount) > 0:
            parts.append(_("{amount} overdue").format(amount=reports.amount(row.overdue_amount)))
        found[row.id] = Subject(customer=row.code, name=row.name, figure=", ".join(parts))
    return found


def _limits(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    rows = session.execute(
        select(
            CreditLimitChange.id,
            CreditLimitChange.category,
            CreditLimitChange.old_limit,
            CreditLimitChange.new_limit,
            Customer.code,
            Customer.name,
        )
        .join(Customer, Customer.id == CreditLimitChange.customer_id)
        .where(CreditLimitChange.id.in_(ids))
    )

    def limit(value: Decimal | None) -> str:
        return _("no limit") if value is None else reports.amount(value)

    return {
        row.id: Subject(
            customer=row.code,
            name=row.name,
            figure=_("{category} limit {old} → {new}").format(
                category=reports.words(row.category), old=limit(row.old_limit), new=limit(row.new_limit)
            ),
        )
        for row in rows
    }


def _solvency(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    rows = session.execute(
        select(CreditCheck.id, CreditCheck.risk_class, CreditCheck.proposed_limit, Customer.code, Customer.name)
        .join(Customer, Customer.id == CreditCheck.customer_id)
        .where(CreditCheck.id.in_(ids))
    )
    return {
        row.id: Subject(
            customer=row.code,
            name=row.name,
            figure=_("risk class {risk_class}, proposed limit {amount}").format(
                risk_class=row.risk_class, amount=reports.amount(row.proposed_limit)
            ),
        )
        for row in rows
    }


def _documents(session: Session, ids: Collection[int]) -> dict[int, Subject]:
    rows = session.execute(
        select(Document.id, Document.title, Document.doc_type, Document.version).where(Document.id.in_(ids))
    )
    return {
        row.id: Subject(
            customer=None,
            name=row.title,
            figure=_("{type}, version {version}").format(type=reports.words(row.doc_type), version=row.version),
        )
        for row in rows
    }


SUBJECTS: dict[str, Callable[[Session, Collection[int]], dict[int, Subject]]] = {
    DISCOUNTS: _discounts,
    orders.PROCESS: _orders,
    limits.PROCESS: _limits,
    solvency.PROCESS: _solvency,
    DOCUMENTS: _documents,
}


def subjects(session: Session, tasks: Iterable[ApprovalTask]) -> dict[tuple[str, int], Subject]:
    """What each task is about, one read per process."""
    by_process: dict[str, set[int]] = {}
    for task in tasks:
        by_process.setdefault(task.process, set()).add(task.subject_id)
    found: dict[tuple[str, int], Subject] = {}
    for process, ids in by_process.items():
        for subject_id, subject in SUBJECTS[process](session, ids).items():
            found[process, subject_id] = subject
    return found


def _collection(session: Session, person: Employee, *, on: dt.date, now: dt.datetime) -> list[InboxLine]:
    """The person's open collection tasks as inbox lines: due at the end of their next-action day, in the
    company's timezone."""
    tasks = collection.tasks_for(session, person, on=on)
    names = {
        row.id: row.name
        for row in session.execute(
            select(Customer.id, Customer.name).where(Customer.id.in_({task.customer_id for task, _ in tasks}))
        )
    }
    logins = {
        row.id: row.login
        for row in session.execute(
            select(Employee.id, Employee.login).where(Employee.id.in_({task.assignee_id for task, _ in tasks}))
        )
    }
    limited = _limited(session, [task for task, _code in tasks if task.action == LIMIT_CHANGE])
    zone = get_settings().tz
    lines = []
    for task, code in tasks:
        due_at = dt.datetime.combine(task.next_action_on, dt.time(23, 59), tzinfo=zone)
        exposure, limit = limited.get(task.id, (None, None))
        figure = (
            _("exposure {exposure} of limit {limit}").format(
                exposure=reports.amount(exposure), limit=reports.amount(limit)
            )
            if exposure is not None and limit is not None  # a limit change: how the exposure stands against it
            else _("{amount} overdue").format(amount=reports.amount(task.amount))
        )
        lines.append(
            InboxLine(
                task_id=task.id,
                href=f"/collection/{task.id}",
                process=COLLECTION,
                title=collection_views.title(task, code),
                customer=code,
                subject=names[task.customer_id],
                figure=figure,
                requester=_("nightly credit review"),
                opened_at=task.created_at,
                due_at=due_at,
                overdue=due_at < now,
                level=task.level or 0,
                owner=logins[task.assignee_id],
                delegated=task.assignee_id != person.id,
            )
        )
    return lines


def _limited(session: Session, tasks: list[CollectionTask]) -> dict[int, tuple[Decimal, Decimal | None]]:
    """The exposure and the credit limit the review behind each limit-change task found, by the task's id."""
    if not tasks:
        return {}
    behind = {(task.review_id, task.customer_id): task.id for task in tasks}
    rows = session.execute(
        select(
            CustomerReview.review_id,
            CustomerReview.customer_id,
            CustomerReview.exposure,
            CustomerReview.credit_limit,
        ).where(
            CustomerReview.review_id.in_({task.review_id for task in tasks}),
            CustomerReview.customer_id.in_({task.customer_id for task in tasks}),
        )
    )
    return {
        behind[r.review_id, r.customer_id]: (r.exposure, r.credit_limit)
        for r in rows
        if (r.review_id, r.customer_id) in behind
    }


Sort = Literal["due", "opened", "level", "process"]


def inbox(
    session: Session,
    person: Employee,
    *,
    on: dt.date,
    now: dt.datetime,
    process: str | None = None,
    search: str = "",
    overdue_only: bool = False,
    sort: Sort = "due",
) -> Inbox:
    """The person's open tasks, filtered and sorted as asked, overdue ones first."""
    tasks = [] if process == COLLECTION else approvals.pending_for(session, person, on=on)
    if process:
        tasks = [task for task in tasks if task.process == process]
    about = subjects(session, tasks)
    asked_by = {t.requester_id for t in tasks}
    requesters = {
        row.id: row.full_name
        for row in session.execute(select(Employee.id, Employee.full_name).where(Employee.id.in_(asked_by)))
    }
    lines = []
    for task in tasks:
        subject = about.get((task.process, task.subject_id), Subject(customer=None, name="", figure=""))
        lines.append(
            InboxLine(
                task_id=task.id,
                href=f"/tasks/{task.id}",
                process=task.process,
                title=task.title,
                customer=subject.customer,
                subject=subject.name,
                figure=subject.figure,
                requester=requesters[task.requester_id],
                opened_at=task.created_at,
                due_at=task.due_at,
                overdue=task.due_at < now,
                level=task.level,
                owner=task.owner.login,
                delegated=task.owner_id != person.id,
            )
        )
    if not process or process == COLLECTION:
        lines += _collection(session, person, on=on, now=now)
    wanted = search.strip().casefold()
    if wanted:
        lines = [
            line
            for line in lines
            if wanted in f"{line.title} {line.customer or ''} {line.subject} {line.requester}".casefold()
        ]
    if overdue_only:
        lines = [line for line in lines if line.overdue]
    keys: dict[str, Callable[[InboxLine], Any]] = {
        "due": lambda line: line.due_at,
        "opened": lambda line: line.opened_at,
        "level": lambda line: -line.level,
        "process": lambda line: line.process,
    }
    lines.sort(key=lambda line: (not line.overdue, keys[sort](line), line.task_id))
    return Inbox(lines=lines)
