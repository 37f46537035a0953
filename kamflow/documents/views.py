"""What people read about a document: its state (`doc show`), its approval sheet (`doc sheet`, and the flow's
artifact) and its acknowledgment journal (`doc acks`)."""

from __future__ import annotations

import datetime as dt

from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kamflow import approvals, clock, i18n, org, reports
from kamflow.documents import text
from kamflow.documents.service import PROCESS, chain_of, changes, get, round_steps, step_of, version
from kamflow.documents.tables import Acknowledgment, Document, DocumentStep, DocumentStepTask, Signature
from kamflow.i18n import N_, _
from kamflow.models import ApprovalTask
from kamflow.views import Part, View, said

WORDS = (N_("agree"), N_("approve"), N_("acknowledge"), N_("open"), N_("met"), N_("cancelled"), N_("waiting"))
"""A step's kinds and statuses as people name them, for the catalog."""


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
    return _("{delegate} for {signer}").format(
        delegate=signature.name, signer=text.signature_name(signature.signed_for.full_name)
    )


def _signature_rows(signatures: list[Signature]) -> str:
    head = "| {} | {} | {} | {} | SHA-256 |\n|---|---|---|---|---|\n".format(
        _("position"), _("name"), _("date and time"), _("version")
    )
    rows = "\n".join(
        f"| {_(s.position) if s.position else ''} | {signer(s)} | {reports.when(s.signed_at)} | {s.version} "
        f"| `{s.content_hash[:16]}` |"
        for s in signatures
    )
    return head + (rows or "| — | | | | |")


def sheet_markdown(session: Session, document_id: int) -> str:
    """The approval sheet, in the reader's language: the APPROVED block (the approver, date) and the AGREED block
    (each head, date) of the current round — APROBADO and ACORDADO in Spanish — every signature with the hash of
    the version it signed; earlier rounds' agreements are listed apart, as not carried over. A signer's position
    reads through the catalog where it has one (the demo company's), else as the org chart writes it."""
    document = get(session, document_id)
    current = version(session, document)
    signatures = _signatures(session, document)
    live = [s for s in signatures if s.step.round == document.round]
    status = said(document.status)
    parts = [
        "# " + _("Approval sheet: {title}").format(title=document.title),
        _("{type} · document {id} · **{status}** · version {version} · SHA-256 `{hash}`").format(
            type=chain_of(document).shown_title(),
            id=document.id,
            status=status,
            version=current.number,
            hash=current.content_hash,
        ),
        "## {}\n\n{}".format(_("APPROVED"), _signature_rows([s for s in live if s.kind == "approved"])),
        "## {}\n\n{}".format(_("AGREED"), _signature_rows([s for s in live if s.kind == "agreed"])),
    ]
    corrected = [s for s in live if s.kind == "approved" and s.version > s.step.version]
    parts += [
        _(
            "Version {version} is the approver's correction of version {agreed}, which was agreed; {signer} "
            "signed version {version}."
        ).format(version=s.version, agreed=s.step.version, signer=signer(s))
        for s in corrected
    ]
    earlier = [s for s in signatures if s.step.round != document.round]
    if earlier:
        parts.append(
            "## {}\n\n{}".format(_("Not carried over (given to earlier versions)"), _signature_rows(earlier))
        )
    return "\n\n".join(parts) + "\n"


class StepTask(Part):
    """A task of a step: whose it is, who may act on it today while it waits, and what was done."""

    task_id: int
    owner: str
    assignee: str | None
    status: str
    action: str | None
    by: str | None
    comment: str | None
    due_at: str
    reminders: int


class Step(Part):
    """A step of the current round and its tasks."""

    stage: str
    step: str
    kind: str
    status: str
    needed: int
    version: int
    tasks: list[StepTask]

    def text(self) -> str:
        acted = ", ".join(f"{t.by} {said(t.action)}" for t in self.tasks if t.by and t.action)
        return _("  {stage}/{step} ({kind}, needs {needed}): {status}").format(
            stage=self.stage, step=self.step, kind=_(self.kind), needed=self.needed, status=_(self.status)
        ) + (f" — {acted}" if acted else "")


class WaitingFor(Part):
    task_id: int
    step: str
    assignee: str


