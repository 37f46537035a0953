"""The approval chain on a real SQLite database: stages in order, parallel steps, quorums, returns, rejects,
corrections, signatures, acknowledgments and separation of duties."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kamflow import approvals, audit, org
from kamflow.documents import answers, service, views
from kamflow.documents.tables import Document, DocumentVersion, Signature
from kamflow.errors import InvalidInput, NotPermitted
from kamflow.models import ApprovalTask
from tests.conftest import NOW, TODAY
from tests.unit.documents.conftest import DRAFT, MEMO, act, agree_all, one_stage_chain, submit, waiting
from tests.unit.statements import reads, statements

AGREEING = {"legal", "hr", "planning", "commercial"}  # commercial: for Sales North, whose head is the author
KAMS = {"kam.north1", "kam.north2", "kam.south1", "kam.south2"}


def test_the_agreement_steps_open_at_once_and_the_director_waits_for_all_of_them(session: Session) -> None:
    document = submit(session)
    assert set(waiting(session, document)) == AGREEING
    for login in ("legal", "hr", "planning"):
        act(session, waiting(session, document)[login], login)
        assert "director" not in waiting(session, document)
    act(session, waiting(session, document)["commercial"], "commercial")
    assert set(waiting(session, document)) == {"director"} and document.status == "in_review"


def test_the_director_corrects_and_signs_then_the_kams_acknowledge(session: Session) -> None:
    document = submit(session)
    agree_all(session, document)
    corrected = DRAFT.replace("1.1. The clerk is a specialist.", "1.1. The clerk is a senior specialist.")
    act(session, waiting(session, document)["director"], "director", content=corrected)
    assert (document.status, document.version, document.effective_version) == ("approved", 2, 2)
    assert set(waiting(session, document)) == KAMS
    signatures = session.scalars(select(Signature).order_by(Signature.id)).all()
    assert [(s.kind, s.version) for s in signatures] == [("agreed", 1)] * 4 + [("approved", 2)]
    final = service.version(session, document)
    assert final.reason == "corrected" and final.made_by.login == "director"
    sheet = views.sheet_markdown(session, document.id)
    approved, agreed = sheet.split("## APPROVED")[1].split("## AGREED")
    assert "Company Director | Martínez Ruiz C." in approved and final.content_hash in sheet
    assert all(
        name in agreed for name in ("Álvarez Molina F.", "Romero Vega I.", "Torres Medina R.", "Fernández Gil J.")
    )
    assert "correction of version 1" in sheet
    for login, task in waiting(session, document).items():
        assert not service.finished(session, document.id)
        act(session, task, login)
    journal = views.acks(session, document.id)
    assert {r.login for r in journal.acknowledged} == KAMS and journal.not_yet == []
    assert journal.version == 2 and service.finished(session, document.id)


def test_a_return_goes_to_the_author_and_the_revision_asks_everyone_again(session: Session) -> None:
    document = submit(session)
    act(session, waiting(session, document)["legal"], "legal")
    act(session, waiting(session, document)["planning"], "planning", "return", comment="4.1: name the code")
    assert document.status == "returned" and set(waiting(session, document)) == {"head.north"}
    cancelled = session.scalar(select(func.count()).where(ApprovalTask.status == "cancelled"))
    assert cancelled == 2  # hr's and commercial's turns
    revise = waiting(session, document)["head.north"]
    assert "4.1: name the code" in revise.explanation

    revised = DRAFT.replace("4.1. Within the labour code.", "4.1. Within the Workers' Statute.")
    act(session, revise, "head.north", "revise", content=revised)
    assert (document.status, document.round, document.version) == ("in_review", 2, 2)
    again = waiting(session, document)
    assert set(again) == AGREEING  # legal agreed to version 1: asked again
    assert "Changes from version 1" in again["legal"].explanation
    assert "+4.1. Within the Workers' Statute." in again["legal"].explanation

    agree_all(session, document)
    act(session, waiting(session, document)["director"], "director")
    sheet = views.sheet_markdown(session, document.id)
    agreed = sheet.split("## AGREED")[1].split("## Not carried over")[0]
    assert agreed.count("| 2 |") == 4 and "| 1 |" not in agreed
    assert "| Legal Counsel | Álvarez Molina F. |" in sheet.split("## Not carried over")[1]


def test_a_reject_ends_the_chain_and_cancels_every_step_still_waiting(session: Session) -> None:
    document = submit(session)
    act(session, waiting(session, document)["legal"], "legal")
    act(session, waiting(session, document)["hr"], "hr", "reject", comment="we need no clerk")
    assert document.status == "rejected" and waiting(session, document) == {}
    assert service.finished(session, document.id)
    statuses = [s.status for s in views.show(session, document.id, on=TODAY).steps]
    assert statuses == ["met", "rejected", "cancelled", "cancelled"]
    trail = audit.trail(session, subject_type="document", subject_id=document.id)
    assert trail[-1].action == "document_rejected" and trail[-1].detail["comment"] == "we need no clerk"


@pytest.mark.parametrize(
    ("login", "action", "comment", "content", "field"),
    [
        ("legal", "return", "", None, "comment"),
        ("legal", "reject", "  ", None, "comment"),
        ("legal", "approve", "", DRAFT + "\nmore\n", "file"),
        ("legal", "revise", "", DRAFT + "\nmore\n", "action"),
    ],
)
def test_a_bad_answer_names_its_field_and_writes_nothing(
    session: Session, login: str, action: str, comment: str, content: str | None, field: str
) -> None:
    document = submit(session)
    task = waiting(session, document)[login]
    with pytest.raises(InvalidInput) as refused:
        act(session, task, login, action, comment=comment, content=content)
    assert refused.value.field == field
    session.refresh(task)
    assert task.status == "pending"


def test_a_revision_must_keep_the_sections_and_change_something(session: Session) -> None:
    document = submit(session)
    act(session, waiting(session, document)["hr"], "hr", "return", comment="fix 2.1")
    revise = waiting(session, document)["head.north"]
    for content, says in ((DRAFT.split("## 3.")[0], "Rights, Responsibility"), (DRAFT, "same")):
        with pytest.raises(InvalidInput, match=says) as refused:
            answers.check_for(session, revise)(revise, {"action": "revise", "content": content})
        assert refused.value.field == "file"
    with pytest.raises(NotPermitted) as other:
        answers.revision_task(session, document.id, login="hr", on=TODAY)
    assert other.value.field == "as"


def test_nobody_revises_a_document_under_review(session: Session) -> None:
    document = submit(session)
    with pytest.raises(NotPermitted, match="in review") as refused:
        answers.revision_task(session, document.id, login="head.north", on=TODAY)
    assert refused.value.field == "document"


def test_the_authors_turn_to_revise_is_found_in_a_fixed_handful_of_reads(session: Session) -> None:
    document = submit(session)
    act(session, waiting(session, document)["hr"], "hr", "return", comment="fix 2.1")
    with statements(session) as sent:
        task = answers.revision_task(session, document.id, login="head.north", on=TODAY)
    assert task.role == "author" and task.status == "pending"
    assert reads(sent) == 4  # the document, its pending tasks with their owners, their steps, the delegations


def test_the_steps_of_any_number_of_tasks_are_read_in_one_statement(session: Session) -> None:
    def read() -> tuple[int, list[str]]:
        query = select(ApprovalTask).where(
            ApprovalTask.process == service.PROCESS, ApprovalTask.status == "pending"
        )
        tasks = list(session.scalars(query.order_by(ApprovalTask.id)))
        with statements(session) as sent:
            steps = service.steps_of(session, tasks)
        return len(sent), [steps[task.id].name for task in tasks]

    submit(session)
    one = read()
    for _ in range(3):
        submit(session)
    four = read()
    assert one == (1, ["legal", "hr", "planning", "department"]) and four == (1, one[1] * 4)


def test_the_author_never_agrees_or_approves_their_own_document(session: Session) -> None:
    document = submit(session, author="head.north")
    assert "head.north" not in waiting(session, document)  # the department step went to the commercial director
    task = waiting(session, document)["commercial"]
    with pytest.raises(NotPermitted, match="may not decide") as refused:
        approvals.verify_actor(session, task, login="head.north", on=TODAY)
    assert refused.value.field == "approver"
    memo = submit(
        session,
        author="head.north",
        doc_type="memo",
        content=MEMO,
        fields={},
        chains=one_stage_chain("{name: heads, who: {role: department_head}, quorum: any}"),
    )
    assert set(waiting(session, memo)) == {"head.south"}


def test_a_document_nobody_but_its_author_could_approve_is_refused(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(Document))
    with pytest.raises(InvalidInput, match="nobody but the author") as refused:
        submit(session, author="director")
    assert refused.value.field == "type"
    assert session.scalar(select(func.count()).select_from(Document)) == before


def test_any_of_needs_one_and_cancels_the_rest(session: Session) -> None:
    chains = one_stage_chain("{name: heads, who: {role: department_head}, quorum: any}")
    memo = submit(session, author="kam.north1", doc_type="memo", content=MEMO, fields={}, chains=chains)
    assert set(waiting(session, memo)) == {"head.north", "head.south"}
    act(session, waiting(session, memo)["head.south"], "head.south")
    assert memo.status == "approved" and waiting(session, memo) == {}
    assert [t.status for t in views.show(session, memo.id, on=TODAY).steps[0].tasks] == [
        "cancelled",
        "decided",
    ]


def test_all_of_waits_for_everyone(session: Session) -> None:
    chains = one_stage_chain("{name: heads, who: {role: department_head}, quorum: all}")
    memo = submit(session, author="kam.north1", doc_type="memo", content=MEMO, fields={}, chains=chains)
    act(session, waiting(session, memo)["head.north"], "head.north")
    assert memo.status == "in_review" and set(waiting(session, memo)) == {"head.south"}
    act(session, waiting(session, memo)["head.south"], "head.south")
    assert memo.status == "approved"


def test_n_of_m_needs_n(session: Session) -> None:
    chains = one_stage_chain("{name: kams, who: {role: kam}, quorum: 2}")
    memo = submit(session, author="head.north", doc_type="memo", content=MEMO, fields={}, chains=chains)
    assert set(waiting(session, memo)) == KAMS
    act(session, waiting(session, memo)["kam.south1"], "kam.south1")
    assert memo.status == "in_review"
    act(session, waiting(session, memo)["kam.north2"], "kam.north2")
    assert memo.status == "approved" and waiting(session, memo) == {}


def test_a_quorum_larger_than_the_people_is_refused_at_submission(session: Session) -> None:
    chains = one_stage_chain("{name: heads, who: {role: department_head}, quorum: 3}")
    with pytest.raises(InvalidInput, match="needs 3 of 2") as refused:
        submit(session, author="kam.north1", doc_type="memo", content=MEMO, fields={}, chains=chains)
    assert refused.value.field == "type"


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"doc_type": "poem"}, "type", "unknown document type"),
        ({"content": DRAFT.split("## 3.")[0]}, "file", "Rights, Responsibility"),
        ({"fields": {"department": "Sales North"}}, "position", "--field position="),
        ({"fields": {"department": "Nowhere", "position": "Key Account Manager"}}, "department", "no department"),
        ({"fields": {"department": "Sales North", "position": "Astronaut"}}, "position", "nobody holds"),
        (
            {"fields": {"department": "Sales North", "position": "Key Account Manager", "colour": "red"}},
            "colour",
            "no field",
        ),
    ],
)
def test_a_bad_submission_names_its_field_and_writes_nothing(
    session: Session, changes: dict[str, object], field: str, says: str
) -> None:
    before = [session.scalar(select(func.count()).select_from(t)) for t in (Document, DocumentVersion)]
    with pytest.raises(InvalidInput, match=says) as refused:
        submit(session, **changes)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert [session.scalar(select(func.count()).select_from(t)) for t in (Document, DocumentVersion)] == before


def test_the_shipped_contract_act_and_agreement_chains_run(session: Session) -> None:
    fields = {"customer": "C0001"}
    contract = submit(
        session, author="kam.north1", doc_type="customer_contract", content=contract_text(), fields=fields
    )
    assert set(waiting(session, contract)) == {"legal", "credit", "head.north"}
    agree_all(session, contract)
    assert set(waiting(session, contract)) == {"commercial"}
    act_ = submit(
        session,
        author="kam.north1",
        doc_type="shortage_act",
        content="# Act\n\n## Delivery\n\nx\n\n## Findings\n\ny\n\n## Commission\n\nz\n",
        fields=fields,
    )
    assert set(waiting(session, act_)) == {"support", "kam.north2", "kam.south1", "kam.south2"}
    agreement = submit(
        session,
        author="kam.south1",
        doc_type="discount_agreement",
        content="# Agreement\n\n## Parties\n\na\n\n## Discount\n\nb\n\n## Term\n\nc\n",
        fields=fields,
    )
    assert set(waiting(session, agreement)) == {"head.south", "credit"}
    with pytest.raises(InvalidInput) as refused:
        submit(
            session,
            author="kam.north1",
            doc_type="customer_contract",
            content=contract_text(),
            fields={"customer": "C9"},
        )
    assert refused.value.field == "customer"


def contract_text() -> str:
    return "# Contract\n\n## Parties\n\na\n\n## Subject\n\nb\n\n## Prices and payment\n\nc\n\n## Term\n\nd\n"


def test_show_lists_the_round_and_who_it_waits_for(session: Session) -> None:
    document = submit(session)
    view = views.show(session, document.id, on=TODAY)
    assert view.status == "in_review" and view.version == 1 and view.diff == ""
    assert {w.assignee for w in view.waiting_for} == AGREEING
    assert view.content_hash == service.version(session, document).content_hash
    assert org.employee(session, view.author).login == "head.north"
    assert view.steps[0].tasks[0].due_at == (NOW + dt.timedelta(days=3)).isoformat()  # 3 business days
