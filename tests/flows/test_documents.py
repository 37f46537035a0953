"""The document approval chain run in this process: one suspended run waits for every parallel step of a stage
at once (`flows.human.wait_for_any`), takes the answers one by one, each decided by whoever it is for, and the
chain moves on through return, revision, correction, signature and acknowledgment."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from flows.documents import DocumentOutcome, document_approval
from kamflow import approvals, clock
from kamflow.db import unit_of_work
from kamflow.documents import answers, views
from kamflow.documents.submission import DEMO_JOB_DESCRIPTION, DocumentIn
from kamflow.documents.tables import Document
from kamflow.models import AuditEvent
from tests.flows.conftest import Runs, cli, suspended

pytestmark = pytest.mark.flows

KAMS = ["kam.north1", "kam.north2", "kam.south1", "kam.south2"]
AGREEING = {"legal", "hr", "planning", "commercial"}
RUSSIAN_LAW = "the legislative acts of the Russian Federation;"
SPANISH_LAW = "the laws of Spain, the Workers' Statute (Estatuto de los Trabajadores) included;"
CLAUSE_7 = "2.8. Within the conditions set in clause 7,"
CREDIT_TERMS = "2.8. Within the credit conditions the company sets for the customer,"
AGREEMENT = (
    "# Discount agreement with C0003\n\n## Parties\n\nThe company and C0003.\n\n"
    "## Discount\n\nColumn 4, 12 %.\n\n## Term\n\nUntil 31 December.\n"
)


def show(run_id: UUID) -> dict[str, Any]:
    """The document the run submitted, as `kamflow doc show` shows it."""
    with unit_of_work() as session:
        document_id = session.scalar(select(Document.id).where(Document.flow_run_id == str(run_id)))
        assert document_id is not None
        return views.show(session, document_id, on=clock.today()).model_dump(mode="json")


def task_of(view: dict[str, Any], login: str) -> int:
    [task] = [w["task_id"] for w in view["waiting_for"] if w["assignee"] == login]
    return int(task)


def answered(runs: Runs, run_id: UUID, view: dict[str, Any], login: str, **answer: Any) -> dict[str, Any]:
    """`login` answers their task; the run, executed here again, decides it and waits for what is left."""
    runs.answer(run_id, task_id=task_of(view, login), login=login, **answer)
    state = runs.execute(document_approval, run_id)
    assert suspended(state) or state.is_completed(), state
    return show(run_id)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_one_suspended_run_waits_for_every_parallel_step_and_takes_their_answers_in_turn(runs: Runs) -> None:
    """The KAM's job description: agreed, returned, revised, corrected as it is signed, then acknowledged."""
    draft = DEMO_JOB_DESCRIPTION.read_text(encoding="utf-8")
    fields = {"department": "Sales North", "position": "Key Account Manager"}
    run_id, state = runs.run(
        document_approval,
        document=DocumentIn(doc_type="job_description", content=draft, author="head.north", fields=fields),
    )
    assert suspended(state), state
    view = show(run_id)
    doc = view["document_id"]
    assert view["status"] == "in_review" and view["version"] == 1
    assert {w["assignee"] for w in view["waiting_for"]} == AGREEING
    code, legals = cli("tasks", "--as", "legal")
    assert code == 0 and task_of(view, "legal") in [t["task_id"] for t in legals]

    view = answered(runs, run_id, view, "hr", action="approve")
    assert {w["assignee"] for w in view["waiting_for"]} == AGREEING - {"hr"}
    returned = answered(
        runs,
        run_id,
        view,
        "legal",
        action="return",
        comment="1.6, 4.1, 4.2: we are a Spanish company; cite Spanish law",
    )
    assert returned["status"] == "returned" and [w["assignee"] for w in returned["waiting_for"]] == ["head.north"]

    revised = draft.replace(RUSSIAN_LAW, SPANISH_LAW).replace(
        "of the Russian Federation in force", "in force in Spain"
    )
    with unit_of_work() as session:  # the author's turn, as `kamflow doc revise` finds it
        turn = answers.revision_task(session, doc, login="head.north", on=clock.today()).id
    assert turn == task_of(returned, "head.north")
    again = answered(runs, run_id, returned, "head.north", action="revise", content=revised)
    assert again["status"] == "in_review" and again["version"] == 2 and again["round"] == 2
    assert {w["assignee"] for w in again["waiting_for"]} == AGREEING
    assert f"+- {SPANISH_LAW}" in again["diff"] and f"-- {RUSSIAN_LAW}" in again["diff"]
    with unit_of_work() as session:  # those asked again see what changed
        hr_task = approvals.get(session, task_of(again, "hr"))
        assert "Changes from version 1" in hr_task.explanation and SPANISH_LAW in hr_task.explanation

    view = again
    for login in sorted(AGREEING):
        view = answered(runs, run_id, view, login, action="approve")
    assert [w["assignee"] for w in view["waiting_for"]] == ["director"]
    signed = answered(
        runs, run_id, view, "director", action="approve", content=revised.replace(CLAUSE_7, CREDIT_TERMS)
    )
    assert signed["status"] == "approved" and signed["version"] == 3 and signed["effective_version"] == 3
    assert sorted(w["assignee"] for w in signed["waiting_for"]) == KAMS

    code, printed = cli("doc", "sheet", str(doc), "--as", "head.north")
    sheet = printed["markdown"]
    approved, rest = sheet.split("## APPROVED")[1].split("## AGREED")
    agreed, earlier = rest.split("## Not carried over")
    assert signed["content_hash"] in sheet and "| Company Director | Martínez Ruiz C. |" in approved
    assert "| 3 |" in approved and agreed.count("| 2 |") == 4
    for name in ("Álvarez Molina F.", "Romero Vega I.", "Torres Medina R.", "Fernández Gil J."):
        assert name in agreed
    assert "Romero Vega I." in earlier and "Torres Medina R." not in earlier and "Álvarez" not in earlier
    assert sheet.count(" CET |") + sheet.count(" CEST |") == 6  # every signature has its date and time

    answered(runs, run_id, signed, "kam.south1", action="approve")
    code, journal = cli("doc", "acks", str(doc), "--as", "head.north")
    assert code == 0 and journal["version"] == 3
    assert [r["login"] for r in journal["acknowledged"]] == ["kam.south1"]
    assert [r["login"] for r in journal["not_yet"]] == ["kam.north1", "kam.north2", "kam.south2"]

    published = runs.artifact(f"document-{doc}-approval-sheet")
    assert published is not None and "## APPROVED" in published and signed["content_hash"] in published


