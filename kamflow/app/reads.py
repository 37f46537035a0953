"""What people's commands read, through the access policy: the reader is the person the command acts as (signed
in, or named in the demo mode), proven once by the command and given here; each read is checked by
`kamflow.access` in the transaction that reads, and a read of a customer's credit data is audited there."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import access, clock, customers, started
from kamflow.app.identity import UNOWNED, acting, keeper
from kamflow.credit import standing
from kamflow.credit.tables import CreditCheck, CreditLimitChange, OrderCreditCheck
from kamflow.db import unit_of_work
from kamflow.discounts.tables import DiscountRequest
from kamflow.documents import service as documents
from kamflow.documents.tables import Document
from kamflow.i18n import _
from kamflow.models import ApprovalTask, AuditEvent, Customer, Employee
from kamflow.people.signin import Acting
from kamflow.review.tables import CollectionTask
from kamflow.review.views import OpenTask, Reviewed, open_tasks, reviewed
from kamflow.views import View

T = TypeVar("T")


def _reader(session: Session, who: Acting) -> Employee:
    """The reader as this session knows them (the access policy compares people of one session)."""
    return session.get_one(Employee, who.person.id)


def of_customer(who: Acting, code: str, what: str, read: Callable[[Session, Customer], T]) -> T:
    """`read` the customer's data if the reader may see it (audited: who, when, what); NotPermitted if not."""
    with unit_of_work() as session:
        client = customers.by_code(session, code)
        access.see_customer(session, _reader(session, who), client, what=what, now=clock.now())
        return read(session, client)


class CustomerView(View):
    """A customer's credit at a glance: the exposure against the limits in force, what the latest completed nightly
    review found, and the open collection tasks (the workspace's customer page)."""

    exposure: standing.ExposureView
    reviewed: Reviewed | None
    tasks: list[OpenTask]

    def text(self) -> str:
        found = (
            self.reviewed.text()
            if self.reviewed
            else _("No completed credit review has reviewed this customer yet.")
        )
        tasks = [task.text() for task in self.tasks] or [_("None open.")]
        return "\n".join(
            [self.exposure.text(), "", _("Latest credit review"), found, "", _("Open collection tasks"), *tasks]
        )


def customer_view(session: Session, client: Customer) -> CustomerView:
    exposure = standing.exposure_view(standing.standing(session, client, on=clock.today()))
    return CustomerView(exposure=exposure, reviewed=reviewed(session, client), tasks=open_tasks(session, client))


def of_document(who: Acting, document_id: int, read: Callable[[Session], T]) -> T:
    """`read` the document if the reader may see it; NotPermitted if not."""
    with unit_of_work() as session:
        document = documents.get(session, document_id)
        access.see_document(
            session,
            _reader(session, who),
            document_id=document.id,
            author_id=document.author_id,
            process=documents.PROCESS,
        )
        return read(session)


Subject = DiscountRequest | OrderCreditCheck | CreditCheck | CreditLimitChange | CollectionTask
SUBJECTS: dict[str, type[Subject]] = {
    "discount_request": DiscountRequest,
    "order_credit_check": OrderCreditCheck,
    "credit_check": CreditCheck,
    "credit_limit_change": CreditLimitChange,
    "collection_task": CollectionTask,
}
"""The audited subjects that belong to a customer, by the audit event's subject type."""


def of_decision(as_login: str | None, event_id: int, read: Callable[[Session], T]) -> T:
    """`read` a stored decision if the reader may see its customer (audited); one about no customer, an admin's
    (anyone's while no admin can sign in yet, so the reader is proven only when that is asked)."""
    with unit_of_work() as session:
        event = session.get(AuditEvent, event_id)
        table = SUBJECTS.get(event.subject_type) if event is not None else None
        owner = None
        if event is not None and table is not None:
            owner = session.scalar(select(table.customer_id).where(table.id == event.subject_id))
        code = None if owner is None else session.get_one(Customer, owner).code
    if code is None:
        keeper(as_login, doing=UNOWNED)
        with unit_of_work() as session:
            return read(session)
    return of_customer(acting(as_login), code, f"decision {event_id}", lambda session, _customer: read(session))


def see_subject(session: Session, reader: Employee, process: str, subject_id: int, *, what: str) -> None:
    """Let `reader` see a subject of a process and its history: whoever may see its customer (audited) or its
    document; NotPermitted if not, NotFound for no such process or subject."""
    k = started.kind(process)
    row = cast(started.Subject | None, session.get(k.table, subject_id))
    if row is None:
        raise started.no_subject(k, subject_id)
    if isinstance(row, Document):
        access.see_document(
            session, reader, document_id=row.id, author_id=row.author_id, process=documents.PROCESS
        )
        return
    access.see_customer(session, reader, session.get_one(Customer, row.customer_id), what=what, now=clock.now())


def see_task(session: Session, reader: Employee, task: ApprovalTask) -> None:
    """Let `reader` open a task: whoever may see its subject."""
    see_subject(session, reader, task.process, task.subject_id, what=f"task {task.id}")


def of_subject(who: Acting, process: str, subject_id: int, read: Callable[[Session], T]) -> T:
    """`read` something about a process's subject (its history) if the reader may see it; NotPermitted if not."""
    with unit_of_work() as session:
        what = f"history of {process} {subject_id}"
        see_subject(session, _reader(session, who), process, subject_id, what=what)
        return read(session)
