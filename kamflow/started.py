"""What people start and may take back: every request, order, limit change, solvency check and document a person
started (`started_by`, "my requests"), and withdrawing one that still waits (`withdraw`).

`KINDS` says, per process, where its subjects are kept, who started one and which statuses mean it still waits for
a person; `kamflow.timeline` reads the audit trail by its `subject_type`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from kamflow import access, approvals, audit, clock, i18n, org
from kamflow.credit import limits, orders, solvency
from kamflow.credit.tables import CreditCheck, CreditLimitChange, OrderCreditCheck
from kamflow.decisions import human
from kamflow.discounts import PROCESS as DISCOUNTS
from kamflow.discounts import service as discounts
from kamflow.discounts.tables import DiscountRequest
from kamflow.documents import service as documents
from kamflow.documents import submission
from kamflow.documents.tables import Document, DocumentStep
from kamflow.errors import InvalidInput, NotFound
from kamflow.i18n import N_, _
from kamflow.models import ApprovalTask, Employee
from kamflow.reports import amount, pct, when, words
from kamflow.settings import get_settings
from kamflow.views import HumanDecision, View, said

DOCUMENT_APPROVALS = {"agree": "AGREED", "approve": "APPROVED", "acknowledge": "ACKNOWLEDGED"}
"""A document's `approve` answer by the kind of its step."""

Subject = DiscountRequest | OrderCreditCheck | CreditLimitChange | CreditCheck | Document


@dataclass(frozen=True)
class Kind:
    """One process's subjects: their table, their audit `subject_type`, who started one (`requester`), the
    statuses in which one waits for a person, what it is in words, its customer (or document type) and its key
    figure, the request one was started from as its flow takes it (`request_of`: the recovery sweep starts a fresh
    run with it), and the rows those read (loaded with the subjects, in the same query)."""

    table: type[Subject]
    subject_type: str
    requester: InstrumentedAttribute[int]
    waiting: tuple[str, ...]
    title: Callable[[Any], str]
    about: Callable[[Any], str]
    figure: Callable[[Any], str]
    request_of: Callable[[Session, Any], BaseModel]
    reads: tuple[InstrumentedAttribute[Any], ...] = ()


KINDS: dict[str, Kind] = {
    DISCOUNTS: Kind(
        DiscountRequest,
        "discount_request",
        DiscountRequest.requester_id,
        ("pending",),
        lambda r: _("Discount {pct} on column {column}").format(pct=pct(r.discount_pct), column=r.price_column),
        lambda r: r.customer.code,
        lambda r: (
            _("{pct} asked, order {amount} {currency}").format(
                pct=pct(r.discount_pct), amount=amount(r.order_total), currency=r.currency
            )
            + ("" if r.granted_pct is None else _(", {pct} granted").format(pct=pct(r.granted_pct)))
        ),
        discounts.request_of,
        (DiscountRequest.customer,),
    ),
    orders.PROCESS: Kind(
        OrderCreditCheck,
        "order_credit_check",
        OrderCreditCheck.requester_id,
        ("blocked",),
        lambda c: _("Order {number}").format(number=c.order.number),
        lambda c: c.customer.code,
        lambda c: f"{amount(c.order.amount)} {c.order.currency}",
        orders.request_of,
        (OrderCreditCheck.customer, OrderCreditCheck.order),
    ),
    limits.PROCESS: Kind(
        CreditLimitChange,
        "credit_limit_change",
        CreditLimitChange.requester_id,
        ("pending",),
        lambda c: _("{category} limit change").format(category=_(words(c.category))),
        lambda c: c.customer.code,
        lambda c: f"{amount(c.old_limit)} → {amount(c.new_limit)}",
        limits.request_of,
        (CreditLimitChange.customer,),
    ),
    solvency.PROCESS: Kind(
        CreditCheck,
        "credit_check",
        CreditCheck.requester_id,
        ("pending",),
        lambda c: _("Solvency check ({purpose})").format(purpose=_(words(c.purpose))),
        lambda c: c.customer.code,
        lambda c: _("risk class {risk_class}, order {amount}").format(
            risk_class=c.risk_class, amount=amount(c.order_amount)
        ),
        solvency.request_of,
        (CreditCheck.customer,),
    ),
    documents.PROCESS: Kind(
        Document,
        "document",
        Document.author_id,
        ("in_review", "returned"),
        lambda d: d.title,
        lambda d: d.doc_type,
        lambda d: _("version {version}").format(version=d.version),
        submission.request_of,
    ),
}


