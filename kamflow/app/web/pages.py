"""The workspace's pages: sign-in, the inbox, a task with its facts, history and answer form, a collection task
with its done form, a customer's credit exposure. Thin: each page reads through the domain and the access policy
(the same as the CLI's) and renders."""

from __future__ import annotations

import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as Path_
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from flows.processes import PROCESSES, waits_of
from kamflow import access, approvals, clock, customers, inbox, links, org, reports, started, timeline
from kamflow.app import identity, ops, reads
from kamflow.app.runs import Answer, decide, withdraw
from kamflow.app.web.session import Me, Reading, check_csrf, me, page, refused
from kamflow.bounds import MAX_ID, parse_number
from kamflow.credit import limits, orders, solvency
from kamflow.credit import views as credit_views
from kamflow.db import unit_of_work
from kamflow.discounts import PROCESS as DISCOUNTS
from kamflow.discounts import views as discount_views
from kamflow.documents import answers as document_answers
from kamflow.documents import service as documents
from kamflow.documents import text as document_text
from kamflow.documents import views as document_views
from kamflow.errors import InvalidInput, KamflowError, NotFound, NotPermitted
from kamflow.i18n import _
from kamflow.models import ApprovalTask, Customer, Employee
from kamflow.people import tokens
from kamflow.review.tables import CollectionTask
from kamflow.review.views import task_views, title
from kamflow.settings import get_settings
from kamflow.views import View

RouteId = Annotated[int, Path_(ge=1, le=MAX_ID)]
"""A task's or subject's number in a page's address: what the database's keys hold (bounds.MAX_ID), else 422."""
CSRF_CHARS = 128

router = APIRouter(route_class=Reading)
assets = APIRouter()
"""What pages load, the same for every reader (no one's language to find)."""
Who = Annotated[Me, Depends(me)]


SHOWN: dict[str, Callable[[Session, int], View]] = {
    DISCOUNTS: discount_views.view,
    orders.PROCESS: credit_views.VIEWS[orders.PROCESS],
    limits.PROCESS: credit_views.VIEWS[limits.PROCESS],
    solvency.PROCESS: credit_views.VIEWS[solvency.PROCESS],
    documents.PROCESS: lambda session, subject_id: document_views.show(session, subject_id, on=clock.today()),
}
"""Each process's subject as `kamflow … show` shows it."""

HIDDEN_FACTS = {
    *("reasons", "task_id", "assignee", "decided_by", "flow_run_id", "steps", "waiting_for", "diff"),
    *("rules_version", "class_rules_version", "content_hash"),
}


@assets.get("/style.css", include_in_schema=False)
def style() -> FileResponse:
    return FileResponse(Path(__file__).with_name("templates") / "style.css", media_type="text/css")


router.include_router(assets)


@router.get("/signin")
def signin_page(request: Request) -> Response:
    with unit_of_work() as session:
        people = (
            session.execute(
                select(Employee.login, Employee.full_name, Employee.position)
                .where(Employee.active)
                .order_by(Employee.full_name)
            ).all()
            if get_settings().auth == "demo"
            else []
        )
    return page(request, "signin.html", me=None, people=people, message="")