class DocumentView(View):
    """A document as it stands (`doc show`, `doc submit`, `doc revise`, `decide`): status, version and hash, the
    steps of the current round and who it waits for."""

    document_id: int
    type: str
    title: str
    status: str
    author: str
    fields: dict[str, str]
    round: int
    version: int
    content_hash: str
    effective_version: int | None
    steps: list[Step]
    waiting_for: list[WaitingFor]
    diff: str
    flow_run_id: str | None

    def text(self) -> str:
        head = _("document {document} ({type}) version {version} `{hash}`: {status} — {title}").format(
            document=self.document_id,
            type=self.type,
            version=self.version,
            hash=self.content_hash[:12],
            status=said(self.status),
            title=self.title,
        )
        waiting = [
            _("waiting for {assignee} — task {task} ({step})").format(
                assignee=w.assignee, task=w.task_id, step=w.step
            )
            for w in self.waiting_for
        ]
        return "\n".join([head, *(step.text() for step in self.steps), *waiting])


def _task_view(task: ApprovalTask, link: DocumentStepTask, delegations: org.Delegations) -> StepTask:
    return StepTask(
        task_id=task.id,
        owner=task.owner.login,
        assignee=delegations.acting_for(task.owner).login if task.status == "pending" else None,
        status=task.status,
        action=task.action,
        by=task.actor.login if task.actor else None,
        comment=task.comment,
        due_at=task.due_at.isoformat(),
        reminders=link.reminders,
    )


def show(session: Session, document_id: int, *, on: dt.date) -> DocumentView:
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
    return DocumentView(
        document_id=document.id,
        type=document.doc_type,
        title=document.title,
        status=document.status,
        author=document.author.login,
        fields=document.fields,
        round=document.round,
        version=current.number,
        content_hash=current.content_hash,
        effective_version=document.effective_version,
        steps=[
            Step(
                stage=step.stage,
                step=step.name,
                kind=step.kind,
                status=step.status,
                needed=step.needed,
                version=step.version,
                tasks=[_task_view(link.task, link, delegations) for link in links if link.step_id == step.id],
            )
            for step in steps
        ],
        waiting_for=[
            WaitingFor(task_id=t.id, step=step_of(session, t).name, assignee=delegations.acting_for(t.owner).login)
            for t in approvals.pending(session, process=PROCESS, subject_id=document.id)
        ],
        diff=changes(session, document, current),
        flow_run_id=document.flow_run_id,
    )


class Acknowledger(Part):
    """Someone asked to acknowledge the effective version, and when they did (None: not yet)."""

    login: str
    name: str
    position: str
    acknowledged_at: str | None
    task_id: int

    def text(self) -> str:
        at = (
            _("not yet")
            if self.acknowledged_at is None
            else reports.when(dt.datetime.fromisoformat(self.acknowledged_at))
        )
        return f"  {self.name} ({self.login}, {self.position}): {at}"


class AckJournal(View):
    """The acknowledgment journal of a document's effective version (`doc acks`)."""

    document_id: int
    version: int | None
    acknowledged: list[Acknowledger]
    not_yet: list[Acknowledger]

    def text(self) -> str:
        rows = [row.text() for row in self.acknowledged + self.not_yet]
        head = _("document {document} version {version}:").format(document=self.document_id, version=self.version)
        return head + "\n" + ("\n".join(rows) or "  " + _("nobody asked"))


def acks(session: Session, document_id: int) -> AckJournal:
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
        Acknowledger(
            login=task.owner.login,
            name=text.signature_name(task.owner.full_name),
            position=task.owner.position,
            acknowledged_at=journal[task.owner_id].acknowledged_at.isoformat()
            if task.owner_id in journal
            else None,
            task_id=task.id,
        )
        for task in asked
    ]
    return AckJournal(
        document_id=document.id,
        version=document.effective_version,
        acknowledged=[r for r in rows if r.acknowledged_at],
        not_yet=[r for r in rows if not r.acknowledged_at],
    )


class DelegationView(View):
    """A delegation as recorded (`kamflow delegate`), and as its audit event keeps it."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    delegation_id: int
    from_: str = Field(alias="from")
    to: str
    from_date: str
    to_date: str
    order_ref: str

    def text(self) -> str:
        return _("delegation {delegation}: {to} for {absent} from {start} to {end} ({order})").format(
            delegation=self.delegation_id,
            to=self.to,
            absent=self.from_,
            start=i18n.day(dt.date.fromisoformat(self.from_date)),
            end=i18n.day(dt.date.fromisoformat(self.to_date)),
            order=self.order_ref,
        )


def started(session: Session, flow_run_id: str) -> DocumentView | None:
    """The document a flow run submitted, once it is in the database with its first stage open."""
    found = session.scalar(select(Document.id).where(Document.flow_run_id == flow_run_id))
    return None if found is None else show(session, found, on=clock.today())
