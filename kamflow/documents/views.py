"""What people read about a document: its state (`doc show`), its approval sheet (`doc sheet`, and the flow's
artifact) and its acknowledgment journal (`doc acks`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kamflow import approvals, clock, org
from kamflow.documents import text
from kamflow.documents.service import PROCESS, chain_of, changes, get, round_steps, step_of, version
from kamflow.documents.tables import Acknowledgment, Document, DocumentStep, DocumentStepTask, Signature
from kamflow.models import ApprovalTask
from kamflow.settings import get_settings


def local(at: dt.datetime) -> str:
    """An instant as people read it on paper: company time with its zone."""
    return at.astimezone(get_settings().tz).strftime("%Y-%m-%d %H:%M %Z")


def _signatures(session: Session, document: Document) -> list[Signature]:
    return list(
        session.scalars(
            select(Signature)
            .where(Signature.document_id == document.id)
            .options(joinedload(Signature.step), joinedload(Signature.signed_for))
            .order_by(Signature.id)
        )
    )


def signer(signature: Signature) -> str:
    """ "Surname I.O.", and "B for A" when a delegate signed."""
    if signature.signed_for is None:
        return signature.name
    return f"{signature.name} for {text.signature_name(signature.signed_for.full_name)}"


def _signature_rows(signatures: list[Signature]) -> str:
    head = "| position | name | date and time | version | SHA-256 |\n|---|---|---|---|---|\n"
    rows = "\n".join(
        f"| {s.position} | {signer(s)} | {local(s.signed_at)} | {s.version} | `{s.content_hash[:16]}` |"
        for s in signatures
    )
    return head + (rows or "| — | | | | |")


def sheet_markdown(session: Session, document_id: int) -> str:
    """The approval sheet: the APPROVED block (the approver, date) and the AGREED block (each head, date) of the
    current round, every signature with the hash of the version it signed; earlier rounds' agreements are
    listed apart, as not carried over."""
    document = get(session, document_id)
    current = version(session, document)
    signatures = _signatures(session, document)
    live = [s for s in signatures if s.step.round == document.round]
    parts = [
        f"# Approval sheet: {document.title}",
        f"{chain_of(document).title} · document {document.id} · **{document.status.upper()}** · "
        f"version {current.number} · SHA-256 `{current.content_hash}`",
        "## APPROVED\n\n" + _signature_rows([s for s in live if s.kind == "approved"]),
        "## AGREED\n\n" + _signature_rows([s for s in live if s.kind == "agreed"]),
    ]
    corrected = [s for s in live if s.kind == "approved" and s.version > s.step.version]
    parts += [
        f"Version {s.version} is the approver's correction of version {s.step.version}, which was agreed; "
        f"{signer(s)} signed version {s.version}."
        for s in corrected
    ]
    earlier = [s for s in signatures if s.step.round != document.round]
    if earlier:
        parts.append("## Not carried over (given to earlier versions)\n\n" + _signature_rows(earlier))
    return "\n\n".join(parts) + "\n"


def _task_view(task: ApprovalTask, link: DocumentStepTask, delegations: org.Delegations) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "owner": task.owner.login,
        "assignee": delegations.acting_for(task.owner).login if task.status == "pending" else None,
        "status": task.status,
        "action": task.action,
        "by": task.actor.login if task.actor else None,
        "comment": task.comment,
        "due_at": task.due_at.isoformat(),
        "reminders": link.reminders,
    }


def show(session: Session, document_id: int, *, on: dt.date) -> dict[str, Any]:
    """The document as it stands: status, version and hash, and the steps of the current round."""
    document = get(session, document_id)
    current = version(session, document)
    steps = round_steps(session, document)
    links = session.scalars(
        select(DocumentStepTask)
        .where(DocumentStepTask.step_id.in_([s.id for s in steps]))
        .options(
            joinedload(DocumentStepTask.task).options(
                joinedload(ApprovalTask.owner), joinedload(ApprovalTask.actor)
            )
        )
        .order_by(DocumentStepTask.task_id)
    ).all()
    delegations = org.delegations_on(session, on=on)
    return {
        "document_id": document.id,
        "type": document.doc_type,
        "title": document.title,
        "status": document.status,
        "author": document.author.login,
        "fields": document.fields,
        "round": document.round,
        "version": current.number,
        "content_hash": current.content_hash,
        "effective_version": document.effective_version,
        "steps": [
            {
                "stage": step.stage,
                "step": step.name,
                "kind": step.kind,
                "status": step.status,
                "needed": step.needed,
                "version": step.version,
                "tasks": [_task_view(link.task, link, delegations) for link in links if link.step_id == step.id],
            }
            for step in steps
        ],
        "waiting_for": [
            {
                "task_id": t.id,
                "step": step_of(session, t).name,
                "assignee": delegations.acting_for(t.owner).login,
            }
            for t in approvals.pending(session, process=PROCESS, subject_id=document.id)
        ],
        "diff": changes(session, document, current),
        "flow_run_id": document.flow_run_id,
    }


def acks(session: Session, document_id: int) -> dict[str, Any]:
    """The acknowledgment journal of the effective version: who has acknowledged it and who has not yet."""
    document = get(session, document_id)
    asked = session.scalars(
        select(ApprovalTask)
        .join(DocumentStepTask, DocumentStepTask.task_id == ApprovalTask.id)
        .join(DocumentStep, DocumentStep.id == DocumentStepTask.step_id)
        .where(
            DocumentStep.document_id == document.id, DocumentStep.kind == "acknowledge", ApprovalTask.level == 1
        )
        .options(joinedload(ApprovalTask.owner))
        .order_by(ApprovalTask.id)
    ).all()
    journal = {
        a.employee_id: a
        for a in session.scalars(
            select(Acknowledgment).where(
                Acknowledgment.document_id == document.id, Acknowledgment.version == document.effective_version
            )
        )
    }
    rows = [
        {
            "login": task.owner.login,
            "name": text.signature_name(task.owner.full_name),
            "position": task.owner.position,
            "acknowledged_at": journal[task.owner_id].acknowledged_at.isoformat()
            if task.owner_id in journal
            else None,
            "task_id": task.id,
        }
        for task in asked
    ]
    return {
        "document_id": document.id,
        "version": document.effective_version,
        "acknowledged": [r for r in rows if r["acknowledged_at"]],
        "not_yet": [r for r in rows if not r["acknowledged_at"]],
    }


def started(session: Session, flow_run_id: str) -> dict[str, Any] | None:
    """The document a flow run submitted, once it is in the database with its first stage open."""
    found = session.scalar(select(Document.id).where(Document.flow_run_id == flow_run_id))
    return None if found is None else show(session, found, on=clock.today())
