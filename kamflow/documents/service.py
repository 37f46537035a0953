"""The document approval chain (DOMAIN.md, "Documents and how they are approved"): its progression.

A draft is submitted with its type (`submission`); the type's chain opens stage by stage, every step of a stage
a set of approval tasks at once (to the people `people` names, due by `deadlines`). Answers (`answers`) close
steps, and a stage whose every step has its quorum opens the next, until the document is approved and
acknowledged. Everything here runs inside the caller's transaction; the flow calls `submission.submit`, then
`answers.apply` for each decided task, and the deadlines flow calls `sweep.sweep`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kamflow import approvals, audit, i18n
from kamflow.bounds import fit
from kamflow.documents import deadlines, text
from kamflow.documents.chains import Chain, Timing
from kamflow.documents.people import people_for
from kamflow.documents.tables import Document, DocumentStep, DocumentStepTask, DocumentVersion
from kamflow.errors import NotFound
from kamflow.i18n import N_, _
from kamflow.models import ApprovalTask, Employee
from kamflow.settings import Language

PROCESS = "document-approval"
KINDS = {"agree": N_("Agree"), "approve": N_("Approve"), "acknowledge": N_("Acknowledge"), "revise": N_("Revise")}
"""What a step asks of its people, as their task's title starts."""


def get(session: Session, document_id: int) -> Document:
    found = session.get(Document, document_id)
    if found is None:
        raise NotFound(_("no document {id}").format(id=document_id), field="document")
    return found


def chain_of(document: Document) -> Chain:
    return Chain.model_validate(document.chain)


def version(session: Session, document: Document, number: int | None = None) -> DocumentVersion:
    return session.scalars(
        select(DocumentVersion).where(
            DocumentVersion.document_id == document.id, DocumentVersion.number == (number or document.version)
        )
    ).one()


def record(
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


def new_version(
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
        old_label=_("version {number}").format(number=previous.number),
        new_label=_("version {number}").format(number=current.number),
    )


def _explanation(session: Session, document: Document, step: DocumentStep, note: str) -> str:
    current = version(session, document)
    chain = chain_of(document)
    lines = [
        _(
            "**{type}: {title}** — document {id}, version {version} (`{hash}`), by {author}. "
            "Step **{stage} / {step}**."
        ).format(
            type=chain.shown_title(),
            title=document.title,
            id=document.id,
            version=current.number,
            hash=current.content_hash[:12],
            author=document.author.full_name,
            stage=chain.shown_name(step.stage),
            step=chain.shown_name(step.name),
        ),
    ]
    if note:
        lines.append(note)
    if current.number > 1:
        diff = changes(session, document, current)
        changed = _("Changes from version {number}").format(number=current.number - 1)
        lines.append(f"### {changed}\n\n```diff\n{diff}\n```")
    lines.append("### {}\n\n{}".format(_("Text"), current.content))
    return "\n\n".join(lines)


def assign(
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
    """A task for each person on the step, its title and explanation in that person's language (else the
    company's); one deadline for all of them."""
    if not people:
        return
    due_at = deadlines.due(now, timing)
    written: dict[Language, tuple[str, str]] = {}
    for person in people:
        with i18n.reading(i18n.language_of(person.language)) as language:
            if language not in written:
                title = _("{kind}: {title} (v{version})").format(
                    kind=_(KINDS[step.kind]), title=document.title, version=document.version
                )
                written[language] = (fit(title, ApprovalTask.title), _explanation(session, document, step, note))
        title, explanation = written[language]
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
        deadlines.link(session, task, step, timing, now=now)


def open_stage(session: Session, document: Document, index: int, *, now: dt.datetime) -> None:
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
        assign(session, document, row, people, step, requester=document.author, now=now)
    record(
        session, document, actor="kamflow", action="stage_opened", now=now, stage=stage.name, round=document.round
    )
    next_if_done(session, document, index, now=now)


def round_steps(session: Session, document: Document, *, stage_index: int | None = None) -> list[DocumentStep]:
    """The steps of the document's current round (of one stage, without the author's revision, when given)."""
    query = select(DocumentStep).where(
        DocumentStep.document_id == document.id, DocumentStep.round == document.round
    )
    if stage_index is not None:
        query = query.where(DocumentStep.stage_index == stage_index, DocumentStep.kind != "revise")
    return list(session.scalars(query.order_by(DocumentStep.id)))


def next_if_done(session: Session, document: Document, index: int, *, now: dt.datetime) -> None:
    """When every step of stage `index` has its quorum: the document is approved after the last reviewing
    stage, and the next stage, if any, opens."""
    if any(step.status != "met" for step in round_steps(session, document, stage_index=index)):
        return
    chain = chain_of(document)
    if index + 1 == chain.reviewing_stages():
        document.status = "approved"
        document.effective_version = document.version
        record(session, document, actor="kamflow", action="document_effective", now=now)
    if index + 1 < len(chain.stages):
        open_stage(session, document, index + 1, now=now)


def step_of(session: Session, task: ApprovalTask) -> DocumentStep:
    link = session.get(DocumentStepTask, task.id)
    if link is None:
        raise NotFound(_("task {task} is not a step of a document").format(task=task.id), field="task")
    return link.step


def steps_of(session: Session, tasks: list[ApprovalTask]) -> dict[int, DocumentStep]:
    """The step of each task that has one, by task id, in one query."""
    links = session.scalars(
        select(DocumentStepTask)
        .where(DocumentStepTask.task_id.in_([task.id for task in tasks]))
        .options(joinedload(DocumentStepTask.step))
    )
    return {link.task_id: link.step for link in links}


def finished(session: Session, document_id: int) -> bool:
    """Nothing left to wait for: rejected, or approved and acknowledged by everyone asked."""
    return not approvals.pending(session, process=PROCESS, subject_id=get(session, document_id).id)