SUBJECTS = (N_("discount request"), N_("order credit check"), N_("credit limit change"), N_("credit check"))
"""The subjects' types in words, for the catalog (a document is one too)."""
DONE = (N_("approved"), N_("rejected"), N_("withdrawn"), N_("released"), N_("applied"))
"""The statuses of a subject no longer waiting, for the catalog."""


def no_subject(k: Kind, subject_id: int) -> NotFound:
    """No such subject of a kind: "no discount request 7"."""
    return NotFound(_("no {what} {id}").format(what=_(words(k.subject_type)), id=subject_id), field="subject_id")


def kind(process: str) -> Kind:
    found = KINDS.get(process)
    if found is None:
        raise NotFound(
            _("no process {process} people start (one of: {processes})").format(
                process=repr(process), processes=", ".join(KINDS)
            ),
            field="process",
        )
    return found


class Started(View):
    """Something a person started, as "my requests" lists it: while it waits, its open task and who may act on
    it today; once a person decided it, their decision's human part."""

    process: str
    subject_id: int
    title: str
    about: str
    figure: str
    status: str
    opened_at: AwareDatetime
    task_id: int | None
    assignee: str | None
    verdict: HumanDecision | None
    shown: tuple[str, str] = Field(
        default=("", ""), exclude=True, description="The title and the figure in the reader's language."
    )

    def text(self) -> str:
        title, figure = self.shown if self.shown[0] else (self.title, self.figure)
        head = f"{self.process} {self.subject_id}: {title} — {self.about}, {figure}: {said(self.status)}"
        opened = _("opened {at}").format(at=when(self.opened_at))
        if self.task_id is not None:
            waits = _("waiting for {assignee}, task {task}").format(assignee=self.assignee, task=self.task_id)
            return f"{head} ({opened}; {waits})"
        return f"{head} ({opened})" + (f"\n  {self.verdict.text()}" if self.verdict else "")


def _tasks(session: Session, mine: dict[str, list[Subject]]) -> list[ApprovalTask]:
    """Every task of the subjects, in one query, oldest first."""
    wanted = [
        and_(ApprovalTask.process == process, ApprovalTask.subject_id.in_([s.id for s in rows]))
        for process, rows in mine.items()
        if rows
    ]
    if not wanted:
        return []
    return list(
        session.scalars(
            select(ApprovalTask)
            .where(or_(*wanted))
            .options(joinedload(ApprovalTask.owner), joinedload(ApprovalTask.actor))
            .order_by(ApprovalTask.id)
        )
    )


def started_by(session: Session, login: str, *, on: dt.date | None = None) -> list[Started]:
    """Everything `login` started, newest first: one query per process and one for all their tasks."""
    person = org.employee(session, login)
    mine: dict[str, list[Subject]] = {
        process: list(
            session.scalars(
                select(k.table).where(k.requester == person.id).options(*(joinedload(read) for read in k.reads))
            )
        )
        for process, k in KINDS.items()
    }
    open_task: dict[tuple[str, int], ApprovalTask] = {}
    decided: dict[tuple[str, int], ApprovalTask] = {}
    for task in _tasks(session, mine):
        where = (task.process, task.subject_id)
        if task.status == "pending":
            open_task.setdefault(where, task)
        elif task.status == "decided" and task.actor is not None:
            decided[where] = task  # the latest decision
    steps = documents.steps_of(session, [t for t in decided.values() if t.process == documents.PROCESS])
    delegations = org.delegations_on(session, on=on or clock.today())
    tz = get_settings().tz
    found = []
    for process, rows in mine.items():
        k = KINDS[process]
        for row in rows:
            waits = open_task.get((process, row.id))
            last = decided.get((process, row.id))
            found.append(
                Started(
                    process=process,
                    subject_id=row.id,
                    title=_as_data(k.title, row),
                    about=k.about(row),
                    figure=_as_data(k.figure, row),
                    shown=(k.title(row), k.figure(row)),
                    status=row.status,
                    opened_at=row.created_at.astimezone(tz),
                    task_id=None if waits is None else waits.id,
                    assignee=None if waits is None else delegations.acting_for(waits.owner).login,
                    verdict=None if last is None else human(last, outcome=_document_outcome(last, steps)),
                )
            )
    return sorted(found, key=lambda s: s.opened_at, reverse=True)


