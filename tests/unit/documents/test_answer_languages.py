"""A document's answers in the words of their readers: the author's turn to revise says who returned it in the
author's language, the tasks a return cancels keep the reason in their owners' language, a refused answer is said
in the reader's language — and the history shows it all in the reader's words."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import i18n, org
from kamflow.documents import service
from kamflow.errors import InvalidInput
from kamflow.models import ApprovalTask, AuditEvent
from kamflow.timeline import timeline
from tests.unit.documents.conftest import act, submit, waiting


def test_a_return_is_written_for_each_reader_in_their_language(session: Session) -> None:
    org.employee(session, "head.north").language = "es"  # the author
    org.employee(session, "hr").language = "es"
    document = submit(session)
    tasks = waiting(session, document)
    act(session, tasks["legal"], "legal")
    act(session, tasks["planning"], "planning", "return", comment="4.1: name the code")
    revise = waiting(session, document)["head.north"]
    assert "**Devuelto por " in revise.explanation and ":** 4.1: name the code" in revise.explanation
    reasons = {
        session.get_one(ApprovalTask, event.subject_id).owner.login: event.detail["reason"]
        for event in session.scalars(select(AuditEvent).where(AuditEvent.action == "task_cancelled"))
    }
    assert reasons == {"hr": "devuelto por planning", "commercial": "returned by planning"}

    with i18n.reading("es"):
        history = [step.text() for step in timeline(session, process=service.PROCESS, subject_id=document.id)]
    assert all("{" not in line for line in history)
    assert any(f"DEVUELTO (tarea {tasks['planning'].id})" in line and "[versión 1]" in line for line in history)
    assert any("ACORDADO" in line for line in history) and any(": presentado" in line for line in history)


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("es", "para devolver un documento, diga por qué (--comment)"),
        ("en", "to return a document, say why (--comment)"),
    ],
)
def test_a_return_without_a_reason_is_refused_in_the_reader_s_words(
    session: Session, language: i18n.Language, said: str
) -> None:
    document = submit(session)
    task = waiting(session, document)["legal"]
    with i18n.reading(language), pytest.raises(InvalidInput) as refused:
        act(session, task, "legal", "return")
    assert (refused.value.message, refused.value.field) == (said, "comment") and task.status == "pending"
