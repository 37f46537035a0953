"""The operations people do every day — an approver's tasks and answers, a KAM's requests, orders and reads — each
once, for the CLI in process and for kamflow's server (`kamflow.app.ops`). The acting person comes proven; every
read goes through the access policy (`kamflow.app.reads`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo
from sqlalchemy.orm import Session

from kamflow import clock, org, reports
from kamflow.app import reads
from kamflow.app.ops import op
from kamflow.app.runs import Answer
from kamflow.bounds import parse_date, parse_number
from kamflow.credit import standing
from kamflow.delegation import DelegationIn
from kamflow.i18n import N_, _
from kamflow.people.signin import Acting
from kamflow.review.views import hold_view
from kamflow.types import CustomerCode, Id, Note
from kamflow.views import View


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _written(text: str, info: ValidationInfo) -> str:
    """A number as a person types it in their language ("12,5" or "12.5"; "1.234" refused as ambiguous where the
    reader's language groups thousands with a dot) as the domain reads it, with the decimals typed: 12.5."""
    return str(parse_number(text, field=info.field_name or "number"))


Written = Annotated[str, AfterValidator(_written)]
"""A number typed by a person."""


class Nothing(Params):
    """An operation that takes no params."""


class TaskLine(View):
    """A pending approval task as `kamflow tasks` lists it for the acting user."""

    task_id: int
    process: str
    subject_id: int
    title: str
    owner: str
    due_at: str
    level: int
    approval_code: str
    delegated: bool = Field(description="The acting user holds it for its owner (a delegation).")

    def text(self) -> str:
        when = reports.when(dt.datetime.fromisoformat(self.due_at))
        due = _("due {when}, for {owner}") if self.delegated else _("due {when}")
        return _("task {task}: {title} ({due}) — approval code {code}").format(
            task=self.task_id,
            title=self.title,
            due=due.format(when=when, owner=self.owner),
            code=self.approval_code,
        )


@op("tasks", Nothing, empty=N_("no pending tasks"))
def tasks(who: Acting, _: Nothing) -> list[TaskLine]:
    """The acting person's pending approval tasks, with the code each answer carries (shown only to them)."""
    from kamflow import approvals
    from kamflow.db import unit_of_work
    from kamflow.models import Employee
    from kamflow.settings import get_settings

    with unit_of_work() as session:
        me = session.get_one(Employee, who.person.id)
        secret = get_settings().approval_secret
        return [
            TaskLine(
                task_id=t.id,
                process=t.process,
                subject_id=t.subject_id,
                title=t.title,
                owner=t.owner.login,
                due_at=t.due_at.isoformat(),
                level=t.level,
                approval_code=approvals.approval_code(t, login=me.login, secret=secret),
                delegated=t.owner_id != me.id,
            )
            for t in approvals.pending_for(session, me, on=clock.today())
        ]


class DecideParams(Answer):
    model_config = ConfigDict(extra="forbid")

    task: Id
    discount_pct: Written | None = None
    amount: Written | None = None


@op("decide", DecideParams)
def decide(who: Acting, given: DecideParams) -> View:
    """Answer a waiting task: resumes its flow run (the same path as the UI form)."""
    from kamflow.app import runs

    answer = Answer.model_validate(given.model_dump(exclude={"task"}))
    return runs.decide(given.task, login=who.login, answer=answer)


class DiscountAsk(Params):
    customer: CustomerCode
    column: str
    discount_pct: Written
    order_total: Written
    note: str = ""


@op("discount request", DiscountAsk)
def discount_request(who: Acting, given: DiscountAsk) -> View:
    """Ask for a discount: the rules approve, reject, or escalate it."""
    from kamflow.app.runs import start
    from kamflow.discounts import PROCESS
    from kamflow.discounts.service import DiscountRequestIn

    asked = given.model_dump(exclude={"column"}) | {"price_column": given.column, "requester": who.login}
    return start(PROCESS, DiscountRequestIn.model_validate(asked))


class DiscountId(Params):
    request_id: Id


@op("discount show", DiscountId)
def discount_show(who: Acting, given: DiscountId) -> View:
    """A discount request, its decision and reasons, to those who may see its customer."""
    from kamflow.db import unit_of_work
    from kamflow.discounts import service, views

    with unit_of_work() as session:
        code = service.get(session, given.request_id).customer.code
    what = f"discount request {given.request_id}"
    return reads.of_customer(who, code, what, lambda session, _customer: views.view(session, given.request_id))


class OrderAsk(Params):
    customer: CustomerCode
    amount: Written
    number: str | None = None


@op("order submit", OrderAsk)
def order_submit(who: Acting, given: OrderAsk) -> View:
    """Enter an order through the order credit check."""
    from kamflow.app.runs import start
    from kamflow.credit.orders import PROCESS, OrderIn

    return start(PROCESS, OrderIn.model_validate(given.model_dump() | {"requester": who.login}))


class OrderId(Params):
    check_id: Id


@op("order show", OrderId)
def order_show(who: Acting, given: OrderId) -> View:
    """An order's credit check and decision, to those who may see its customer."""
    from kamflow.credit import orders
    from kamflow.db import unit_of_work

    with unit_of_work() as session:
        code = orders.get(session, given.check_id).customer.code
    what = f"order credit check {given.check_id}"
    return reads.of_customer(
        who, code, what, lambda session, _customer: orders.view(session, orders.get(session, given.check_id))
    )


class ExposureAsk(Params):
    customer: CustomerCode
    as_of: str | None = None


@op("credit exposure", ExposureAsk)
def credit_exposure(who: Acting, given: ExposureAsk) -> View:
    """A customer's exposure by category against the limits in force, to those who may see the customer."""
    on = clock.today() if given.as_of is None else parse_date(given.as_of, "as_of")
    return reads.of_customer(
        who,
        given.customer,
        "exposure",
        lambda session, client: standing.exposure_view(standing.standing(session, client, on=on)),
    )


class CustomerAsk(Params):
    customer: CustomerCode


@op("customer", CustomerAsk)
def customer(who: Acting, given: CustomerAsk) -> View:
    """A customer's credit at a glance, to those who may see the customer."""
    return reads.of_customer(who, given.customer, "exposure and credit review", reads.customer_view)


class DocumentId(Params):
    document_id: Id


@op("doc show", DocumentId)
def doc_show(who: Acting, given: DocumentId) -> View:
    """A document: status, version and hash, the current round's steps and who it waits for."""
    from kamflow.documents import views

    return reads.of_document(who, given.document_id, lambda s: views.show(s, given.document_id, on=clock.today()))


@op("doc acks", DocumentId)
def doc_acks(who: Acting, given: DocumentId) -> View:
    """The acknowledgment journal of a document's effective version."""
    from kamflow.documents import views

    return reads.of_document(who, given.document_id, lambda s: views.acks(s, given.document_id))


@op("collection tasks", Nothing, empty=N_("no open collection tasks"))
def collection_tasks(who: Acting, _: Nothing) -> list[View]:
    """The acting person's open collection tasks (and those of people they stand in for), soonest first."""
    from kamflow.db import unit_of_work
    from kamflow.models import Employee
    from kamflow.review import collection
    from kamflow.review.views import task_views

    with unit_of_work() as session:
        me = session.get_one(Employee, who.person.id)
        return list(task_views(session, collection.tasks_for(session, me, on=clock.today())))


@op("delegate", DelegationIn)
def delegate(who: Acting, given: DelegationIn) -> View:
    """Name a delegate for an absence (clause 1.4): recorded and audited."""
    from flows import labels
    from kamflow import approvals, delegation
    from kamflow.app.serve import api_ready
    from kamflow.db import unit_of_work
    from kamflow.settings import get_settings

    now = clock.now()
    with unit_of_work() as session:
        view = delegation.record(session, given, acting=who.login, now=now)
        absent = org.employee(session, given.from_)
        waiting = [task.flow_run_id for task in approvals.pending_for(session, absent, on=clock.today(now))]
    if given.from_date <= clock.today(now) <= given.to_date and api_ready(get_settings().api_url):
        labels.retag(waiting)  # the ops console: their waiting runs now wait for the delegate
    return view


class SolvencyAsk(Params):
    customer: CustomerCode
    purpose: str = "request"
    order_amount: Written = "0"


@op("credit check", SolvencyAsk)
def credit_check(who: Acting, given: SolvencyAsk) -> View:
    """A customer's solvency check: ratios, Altman score, payment history → risk class and decision."""
    from kamflow.app.runs import start
    from kamflow.credit.solvency import PROCESS, SolvencyCheckIn

    return start(PROCESS, SolvencyCheckIn.model_validate(given.model_dump() | {"requester": who.login}))


class LimitAsk(Params):
    customer: CustomerCode
    amount: Written | None = None
    clear: bool = False
    until: str | None = None
    category: str = "total"
    confirm: bool = False
    reason: str = ""


@op("credit limit set", LimitAsk)
def credit_limit_set(who: Acting, given: LimitAsk) -> View:
    """A new credit limit, or none (`clear`): at once, or once approved."""
    from kamflow.app.runs import start
    from kamflow.credit.limits import PROCESS, LimitChangeIn
    from kamflow.errors import InvalidInput

    if (given.amount is None) != given.clear:
        raise InvalidInput(_("give either the new limit or --none (no limit)"), field="amount")
    asked = given.model_dump(exclude={"clear"}) | {"requester": who.login}
    return start(PROCESS, LimitChangeIn.model_validate(asked))


class DocumentAsk(Params):
    doc_type: str
    title: str | None = None
    content: str
    fields: dict[str, str] = Field(default_factory=dict)


@op("doc submit", DocumentAsk)
def doc_submit(who: Acting, given: DocumentAsk) -> View:
    """A draft submitted into its type's approval chain."""
    from kamflow.app.runs import start
    from kamflow.documents.service import PROCESS
    from kamflow.documents.submission import DocumentIn

    return start(PROCESS, DocumentIn.model_validate(given.model_dump() | {"author": who.login}))


class Revision(Params):
    document_id: Id
    content: str
    comment: str = ""


@op("doc revise", Revision)
def doc_revise(who: Acting, given: Revision) -> View:
    """The author's new version of a returned document; the chain asks everyone again."""
    from kamflow.app.documents import revise

    return revise(given.document_id, login=who.login, content=given.content, comment=given.comment)


class Sheet(View):
    """A document's approval sheet (Markdown)."""

    document_id: int
    markdown: str

    def text(self) -> str:
        return self.markdown


@op("doc sheet", DocumentId)
def doc_sheet(who: Acting, given: DocumentId) -> View:
    """The approval sheet: APPROVED and AGREED blocks, each signature with its date and version hash."""
    from kamflow.documents import views

    sheet = reads.of_document(who, given.document_id, lambda s: views.sheet_markdown(s, given.document_id))
    return Sheet(document_id=given.document_id, markdown=sheet)


class CollectionDoneIn(Params):
    """`kamflow collection done`'s input."""

    task_id: Id
    note: Note = Field(default="", description="What was done (audited).")


@op("collection done", CollectionDoneIn)
def collection_done(who: Acting, given: CollectionDoneIn) -> View:
    """A collection task carried out today; a dunning level then counts as carried out."""
    from kamflow.db import unit_of_work
    from kamflow.models import Customer
    from kamflow.review import collection
    from kamflow.review.views import task_views

    with unit_of_work() as session:
        task = collection.complete_task(
            session, task_id=given.task_id, login=who.login, note=given.note, on=clock.today(), now=clock.now()
        )
        [done] = task_views(session, [(task, session.get_one(Customer, task.customer_id).code)])
        return done


class PromiseAsk(Params):
    customer: CustomerCode
    amount: Written
    date: str


@op("collection promise", PromiseAsk)
def collection_promise(who: Acting, given: PromiseAsk) -> View:
    """A customer's promise to pay: the next reviews hold the dunning level until the date."""
    from kamflow.db import unit_of_work
    from kamflow.review import collection
    from kamflow.review.views import promise_view

    promise = collection.PromiseIn.model_validate(
        {"customer": given.customer, "amount": given.amount, "promised_for": given.date, "recorded_by": who.login}
    )
    with unit_of_work() as session:
        row = collection.record_promise(session, promise, on=clock.today(), now=clock.now())
        return promise_view(row, promise.customer)


class HoldAsk(Params):
    invoice: str
    reason: str = "disputed"
    release: bool = False


@op("collection hold", HoldAsk)
def collection_hold(who: Acting, given: HoldAsk) -> View:
    """A disputed invoice put on hold (no dunning for it), or its hold released."""
    from kamflow.db import unit_of_work
    from kamflow.review import collection

    hold = collection.HoldIn.model_validate(given.model_dump() | {"placed_by": who.login})
    with unit_of_work() as session:
        return hold_view(collection.hold_invoice(session, hold, on=clock.today(), now=clock.now()), hold.invoice)


@op("requests", Nothing, empty=N_("nothing started"))
def requests(who: Acting, _: Nothing) -> list[View]:
    """Everything the acting person started, newest first: its status, and who it waits for or how it was
    decided."""
    from kamflow.db import unit_of_work
    from kamflow.started import started_by

    with unit_of_work() as session:
        return list(started_by(session, who.login))


class SubjectOf(Params):
    process: str
    subject_id: Id


@op("history", SubjectOf, empty=N_("no history"))
def history(who: Acting, given: SubjectOf) -> list[View]:
    """A subject's history, oldest first (to those who may see its customer or document)."""
    from kamflow.timeline import timeline

    def read(session: Session) -> list[View]:
        return list(timeline(session, process=given.process, subject_id=given.subject_id))

    return reads.of_subject(who, given.process, given.subject_id, read)


class Withdrawal(SubjectOf):
    reason: Note = ""


@op("withdraw", Withdrawal)
def withdraw(who: Acting, given: Withdrawal) -> View:
    """Take back a request that still waits for a person (its requester, or whoever stands in for them)."""
    from kamflow.app.runs import withdraw as take_back

    return take_back(given.process, given.subject_id, login=who.login, reason=given.reason)