def _as_data(words: Callable[[Any], str], row: Subject) -> str:
    """A subject's words as its data keeps them: the same in every language (the code's, English)."""
    with i18n.reading(i18n.SOURCE):
        return words(row)


def _document_outcome(task: ApprovalTask, steps: dict[int, DocumentStep]) -> str | None:
    """A document's approve as its step calls it (AGREED, APPROVED, ACKNOWLEDGED); None for anything else."""
    step = steps.get(task.id)
    return DOCUMENT_APPROVALS[step.kind] if step is not None and task.action == "approve" else None


def withdraw(
    session: Session, *, process: str, subject_id: int, person: Employee, reason: str, now: dt.datetime
) -> Subject:
    """Take back a subject that still waits for a person: only whoever started it, or whoever stands in for them
    today. Its open tasks are cancelled, it becomes `withdrawn`, and that is audited; NotPermitted (naming the
    person, so that the refusal is audited) otherwise. Returns the subject; its flow run is the caller's to end."""
    k = kind(process)
    row = cast(Subject | None, session.get(k.table, subject_id))
    if row is None:
        raise no_subject(k, subject_id)
    requester = session.get_one(Employee, getattr(row, k.requester.key))
    delegations = org.delegations_on(session, on=clock.today(now))
    for_whom = None if person.id == requester.id else requester.login
    if for_whom is not None and delegations.acting_for(requester).id != person.id:
        access.refuse(
            person,
            _("only {login} may withdraw {process} {subject}").format(
                login=requester.login, process=process, subject=subject_id
            ),
            field="subject_id",
        )
    if row.status not in k.waiting:
        access.refuse(
            person,
            _("{process} {subject} is {status}: only a waiting one may be withdrawn").format(
                process=process, subject=subject_id, status=_(row.status)
            ),
            field="subject_id",
        )
    open_tasks = approvals.pending(session, process=process, subject_id=subject_id)
    if not open_tasks:  # its run has not opened its task yet: it would open one for a withdrawn subject
        raise InvalidInput(
            _("{process} {id} has no task open yet; try again in a moment").format(process=process, id=subject_id),
            field="subject_id",
        )
    for task in open_tasks:  # the reason is kept in the words of the person the task was for
        with i18n.reading(i18n.language_of(task.owner.language)):
            said = _("withdrawn by {person}: {reason}") if reason else _("withdrawn by {person}")
            note = said.format(person=person.login, reason=reason)
        approvals.cancel(session, task, now=now, reason=note)
    close(
        session,
        row,
        process=process,
        status="withdrawn",
        actor=person.login,
        action="withdrawn",
        now=now,
        detail={"reason": reason, "on_behalf_of": for_whom},
    )
    return row


def close(
    session: Session,
    row: Subject,
    *,
    process: str,
    status: str,
    actor: str,
    action: str,
    now: dt.datetime,
    detail: dict[str, Any],
) -> None:
    """End a subject that waits for a person as `status` (withdrawn by its requester, cancelled with its run): a
    document's open steps are cancelled, a blocked order's order takes the status too; audited as `action` by
    `actor`. Its open tasks are the caller's to cancel."""
    if isinstance(row, Document):
        for step in session.scalars(
            select(DocumentStep).where(DocumentStep.document_id == row.id, DocumentStep.status == "open")
        ):
            step.status, step.closed_at = "cancelled", now
        row.updated_at = now
    else:
        row.decided_at = now
    if isinstance(row, OrderCreditCheck):
        row.order.status = status
    row.status = status
    audit.record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject_type=kind(process).subject_type,
        subject_id=row.id,
        detail={"process": process, **detail},
    )
