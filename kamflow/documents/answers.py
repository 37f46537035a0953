"""The answers on a document's tasks: approve (agree, approve or acknowledge, by the step), return (back to the
author, who revises: a new version and a new round from the first stage — agreements given to the old version
are not carried over), reject (the chain ends, what waits is cancelled). A stage's approver may correct the
text: that is a new version, the one they sign. `check_for` checks an answer before anything is written;
`apply` carries it onto the document in the transaction that decided it."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kamflow import approvals, i18n, labels
from kamflow.documents import text
from kamflow.documents.service import (
    KINDS,
    PROCESS,
    assign,
    chain_of,
    get,
    new_version,
    next_if_done,
    open_stage,
    record,
    round_steps,
    step_of,
    steps_of,
    version,
)
from kamflow.documents.submission import check_text
from kamflow.documents.tables import Acknowledgment, Document, DocumentStep, DocumentStepTask, Signature
from kamflow.errors import InvalidInput, NotPermitted
from kamflow.i18n import N_, _
from kamflow.models import ApprovalTask, Employee
from kamflow.types import DocumentText, Note

ACTIONS: dict[str, tuple[str, ...]] = {
    "agree": ("approve", "return", "reject"),
    "approve": ("approve", "return", "reject"),
    "acknowledge": ("approve",),
    "revise": ("revise",),
}
SIGNED = {"agree": "agreed", "approve": "approved"}
SAY_WHY = {
    "return": N_("to return a document, say why (--comment)"),
    "reject": N_("to reject a document, say why (--comment)"),
}


class DocumentDecision(BaseModel):
    """The document-specific part of an answer (what the task's payload holds)."""

    action: Literal["approve", "return", "reject", "revise"]
    comment: Note = ""
    content: DocumentText | None = None


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


def _cancel(session: Session, task: ApprovalTask, *, now: dt.datetime, reason: str, **names: object) -> None:
    """Cancel a task nobody needs to decide any more, the reason kept in the words of the person it was for."""
    with i18n.reading(i18n.language_of(task.owner.language)):
        approvals.cancel(session, task, now=now, reason=_(reason).format(**names))


def _cancel_waiting(session: Session, document: Document, *, now: dt.datetime, reason: str, person: str) -> None:
    for task in approvals.pending(session, process=PROCESS, subject_id=document.id):
        _cancel(session, task, now=now, reason=reason, person=person)
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
            raise InvalidInput(
                _("on a step to {kind}, answer {actions}").format(
                    kind=_(KINDS[kind]).lower(), actions=" | ".join(allowed)
                ),
                field="action",
            )
        if answer.action in ("return", "reject") and not answer.comment.strip():
            raise InvalidInput(_(SAY_WHY[answer.action]), field="comment")
        if answer.content is None:
            if answer.action == "revise":
                raise InvalidInput(_("a revision needs the new text (--file)"), field="file")
            return
        if answer.action == "revise" or (answer.action == "approve" and may_correct):
            check_text(chain, answer.content, current=current)
            return
        raise InvalidInput(
            _("only the approver may correct the text here; return it with a comment"), field="file"
        )

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
        new_version(session, document, answer.content, by=actor, reason="revised", now=now)
        document.round += 1
        document.status = "in_review"
        record(session, document, actor=actor.login, action="document_revised", now=now, comment=answer.comment)
        open_stage(session, document, 0, now=now)
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
            new_version(session, document, answer.content, by=actor, reason="corrected", now=now)
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
    record(session, document, actor=actor.login, action=f"document_{step.kind}", now=now, step=step.name)
    tasks = _tasks(session, step)
    if sum(1 for t in tasks if t.status == "decided" and t.action == "approve") < step.needed:
        return
    step.status, step.closed_at = "met", now
    for other in tasks:
        if other.status == "pending":
            _cancel(session, other, now=now, reason=N_("step {step} has its quorum"), step=step.name)
    next_if_done(session, document, step.stage_index, now=now)


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
    said = N_("returned by {person}") if outcome == "returned" else N_("rejected by {person}")
    _cancel_waiting(session, document, now=now, reason=said, person=actor.login)
    step.status, step.closed_at = outcome, now
    document.status = outcome
    record(session, document, actor=actor.login, action=f"document_{outcome}", now=now, comment=answer.comment)
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
    with i18n.reading(i18n.language_of(document.author.language)):  # the author's task says it their way
        note = _("**Returned by {name} ({position}):** {comment}").format(
            name=actor.full_name, position=actor.position, comment=answer.comment
        )
    timing = chain_of(document).revision
    assign(session, document, revision, [document.author], timing, requester=actor, now=now, note=note)


def revision_task(session: Session, document_id: int, *, login: str, on: dt.date) -> ApprovalTask:
    """The author's open turn to revise a returned document; nobody edits a document under review."""
    document = get(session, document_id)
    if document.status != "returned":
        raise NotPermitted(
            _("document {id} is {status}; only a returned one may be revised").format(
                id=document.id, status=labels.status(document.status)
            ),
            field="document",
        )
    waiting = approvals.pending(session, process=PROCESS, subject_id=document.id)
    steps = steps_of(session, waiting)
    [task] = [t for t in waiting if steps[t.id].kind == "revise"]
    author = approvals.assignee(session, task, on=on).login
    if author != login:
        raise NotPermitted(
            _("only {person} may revise document {id}").format(person=author, id=document.id), field="as"
        )
    return task
