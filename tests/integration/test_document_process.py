"""The document approval chain end to end: a real Prefect API, a real runner process, the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlalchemy import func, select

from kamflow import approvals
from kamflow.db import unit_of_work
from kamflow.documents import service
from kamflow.documents.submission import DEMO_JOB_DESCRIPTION
from kamflow.documents.tables import Document
from kamflow.models import AuditEvent
from tests.integration.conftest import Stack, logs

pytestmark = pytest.mark.integration

KAMS = ["kam.north1", "kam.north2", "kam.south1", "kam.south2"]
RUSSIAN_LAW = "the legislative acts of the Russian Federation;"
SPANISH_LAW = "the laws of Spain, the Workers' Statute (Estatuto de los Trabajadores) included;"
CLAUSE_7 = "2.8. Within the conditions set in clause 7,"
CREDIT_TERMS = "2.8. Within the credit conditions the company sets for the customer,"


def ok(stack: Stack, *args: str) -> dict[str, Any]:
    done = stack.kamflow(*args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr + logs(stack.settings.data_dir / "runner.log")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def refused(stack: Stack, *args: str) -> tuple[int, str, str]:
    done = stack.kamflow(*args, "--json")
    answer = json.loads(done.stdout)
    return done.returncode, answer["field"], answer["message"]


def task_of(view: dict[str, Any], login: str) -> str:
    [task] = [str(w["task_id"]) for w in view["waiting_for"] if w["assignee"] == login]
    return task


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def documents() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Document)) or 0


def audit_events() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_the_kam_job_description_is_agreed_returned_revised_corrected_signed_and_acknowledged(
    live: Stack, tmp_path: Path
) -> None:
    draft = DEMO_JOB_DESCRIPTION.read_text(encoding="utf-8")
    view = ok(
        live, "doc", "submit", str(DEMO_JOB_DESCRIPTION), "--type", "job_description",
        "--field", "department=Sales North", "--field", "position=Key Account Manager", "--as", "head.north",
    )  # fmt: skip
    doc = str(view["document_id"])
    assert view["status"] == "in_review" and view["version"] == 1
    assert {w["assignee"] for w in view["waiting_for"]} == {"legal", "hr", "planning", "commercial"}
    assert task_of(view, "legal") in [str(t["task_id"]) for t in ok(live, "tasks", "--as", "legal")]

    ok(live, "decide", task_of(view, "hr"), "approve", "--as", "hr")
    returned = ok(
        live, "decide", task_of(view, "legal"), "return", "--as", "legal",
        "--comment", "1.6, 4.1, 4.2: we are a Spanish company; cite Spanish law",
    )  # fmt: skip
    assert returned["status"] == "returned" and [w["assignee"] for w in returned["waiting_for"]] == ["head.north"]

    revised = draft.replace(RUSSIAN_LAW, SPANISH_LAW).replace(
        "of the Russian Federation in force", "in force in Spain"
    )
    again = ok(live, "doc", "revise", doc, write(tmp_path, "v2.md", revised), "--as", "head.north")
    assert again["status"] == "in_review" and again["version"] == 2 and again["round"] == 2
    assert {w["assignee"] for w in again["waiting_for"]} == {"legal", "hr", "planning", "commercial"}
    assert f"+- {SPANISH_LAW}" in again["diff"] and f"-- {RUSSIAN_LAW}" in again["diff"]
    with unit_of_work() as session:  # those asked again see what changed
        hr_task = approvals.get(session, int(task_of(again, "hr")))
        assert "Changes from version 1" in hr_task.explanation and SPANISH_LAW in hr_task.explanation

    for login in ("legal", "hr", "planning", "commercial"):
        view = ok(live, "decide", task_of(again, login), "approve", "--as", login)
    corrected = write(tmp_path, "v3.md", revised.replace(CLAUSE_7, CREDIT_TERMS))
    signed = ok(live, "decide", task_of(view, "director"), "approve", "--file", corrected, "--as", "director")
    assert signed["status"] == "approved" and signed["version"] == 3 and signed["effective_version"] == 3
    assert sorted(w["assignee"] for w in signed["waiting_for"]) == KAMS

    sheet = ok(live, "doc", "sheet", doc)["markdown"]
    approved, rest = sheet.split("## APPROVED")[1].split("## AGREED")
    agreed, earlier = rest.split("## Not carried over")
    assert signed["content_hash"] in sheet and "| Company Director | Martínez Ruiz C. |" in approved
    assert "| 3 |" in approved and agreed.count("| 2 |") == 4
    for name in ("Álvarez Molina F.", "Romero Vega I.", "Torres Medina R.", "Fernández Gil J."):
        assert name in agreed
    assert "Romero Vega I." in earlier and "Torres Medina R." not in earlier and "Álvarez" not in earlier
    assert sheet.count(" CET |") + sheet.count(" CEST |") == 6  # every signature has its date and time

    ok(live, "decide", task_of(signed, "kam.south1"), "approve", "--as", "kam.south1")
    journal = ok(live, "doc", "acks", doc)
    assert [r["login"] for r in journal["acknowledged"]] == ["kam.south1"] and journal["version"] == 3
    assert [r["login"] for r in journal["not_yet"]] == ["kam.north1", "kam.north2", "kam.south2"]

    with get_client(sync_client=True) as client:
        [artifact] = client.read_latest_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"document-{doc}-approval-sheet"]))
        )
    assert "## APPROVED" in str(artifact.data) and signed["content_hash"] in str(artifact.data)


def test_a_chain_survives_a_restart_of_every_process_mid_way(live: Stack) -> None:
    view = ok(
        live, "doc", "submit", write_agreement(live), "--type", "discount_agreement", "--field", "customer=C0001",
        "--as", "kam.north1",
    )  # fmt: skip
    ok(live, "decide", task_of(view, "head.north"), "approve", "--as", "head.north")
    live.kill_runner()
    live.start_runner()
    view = ok(live, "decide", task_of(view, "credit"), "approve", "--as", "credit")
    assert [w["assignee"] for w in view["waiting_for"]] == ["commercial"]
    done = ok(live, "decide", task_of(view, "commercial"), "approve", "--as", "commercial")
    assert done["status"] == "approved" and done["waiting_for"] == []
    with unit_of_work() as session:
        assert service.finished(session, done["document_id"])
        assert ok(live, "doc", "sheet", str(done["document_id"]))["markdown"].count("| Credit Controller |") == 1


def write_agreement(stack: Stack) -> str:
    return write(
        stack.settings.data_dir,
        "agreement.md",
        "# Discount agreement with C0001\n\n## Parties\n\nThe company and C0001.\n\n"
        "## Discount\n\nColumn 4, 12 %.\n\n## Term\n\nUntil 31 December.\n",
    )


def test_a_reject_ends_the_chain_and_the_cli_refuses_what_may_not_be_done_naming_the_field(
    live: Stack, tmp_path: Path
) -> None:
    before = documents()
    bad = write(tmp_path, "bad.md", "# JD\n\n## 1. General provisions\n\n## 2. Duties\n")
    assert refused(
        live, "doc", "submit", bad, "--type", "job_description", "--field", "department=Sales North",
        "--field", "position=Key Account Manager", "--as", "head.north",
    )[:2] == (2, "file")  # fmt: skip
    assert documents() == before

    view = ok(
        live, "doc", "submit", write_agreement(live), "--type", "discount_agreement", "--field", "customer=C0003",
        "--as", "kam.south1",
    )  # fmt: skip
    head, credit, doc = task_of(view, "head.south"), task_of(view, "credit"), str(view["document_id"])
    events = audit_events()
    assert refused(live, "decide", head, "approve", "--as", "kam.south1")[:2] == (3, "approver")
    assert refused(live, "decide", head, "return", "--as", "head.south")[:2] == (2, "comment")
    edited = write(tmp_path, "edit.md", "# Agreement\n\n## Parties\n\n## Discount\n\n## Term\n\nMore.\n")
    assert refused(live, "doc", "revise", doc, edited, "--as", "kam.south1")[:2] == (3, "document")
    assert audit_events() == events

    rejected = ok(live, "decide", head, "reject", "--comment", "no agreement this year", "--as", "head.south")
    assert rejected["status"] == "rejected" and rejected["waiting_for"] == []
    code, field, message = refused(live, "decide", credit, "approve", "--as", "credit")
    assert (code, field) == (2, "task") and "cancelled" in message
