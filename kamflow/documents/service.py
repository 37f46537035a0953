"""The document approval chain (DOMAIN.md, "Documents and how they are approved").

A draft is submitted with its type; the type's chain opens stage by stage, every step of a stage a set of
approval tasks at once. Answers: approve (agree, approve or acknowledge, by the step), return (back to the
author, who revises: a new version and a new round from the first stage — agreements given to the old
version are not carried over), reject (the chain ends, what waits is cancelled). A stage's approver may
correct the text: that is a new version, the one they sign. Everything here runs inside the caller's
transaction; the flow calls `submit`, then `apply` for each decided task, and the sweep calls `sweep`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from kamflow import approvals, audit, clock, customers, org
from kamflow.documents import text
from kamflow.documents.chains import Chain, Chains, Step, Timing, load, load_policy
from kamflow.documents.tables import (
    Acknowledgment,
    Document,
    DocumentStep,
    DocumentStepTask,
    DocumentVersion,
    Signature,
)
from kamflow.errors import InvalidInput, NotFound, NotPermitted
from kamflow.models import ApprovalTask, Employee
from kamflow.policy import versions
from kamflow.settings import get_settings
from kamflow.types import Login

PROCESS = "document-approval"
ACTIONS: dict[str, tuple[str, ...]] = {
    "agree": ("approve", "return", "reject"),
    "approve": ("approve", "return", "reject"),
    "acknowledge": ("approve",),
    "revise": ("revise",),
}
SIGNED = {"agree": "agreed", "approve": "approved"}

DEMO_JOB_DESCRIPTION = Path(__file__).with_name("demo") / "job_description_kam.md"

MAX_TEXT = 200_000


class DocumentIn(BaseModel):
    """A draft submitted into its chain."""

    model_config = ConfigDict(extra="forbid")

    doc_type: str = Field(min_length=1, max_length=40, description="Document type, e.g. job_description.")
    title: str | None = Field(default=None, max_length=300, description="Default: the text's first heading.")
    content: str = Field(min_length=1, max_length=MAX_TEXT, description="The draft, Markdown with sections.")
    author: Login = Field(description="Login of the author.")
    fields: dict[str, str] = Field(default_factory=dict, description="The fields the type asks for.")


class DocumentDecision(BaseModel):
    """The document-specific part of an answer (what the task's payload holds)."""

    action: Literal["approve", "return", "reject", "revise"]
    comment: str = ""
    content: str | None = Field(default=None, max_length=MAX_TEXT)


def get(session: Session, document_id: int) -> Document:
    found = session.get(Document, document_id)
    if found is None:
        raise NotFound(f"no document {document_id}", field="document")
    return found


def chain_of(document: Document) -> Chain:
    return Chain.model_validate(document.chain)


def version(session: Session, document: Document, number: int | None = None) -> DocumentVersion:
    return session.scalars(
        select(DocumentVersion).where(
            DocumentVersion.document_id == document.id, DocumentVersion.number == (number or document.version)
        )
    ).one()


def _active(session: Session, *conditions: ColumnElement[bool]) -> list[Employee]:
    return list(
        session.scalars(select(Employee).where(Employee.active.is_(True), *conditions).order_by(Employee.id))
    )


def department_head(session: Session, department: str) -> Employee | None:
    """The top of a department: its member whose superior works elsewhere (or who has none)."""
    members = _active(session, Employee.department == department)
    heads = [m for m in members if m.manager is None or m.manager.department != department]
    return heads[0] if heads else None


def people_for(
    session: Session, step: Step, *, kind: str, fields: dict[str, str], author: Employee
) -> list[Employee]:
    """Who acts on a step. The author never agrees or approves their own document: they are left out, and a
    step that would name only them goes to their superior."""
    who = step.who
    if who.role is not None:
        named = _active(session, Employee.role == who.role)
    elif who.position is not None:
        named = _active(session, Employee.position == who.position)
    elif who.superior is not None:
        named = [author.manager] if author.manager is not None else []
    elif who.department_head is not None:
        head = department_head(session, fields[who.department_head])
        named = [head] if head is not None else []
    else:
        named = _active(session, Employee.position == fields[str(who.position_holders)])
    others = [person for person in named if person.id != author.id]
    if others or kind == "acknowledge":
        return others
    if named and author.manager is not None:
        return [author.manager]
    who_else = "nobody but the author" if named else "nobody"
    raise InvalidInput(f"{who_else} can act on step {step.name!r}", field="type")


def _check_fields(session: Session, chain: Chain, given: dict[str, str]) -> None:
    for name in given:
        if name not in chain.fields:
            raise InvalidInput(f"a {chain.title.lower()} has no field {name!r}", field=name)
    for name, kind in chain.fields.items():
        value = given.get(name, "").strip()
        if not value:
            raise InvalidInput(f"a {chain.title.lower()} needs --field {name}=…", field=name)
        if kind == "department" and department_head(session, value) is None:
            raise InvalidInput(f"no department {value!r}", field=name)
        if kind == "position" and not _active(session, Employee.position == value):
            raise InvalidInput(f"nobody holds the position {value!r}", field=name)
        if kind == "customer":
            customers.by_code(session, value, field=name, missing=InvalidInput)


def check_text(chain: Chain, new: str, *, current: str | None = None) -> None:
    """A text the type accepts: every required section, and — for a new version — a real change."""
    missing = text.missing_sections(new, chain.required_sections)
    if missing:
        raise InvalidInput(f"a {chain.title.lower()} needs the sections: {', '.join(missing)}", field="file")
    if current is not None and text.content_hash(new) == text.content_hash(current):
        raise InvalidInput("the text is the same as the current version", field="file")


def validate(session: Session, document: DocumentIn, chains: Chains) -> tuple[Chain, Employee]:
    """Everything a submission must satisfy, read-only: type, sections, fields, someone to act on each step."""
    chain = chains.get(document.doc_type)
    author = org.employee(session, document.author)
    check_text(chain, document.content)
    _check_fields(session, chain, document.fields)
    for stage in chain.stages:
        for step in stage.steps:
            people = people_for(session, step, kind=stage.kind, fields=document.fields, author=author)
            if stage.kind != "acknowledge" and step.needed(len(people)) > len(people):
                raise InvalidInput(f"step {step.name!r} needs {step.quorum} of {len(people)} people", field="type")
    return chain, author


def submit(
    session: Session,
    *,
    document: DocumentIn,
    flow_run_id: str | None,
    now: dt.datetime,
    chains: Chains | None = None,
) -> Document:
    """Store a draft as version 1 and open the chain's first stage. One document per flow run: a re-run of the
    same run finds it as it is."""
    if flow_run_id is not None:
        existing = session.scalar(select(Document).where(Document.flow_run_id == flow_run_id))
        if existing is not None:
            return existing
    chains = chains or load()
    chain, author = validate(session, document, chains)
    row = Document(
        doc_type=document.doc_type,
        title=document.title or text.first_heading(document.content) or chain.title,
        author_id=author.id,
        fields=document.fields,
        chain=chain.model_dump(mode="json"),
        status="in_review",
        round=1,
        version=0,
        effective_version=None,
        flow_run_id=flow_run_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    _new_version(session, row, document.content, by=author, reason="submitted", now=now)
    used = versions(chains, load_policy())  # the chain, and the document policy that fills in what it leaves out
    _record(
        session, row, actor=author.login, action="document_submitted", now=now, type=row.doc_type, policies=used
    )
    _open_stage(session, row, 0, now=now)
    return row


def _record(
    session: Session, document: Document, *, actor: str, action: str, now: dt.datetime, **detail: object
) -> None:
    audit.record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject_type="document",
        subject_id=document.id,
        detail={"version": document.version, **detail},
    )


def _new_version(
    session: Session, document: Document, content: str, *, by: Employee, reason: str, now: dt.datetime
) -> DocumentVersion:
    document.version += 1
    row = DocumentVersion(
        document_id=document.id,
        number=document.version,
        content=text.normalise(content),
        content_hash=text.content_hash(content),
        made_by_id=by.id,
        reason=reason,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def changes(session: Session, document: Document, current: DocumentVersion) -> str:
    """The diff of a version against the one before it; empty for the first version."""
    if current.number == 1:
        return ""
    previous = version(session, document, current.number - 1)
    return text.diff(
        previous.content,
        current.content,
        old_label=f"version {previous.number}",
        new_label=f"version {current.number}",
    )


def _explanation(session: Session, document: Document, step: DocumentStep, note: str) -> str:
    current = version(session, document)
    lines = [
        f"**{chain_of(document).title}: {document.title}** — document {document.id}, version {current.number} "
        f"(`{current.content_hash[:12]}`), by {document.author.full_name}. Step **{step.stage} / {step.name}**.",
    ]
    if note:
        lines.append(note)
    if current.number > 1:
        diff = changes(session, document, current)
        lines.append(f"### Changes from version {current.number - 1}\n\n```diff\n{diff}\n```")
    lines.append(f"### Text\n\n{current.content}")
    return "\n\n".join(lines)


def _assign(
    session: Session,
    document: Document,
    step: DocumentStep,
    people: list[Employee],
    timing: Timing,
    *,
    requester: Employee,
    now: dt.datetime,
    note: str = "",
) -> None:
    """A task for each person on the step: one title, explanation and deadline for all of them."""
    if not people:
        return
    title = f"{step.kind.capitalize()}: {document.title} (v{document.version})"
    explanation = _explanation(session, document, step, note)
    due_at = text.add_business_days(now, timing.deadline_days, get_settings().tz)
    for person in people:
        task = approvals.add_task(
            session,
            process=PROCESS,
            subject_id=document.id,
            title=title,
            explanation=explanation,
            role=step.name,
            owner=person,
            requester=requester,
            flow_run_id=document.flow_run_id,
            now=now,
            due_at=due_at,
        )
        _link(session, task, step, timing, now=now)


def _link(session: Session, task: ApprovalTask, step: DocumentStep, timing: Timing, *, now: dt.datetime) -> None:
    every = timing.remind_every_days
    remind_at = text.add_business_days(now, every, get_settings().tz) if every else None
    session.add(DocumentStepTask(task_id=task.id, step_id=step.id, remind_at=remind_at, reminders=0))
    session.flush()


def _open_stage(session: Session, document: Document, index: int, *, now: dt.datetime) -> None:
    """Open every step of a stage at once; a stage with nobody to ask (acknowledgment) is done at once."""
    stage = chain_of(document).stages[index]
    for step in stage.steps:
        people = people_for(session, step, kind=stage.kind, fields=document.fields, author=document.author)
        row = DocumentStep(
            document_id=document.id,
            round=document.round,
            stage_index=index,
            stage=stage.name,
            name=step.name,
            kind=stage.kind,
            needed=min(step.needed(len(people)), len(people)),
            version=document.version,
            status="open" if people else "met",
            opened_at=now,
            closed_at=None if people else now,
        )
        session.add(row)
        session.flush()
        _assign(session, document, row, people, step, requester=document.author, now=now)
    _record(
        session, document, actor="kamflow", action="stage_opened", now=now, stage=stage.name, round=document.round
    )
    _next_if_done(session, document, index, now=now)


def round_steps(session: Session, document: Document, *, stage_index: int | None = None) -> list[DocumentStep]:
    """The steps of the document's current round (of one stage, without the author's revision, when given)."""
    query = select(DocumentStep).where(
        DocumentStep.document_id == document.id, DocumentStep.round == document.round
    )
    if stage_index is not None:
        query = query.where(DocumentStep.stage_index == stage_index, DocumentStep.kind != "revise")
    return list(session.scalars(query.order_by(DocumentStep.id)))


def _next_if_done(session: Session, document: Document, index: int, *, now: dt.datetime) -> None:
    """When every step of stage `index` has its quorum: the document is approved after the last reviewing
    stage, and the next stage, if any, opens."""
    if any(step.status != "met" for step in round_steps(session, document, stage_index=index)):
        return
    chain = chain_of(document)
    if index + 1 == chain.reviewing_stages():
        document.status = "approved"
        document.effective_version = document.version
        _record(session, document, actor="kamflow", action="document_effective", now=now)
    if index + 1 < len(chain.stages):
        _open_stage(session, document, index + 1, now=now)


def step_of(session: Session, task: ApprovalTask) -> DocumentStep:
    link = session.get(DocumentStepTask, task.id)
    if link is None:
        raise NotFound(f"task {task.id} is not a step of a document", field="task")
    return link.step


def steps_of(session: Session, tasks: list[ApprovalTask]) -> dict[int, DocumentStep]:
    """The step of each task that has one, by task id, in one query."""
    links = session.scalars(
        select(DocumentStepTask)
        .where(DocumentStepTask.task_id.in_([task.id for task in tasks]))
        .options(joinedload(DocumentStepTask.step))
    )
    return {link.task_id: link.step for link in links}


def _tasks(session: Session, step: DocumentStep) -> list[ApprovalTask]:
    return list(
        session.scalars(
            select(ApprovalTask)
            .join(DocumentStepTask, DocumentStepTask.task_id == ApprovalTask.id)
            .where(DocumentStepTask.step_id == step.id)
            .options(joinedload(ApprovalTask.owner))
            .order_by(ApprovalTask.id)
        )
    )


def _cancel_waiting(session: Session, document: Document, *, now: dt.datetime, reason: str) -> None:
    for task in approvals.pending(session, process=PROCESS, subject_id=document.id):
        approvals.cancel(session, task, now=now, reason=reason)
    for step in round_steps(session, document):
        if step.status == "open":
            step.status, step.closed_at = "cancelled", now


def check_for(session: Session, task: ApprovalTask) -> approvals.Check:
    """The business check on an answer to a document task (before anything is written)."""
    step = step_of(session, task)
    document = step.document
    chain = chain_of(document)
    kind = step.kind
    may_correct = kind in SIGNED and chain.stages[step.stage_index].may_correct
    current = version(session, document).content

    def check(_task: ApprovalTask, payload: dict[str, object]) -> None:
        answer = DocumentDecision.model_validate(payload)
        allowed = ACTIONS[kind]
        if answer.action not in allowed:
            raise InvalidInput(f"on a step to {kind}, answer {' | '.join(allowed)}", field="action")
        if answer.action in ("return", "reject") and not answer.comment.strip():
            raise InvalidInput(f"to {answer.action} a document, say why (--comment)", field="comment")
        if answer.content is None:
            if answer.action == "revise":
                raise InvalidInput("a revision needs the new text (--file)", field="file")
            return
        if answer.action == "revise" or (answer.action == "approve" and may_correct):
            check_text(chain, answer.content, current=current)
            return
        raise InvalidInput("only the approver may correct the text here; return it with a comment", field="file")

    return check


def apply(session: Session, task: ApprovalTask, now: dt.datetime) -> None:
    """Carry a decided task onto its document (in the transaction that decided it)."""
    step = step_of(session, task)
    document = step.document
    answer = DocumentDecision.model_validate(task.payload)
    actor = task.actor
    assert actor is not None
    if step.kind == "revise":  # the author's new version: a new round from the first stage
        assert answer.content is not None
        step.status, step.closed_at = "met", now
        _new_version(session, document, answer.content, by=actor, reason="revised", now=now)
        document.round += 1
        document.status = "in_review"
        _record(session, document, actor=actor.login, action="document_revised", now=now, comment=answer.comment)
        _open_stage(session, document, 0, now=now)
    elif answer.action in ("return", "reject"):
        _stopped(session, document, step, answer, actor=actor, now=now)
    else:
        _approved(session, document, step, task, answer, actor=actor, now=now)
    document.updated_at = now


def _approved(
    session: Session,
    document: Document,
    step: DocumentStep,
    task: ApprovalTask,
    answer: DocumentDecision,
    *,
    actor: Employee,
    now: dt.datetime,
) -> None:
    if step.kind == "acknowledge":
        assert document.effective_version is not None
        session.add(
            Acknowledgment(
                document_id=document.id,
                version=document.effective_version,
                content_hash=version(session, document, document.effective_version).content_hash,
                employee_id=task.owner_id,
                actor_id=actor.id,
                acknowledged_at=now,
            )
        )
    else:
        if answer.content is not None:
            _new_version(session, document, answer.content, by=actor, reason="corrected", now=now)
        signed = version(session, document)
        session.add(
            Signature(
                document_id=document.id,
                step_id=step.id,
                task_id=task.id,
                kind=SIGNED[step.kind],
                version=signed.number,
                content_hash=signed.content_hash,
                signer_id=actor.id,
                for_id=None if actor.id == task.owner_id else task.owner_id,
                position=actor.position,
                name=text.signature_name(actor.full_name),
                signed_at=now,
            )
        )
    _record(session, document, actor=actor.login, action=f"document_{step.kind}", now=now, step=step.name)
    tasks = _tasks(session, step)
    if sum(1 for t in tasks if t.status == "decided" and t.action == "approve") < step.needed:
        return
    step.status, step.closed_at = "met", now
    for other in tasks:
        if other.status == "pending":
            approvals.cancel(session, other, now=now, reason=f"step {step.name} has its quorum")
    _next_if_done(session, document, step.stage_index, now=now)


def _stopped(
    session: Session,
    document: Document,
    step: DocumentStep,
    answer: DocumentDecision,
    *,
    actor: Employee,
    now: dt.datetime,
) -> None:
    """A return or a reject: every step still waiting is cancelled; a return gives the author a turn to revise."""
    outcome = "returned" if answer.action == "return" else "rejected"
    _cancel_waiting(session, document, now=now, reason=f"{outcome} by {actor.login}")
    step.status, step.closed_at = outcome, now
    document.status = outcome
    _record(session, document, actor=actor.login, action=f"document_{outcome}", now=now, comment=answer.comment)
    if outcome == "rejected":
        return
    revision = DocumentStep(
        document_id=document.id,
        round=document.round,
        stage_index=step.stage_index,
        stage="revision",
        name="author",
        kind="revise",
        needed=1,
        version=document.version,
        status="open",
        opened_at=now,
        closed_at=None,
    )
    session.add(revision)
    session.flush()
    note = f"**Returned by {actor.full_name} ({actor.position}):** {answer.comment}"
    timing = chain_of(document).revision
    _assign(session, document, revision, [document.author], timing, requester=actor, now=now, note=note)


def finished(session: Session, document_id: int) -> bool:
    """Nothing left to wait for: rejected, or approved and acknowledged by everyone asked."""
    return not approvals.pending(session, process=PROCESS, subject_id=get(session, document_id).id)


def revision_task(session: Session, document_id: int, *, login: str, on: dt.date) -> ApprovalTask:
    """The author's open turn to revise a returned document; nobody edits a document under review."""
    document = get(session, document_id)
    if document.status != "returned":
        raise NotPermitted(
            f"document {document.id} is {document.status.replace('_', ' ')}; only a returned one may be revised",
            field="document",
        )
    waiting = approvals.pending(session, process=PROCESS, subject_id=document.id)
    steps = steps_of(session, waiting)
    [task] = [t for t in waiting if steps[t.id].kind == "revise"]
    author = approvals.assignee(session, task, on=on).login
    if author != login:
        raise NotPermitted(f"only {author} may revise document {document.id}", field="as")
    return task


def timing_of(step: DocumentStep, chain: Chain) -> Timing:
    if step.kind == "revise":
        return chain.revision
    return next(s for s in chain.stages[step.stage_index].steps if s.name == step.name)


def _escalation_target(
    task: ApprovalTask, timing: Timing, author: Employee, holders: org.Holders
) -> Employee | None:
    """Whom a late task goes to; never the author, never the task's own owner. A role's holder is looked up once
    per owner in a sweep (`holders`)."""
    if timing.escalate.to == "none":
        return None
    if timing.escalate.to == "role":
        target: Employee | None = holders.of(str(timing.escalate.role), task.owner)
    else:
        target = task.owner.manager
    while target is not None and target.id == author.id:
        target = target.manager
    return None if target is None or target.id == task.owner_id else target


def sweep(session: Session, *, now: dt.datetime) -> list[ApprovalTask]:
    """Remind whoever has a document task at its step's interval; past the deadline, escalate it (to the owner's
    superior or the configured target) or, with nobody to escalate to, flag it and keep waiting. Returns the
    tasks opened by escalation. Its audit events are written together at the end."""
    tz = get_settings().tz
    on = clock.today(now)
    links = session.scalars(
        select(DocumentStepTask)
        .join(ApprovalTask, ApprovalTask.id == DocumentStepTask.task_id)
        .where(ApprovalTask.status == "pending")
        .options(
            contains_eager(DocumentStepTask.task).joinedload(ApprovalTask.owner).joinedload(Employee.manager),
            joinedload(DocumentStepTask.step).joinedload(DocumentStep.document).joinedload(Document.author),
        )
        .order_by(DocumentStepTask.task_id)
    ).all()
    delegations = org.delegations_on(session, on=on)
    opened: list[ApprovalTask] = []
    events: list[audit.Event] = []
    chains: dict[int, Chain] = {}
    holders = org.Holders(session)
    for link in links:
        task, step = link.task, link.step
        if step.document_id not in chains:
            chains[step.document_id] = chain_of(step.document)
        timing = timing_of(step, chains[step.document_id])
        if link.remind_at is not None and link.remind_at <= now:
            link.reminders += 1
            link.remind_at = text.add_business_days(now, timing.remind_every_days, tz)
            detail = {"to": delegations.acting_for(task.owner).login, "reminder": link.reminders}
            events.append(approvals.task_event(task, "task_reminder", now=now, detail=detail))
        if task.due_at >= now:
            continue
        due = text.add_business_days(now, timing.deadline_days, tz)
        target = _escalation_target(task, timing, step.document.author, holders)
        if target is None:
            note = "nobody to escalate to; still waiting"
            approvals.keep_waiting(task, now=now, due_at=due, note=note, events=events)
            continue
        successor = approvals.escalate(session, task, to=target, now=now, due_at=due, events=events)
        _link(session, successor, step, timing, now=now)
        opened.append(successor)
    audit.record_many(session, events)
    return opened
