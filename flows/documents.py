"""Flow `document-approval`: a draft goes through its type's chain, every step a set of people's tasks."""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from flows import labels
from flows.human import ApprovalInput, wait_for_any
from kamflow import clock
from kamflow.db import unit_of_work
from kamflow.documents import answers, service, submission, views
from kamflow.documents.submission import DocumentIn
from kamflow.i18n import N_, _
from kamflow.types import DocumentText


class DocumentAnswer(ApprovalInput):
    """An answer on a document step: agree/approve/acknowledge, return to the author, reject — or, for the
    author after a return, the revised text."""

    action: Literal["approve", "return", "reject", "revise"] = Field(
        title=N_("Decision"),
        description=N_(
            "approve: agree, approve or acknowledge, as the step asks · return: back to the author for "
            "corrections (say why in the comment) · reject: end the chain (say why in the comment) · revise: only "
            "for the author, the new text given below"
        ),
    )
    content: DocumentText | None = Field(
        default=None,
        title=N_("New text"),
        description=N_(
            "Only to correct the document as you approve it, or as its author to revise it: the whole new text "
            "(Markdown). Leave it empty otherwise."
        ),
    )

    def payload(self) -> dict[str, Any]:
        """For documents the comment belongs to the answer: a return or a reject must say why."""
        return self.model_dump(mode="json", exclude={"approver", "approval_code", "task"})


class DocumentOutcome(BaseModel):
    document_id: int
    status: str
    version: int
    content_hash: str


def _outcome_if_finished(document_id: int) -> DocumentOutcome | None:
    with unit_of_work() as session:
        if not service.finished(session, document_id):
            return None
        document = service.get(session, document_id)
        current = service.version(session, document)
        return DocumentOutcome(
            document_id=document_id,
            status=document.status,
            version=current.number,
            content_hash=current.content_hash,
        )


def _publish_sheet(document_id: int) -> None:
    with unit_of_work() as session:
        sheet = views.sheet_markdown(session, document_id)
    create_markdown_artifact(
        key=labels.artifact_key(f"document-{document_id}-approval-sheet"),
        markdown=sheet,
        description=_("Approval sheet of document {id}").format(id=document_id),
    )


def _label(document_id: int) -> None:
    """The run as the ops console names it: the document and the version now in its chain."""
    with unit_of_work() as session:
        version = service.get(session, document_id).version
    labels.label_run(f"document-{document_id}-v{version}", process=service.PROCESS)


@flow(name=service.PROCESS, persist_result=True, log_prints=False)
def document_approval(document: DocumentIn) -> DocumentOutcome:
    with unit_of_work() as session:
        submitted = submission.submit(session, document=document, flow_run_id=str(flow_run.id), now=clock.now())
        document_id = submitted.id
    # The sheet as it stands, before every wait and once the chain is done: a decision recorded by a command is
    # on the next sheet, whether the run goes on in its warm wait or restarts from the top.
    while True:
        _publish_sheet(document_id)
        outcome = _outcome_if_finished(document_id)
        if outcome is not None:
            return outcome
        _label(document_id)
        wait_for_any(
            process=service.PROCESS,
            subject_id=document_id,
            answer=DocumentAnswer,
            check_for=answers.check_for,
            then=answers.apply,
        )