@router.post("/signin")
def signin_post(
    request: Request,
    csrf: Annotated[str, Form(max_length=CSRF_CHARS)] = "",
    login: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    check_csrf(request, csrf)
    settings = get_settings()
    kept: dict[str, str] = {}
    try:
        if settings.auth == "demo":
            with unit_of_work() as session:
                if session.scalar(select(Employee).where(Employee.login == login, Employee.active)) is None:
                    raise NotPermitted(_("no active person {login}").format(login=repr(login)), field="login")
            kept["login"] = login
        else:
            kept["token"] = identity.issue(login, password, settings=settings).token
    except NotPermitted as refused:
        return page(request, "signin.html", status_code=403, me=None, people=[], message=refused.message)
    then = request.session.get("next")  # where a mail link was going
    request.session.clear()  # a new session: a new form token
    request.session.update(kept)
    return RedirectResponse(then if isinstance(then, str) and then.startswith("/tasks/") else "/", status_code=303)


@router.post("/signout")
def signout(request: Request, csrf: Annotated[str, Form(max_length=CSRF_CHARS)] = "") -> Response:
    check_csrf(request, csrf)
    token = request.session.get("token")
    if isinstance(token, str):
        with unit_of_work() as session:
            tokens.revoke(session, token, now=clock.now())
    request.session.clear()
    return RedirectResponse("/signin", status_code=303)


@router.get("/")
def inbox_page(
    request: Request,
    who: Who,
    process: Annotated[str, Query(max_length=50)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    overdue: bool = False,
    sort: inbox.Sort = "due",
) -> Response:
    with unit_of_work() as session:
        shown = inbox.inbox(
            session,
            org.employee(session, who.login),
            on=clock.today(),
            now=clock.now(),
            process=process or None,
            search=q,
            overdue_only=overdue,
            sort=sort,
        )
    filters = {"process": process, "q": q, "overdue": overdue, "sort": sort}
    processes = [*(name for name, p in PROCESSES.items() if p.waits is not None), inbox.COLLECTION]
    return page(request, "inbox.html", me=who, lines=shown.lines, filters=filters, processes=processes)


def _form(session: Session, task: ApprovalTask, who: Me) -> tuple[list[str], str | None]:
    """The answers `who` may give on the task now (none unless it waits for them), and whether they write a
    document's text: "correct" (an approver who may correct it), "revise" (its author), or None."""
    if task.status != "pending" or task.requester_id == who.id:
        return [], None
    if approvals.assignee(session, task, on=clock.today()).id != who.id:
        return [], None
    if task.process != documents.PROCESS:
        return list(typing.get_args(waits_of(task).answer.model_fields["action"].annotation)), None
    step = documents.step_of(session, task)
    if step.kind == "revise":
        return ["revise"], "revise"
    stage = documents.chain_of(step.document).stages[step.stage_index]
    correct = "correct" if step.kind in document_answers.SIGNED and stage.may_correct else None
    return list(document_answers.ACTIONS[step.kind]), correct


def _unchanged(task_id: int, content: str) -> bool:
    """Whether a document's text comes back as it is (approved without a correction)."""
    with unit_of_work() as session:
        task = approvals.get(session, task_id)
        if task.process != documents.PROCESS:
            return False
        current = documents.version(session, documents.get(session, task.subject_id)).content
        return document_text.normalise(content) == document_text.normalise(current)


def _task_page(request: Request, who: Me, task_id: int, *, status_code: int = 200, **outcome: Any) -> Response:
    with unit_of_work() as session:
        task = approvals.get(session, task_id)
        reads.see_task(session, org.employee(session, who.login), task)
        view = SHOWN[task.process](session, task.subject_id)
        shown = view.model_dump(mode="json")
        subject = session.get(started.kind(task.process).table, task.subject_id)
        decision = getattr(subject, "decision", None)  # the rules' decision (a document has none)
        facts = {k: v for k, v in shown.items() if k not in HIDDEN_FACTS and not isinstance(v, dict | list)}
        if isinstance(decision, dict):  # the facts the rules decided on, as they were then
            facts |= {k: v for k, v in decision.get("facts", {}).items() if k not in facts}
        text = None
        if task.process == documents.PROCESS:
            text = documents.version(session, documents.get(session, task.subject_id)).content
        actions, text_field = _form(session, task, who)
        context = {
            "task": task,
            "view": view,
            "facts": facts,
            "reasons": shown.get("reasons", []),
            "history": timeline.timeline(session, process=task.process, subject_id=task.subject_id),
            "requester": session.get_one(Employee, task.requester_id),
            "actions": actions,
            "text_field": text_field,
            "fields": set(waits_of(task).answer.model_fields),
            "document_text": text,
            "diff": shown.get("diff") or "",
        }
        return page(request, "task.html", status_code=status_code, me=who, **context, **outcome)


@router.get("/tasks/{task_id}")
def task_page(request: Request, who: Who, task_id: RouteId) -> Response:
    try:
        return _task_page(request, who, task_id)
    except NotPermitted as error:
        return refused(request, error, who)
    except NotFound as error:
        return page(request, "refused.html", status_code=404, me=who, message=error.message)


@router.post("/tasks/{task_id}")
def answer_task(
    request: Request,
    who: Who,
    task_id: RouteId,
    csrf: Annotated[str, Form(max_length=CSRF_CHARS)] = "",
    action: Annotated[str, Form(max_length=40)] = "",
    discount_pct: Annotated[str, Form(max_length=40)] = "",
    amount: Annotated[str, Form(max_length=40)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
    content: Annotated[str | None, Form(max_length=400_000)] = None,
) -> Response:
    """Answer the task as the signed-in person: the decision is recorded before the page answers; a refusal is
    shown as refused, on the task's page."""
    check_csrf(request, csrf)
    typed = {"discount_pct": discount_pct, "amount": amount}
    try:
        if content is not None and (not content.strip() or _unchanged(task_id, content)):
            content = None
        numbers = {
            name: reports.plain(parse_number(text, field=name)) for name, text in typed.items() if text.strip()
        }
        decided = decide(
            task_id,
            login=who.login,
            answer=Answer(action=action, comment=comment, content=content, **numbers),
        )
    except NotPermitted as error:
        access.record_refusal(error)
        return _shown_refused(request, who, task_id, error.message, 403)
    except KamflowError as error:
        return _shown_refused(request, who, task_id, error.message, 400)
    except ValidationError as error:
        return _shown_refused(request, who, task_id, ops.invalid(error).message, 400)
    return _task_page(request, who, task_id, decided=decided)


def _shown_refused(request: Request, who: Me, task_id: int, message: str, status_code: int) -> Response:
    try:
        return _task_page(request, who, task_id, status_code=status_code, refusal=message)
    except NotPermitted as error:
        return refused(request, error, who)


def _collection_page(
    request: Request, who: Who, task_id: int, *, status_code: int = 200, **outcome: Any
) -> Response:
    """A collection task as `kamflow collection tasks` shows it, for whoever may see its customer (audited), with
    the done form for whoever acts for its assignee today."""
    try:
        with unit_of_work() as session:
            task = session.get(CollectionTask, task_id)
            if task is None:
                raise NotFound(_("no collection task {task}").format(task=task_id), field="task")
            client = session.get_one(Customer, task.customer_id)
            reader = org.employee(session, who.login)
            access.see_customer(session, reader, client, what=f"collection task {task_id}", now=clock.now())
            assignee = session.get_one(Employee, task.assignee_id)
            acts = org.acting_for(session, assignee, on=clock.today()).id == who.id
            context = {
                "task": task_views(session, [(task, client.code)])[0],
                "title": title(task, client.code),
                "name": client.name,
                "assignee": assignee,
                "opened": task.created_at,
                "may_complete": task.status == "open" and acts,
            }
    except NotPermitted as error:
        return refused(request, error, who)
    except NotFound as error:
        return page(request, "refused.html", status_code=404, me=who, message=error.message)
    return page(request, "collection.html", status_code=status_code, me=who, **context, **outcome)


@router.get("/collection/{task_id}")
def collection_page(request: Request, who: Who, task_id: RouteId) -> Response:
    return _collection_page(request, who, task_id)


@router.post("/collection/{task_id}")
def collection_done(
    request: Request,
    who: Who,
    task_id: RouteId,
    csrf: Annotated[str, Form(max_length=CSRF_CHARS)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Mark the collection task carried out, as `kamflow collection done` does (the same operation); a refusal is
    shown as refused, on the task's page."""
    check_csrf(request, csrf)
    try:
        acting = identity.prove(who.login, token=request.session.get("token"))
        done = ops.perform("collection done", acting, {"task_id": task_id, "note": note})
    except NotPermitted as error:
        access.record_refusal(error)
        return _collection_page(request, who, task_id, status_code=403, refusal=error.message)
    except KamflowError as error:
        return _collection_page(request, who, task_id, status_code=400, refusal=error.message)
    return _collection_page(request, who, task_id, done=done)


@router.get("/customers/{code}")
def customer_page(request: Request, who: Who, code: Annotated[str, Path_(max_length=20)]) -> Response:
    try:
        with unit_of_work() as session:
            client = customers.by_code(session, code)
            reader = org.employee(session, who.login)
            access.see_customer(session, reader, client, what="exposure and credit review", now=clock.now())
            found = reads.customer_view(session, client)
            return page(
                request, "customer.html", me=who, view=found.exposure, reviewed=found.reviewed, tasks=found.tasks
            )
    except NotPermitted as error:
        return refused(request, error, who)
    except (NotFound, InvalidInput) as error:
        return page(request, "refused.html", status_code=404, me=who, message=error.message)


@router.get("/links/{token}")
def open_link(request: Request, token: Annotated[str, Path_(max_length=1000)]) -> Response:
    """A signed link from a mail: it opens its task for the person it was sent to (in the demo mode it signs them
    in; under required sign-in they sign in as that person first). A link whose task has moved on, or that is too
    old, is dead (410); a link that was changed is refused (403). Both say why."""
    settings = get_settings()
    try:
        with unit_of_work() as session:
            task, login = links.open_link(session, token, secret=settings.approval_secret)
            task_id = task.id
    except NotPermitted as error:
        access.record_refusal(error)
        status_code = 403 if error.actor is None else 410
        return page(request, "refused.html", status_code=status_code, me=None, message=error.message)
    if settings.auth == "demo":
        request.session.clear()
        request.session["login"] = login
        return RedirectResponse(f"/tasks/{task_id}", status_code=303)
    request.session["next"] = f"/tasks/{task_id}"  # where sign-in goes on to (me() redirects to it if need be)
    if request.session.get("token") is None or me(request).login != login:
        return page(
            request,
            "signin.html",
            me=None,
            people=[],
            message=_("sign in as {login} to open this task").format(login=login),
        )
    del request.session["next"]
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.get("/requests")
def requests_page(request: Request, who: Who) -> Response:
    with unit_of_work() as session:
        mine = started.started_by(session, who.login)
    return page(request, "requests.html", me=who, requests=mine)


@router.get("/requests/{process}/{subject_id}")
def request_page(
    request: Request, who: Who, process: Annotated[str, Path_(max_length=50)], subject_id: RouteId
) -> Response:
    """One thing a person started (or may see): its whole history."""
    try:
        with unit_of_work() as session:
            started.kind(process)
            reads.see_subject(session, org.employee(session, who.login), process, subject_id, what="history")
            steps = timeline.timeline(session, process=process, subject_id=subject_id)
    except NotPermitted as error:
        return refused(request, error, who)
    except NotFound as error:
        return page(request, "refused.html", status_code=404, me=who, message=error.message)
    return page(request, "history.html", me=who, process=process, subject_id=subject_id, history=steps)


@router.post("/requests/{process}/{subject_id}/withdraw")
def withdraw_request(
    request: Request,
    who: Who,
    process: Annotated[str, Path_(max_length=50)],
    subject_id: RouteId,
    csrf: Annotated[str, Form(max_length=CSRF_CHARS)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Take back a request that still waits: its task closes and its run ends before the page answers."""
    check_csrf(request, csrf)
    outcome: dict[str, Any] = {}
    status_code = 200
    try:
        outcome["withdrawn"] = withdraw(process, subject_id, login=who.login, reason=reason)
    except NotPermitted as error:
        access.record_refusal(error)
        outcome["refusal"], status_code = error.message, 403
    except KamflowError as error:
        outcome["refusal"], status_code = error.message, 400
    with unit_of_work() as session:
        mine = started.started_by(session, who.login)
    return page(request, "requests.html", status_code=status_code, me=who, requests=mine, **outcome)