def test_a_reject_ends_the_chain_and_the_cli_refuses_what_may_not_be_done_naming_the_field(
    runs: Runs, tmp_path: Path
) -> None:
    def documents() -> int:
        with unit_of_work() as session:
            return session.scalar(select(func.count()).select_from(Document)) or 0

    def audit_events() -> int:
        with unit_of_work() as session:
            return session.scalar(select(func.count()).select_from(AuditEvent)) or 0

    bad = write(tmp_path, "bad.md", "# JD\n\n## 1. General provisions\n\n## 2. Duties\n")
    code, refused = cli(
        "doc", "submit", bad, "--type", "job_description", "--field", "department=Sales North",
        "--field", "position=Key Account Manager", "--as", "head.north",
    )  # fmt: skip
    assert (code, refused["field"]) == (2, "file") and documents() == 0

    run_id, state = runs.run(
        document_approval,
        document=DocumentIn(
            doc_type="discount_agreement", content=AGREEMENT, author="kam.south1", fields={"customer": "C0003"}
        ),
    )
    assert suspended(state), state
    view = show(run_id)
    head, credit, doc = task_of(view, "head.south"), task_of(view, "credit"), str(view["document_id"])
    events = audit_events()
    code, refused = cli("decide", str(head), "approve", "--as", "kam.south1")
    assert (code, refused["field"]) == (3, "approver")
    code, refused = cli("decide", str(head), "return", "--as", "head.south")
    assert (code, refused["field"]) == (2, "comment")
    edited = write(tmp_path, "edit.md", "# Agreement\n\n## Parties\n\n## Discount\n\n## Term\n\nMore.\n")
    code, refused = cli("doc", "revise", doc, edited, "--as", "kam.south1")
    assert (code, refused["field"]) == (3, "document")
    assert audit_events() == events

    rejected = answered(runs, run_id, view, "head.south", action="reject", comment="no agreement this year")
    assert rejected["status"] == "rejected" and rejected["waiting_for"] == []
    state = runs.state(run_id)
    assert state.is_completed() and state.result().status == "rejected"  # the run has ended with the chain
    code, refused = cli("decide", str(credit), "approve", "--as", "credit")
    assert (code, refused["field"]) == (2, "task") and "cancelled" in refused["message"]


def test_the_run_of_a_finished_chain_returns_its_outcome(runs: Runs) -> None:
    run_id, state = runs.run(
        document_approval,
        document=DocumentIn(
            doc_type="discount_agreement", content=AGREEMENT, author="kam.south1", fields={"customer": "C0003"}
        ),
    )
    view = show(run_id)
    view = answered(runs, run_id, view, "head.south", action="approve")
    view = answered(runs, run_id, view, "credit", action="approve")
    [last] = [w["assignee"] for w in view["waiting_for"]]
    runs.answer(run_id, task_id=task_of(view, last), login=last, action="approve")
    state = runs.execute(document_approval, run_id)
    assert state.is_completed(), state
    outcome = state.result()
    assert isinstance(outcome, DocumentOutcome)
    assert (outcome.document_id, outcome.status) == (view["document_id"], "approved")
    assert outcome.content_hash == show(run_id)["content_hash"]
