"""What people read about a document (`doc show`, `doc sheet`, `doc acks`) costs a fixed handful of statements,
however many people the chain names."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from kamflow import org
from kamflow.documents import service, views
from kamflow.models import Employee
from tests.conftest import TODAY
from tests.unit.documents.conftest import MEMO, act, delegate, memo_chain, submit, waiting
from tests.unit.statements import statements

CHAIN = memo_chain(
    """
    - name: approval
      kind: approve
      steps:
        - {name: kams, who: {role: kam}}
    - name: acknowledgment
      kind: acknowledge
      steps:
        - {name: readers, who: {role: kam}}
    """
)


def read_all(session: Session, document_id: int) -> tuple[int, views.DocumentView, views.AckJournal]:
    """The statements `show`, `sheet` and `acks` send together, and what `show` and `acks` say."""
    with statements(session) as sent:
        shown = views.show(session, document_id, on=TODAY)
        views.sheet_markdown(session, document_id)
        journal = views.acks(session, document_id)
    return len(sent), shown, journal


def approved_memo(session: Session) -> int:
    """A memo every KAM approved, one of them acknowledged; kam.south2's part done by their delegate."""
    document = submit(session, author="head.north", doc_type="memo", content=MEMO, fields={}, chains=CHAIN)
    for login, task in waiting(session, document).items():
        act(session, task, login)
    acknowledgments = waiting(session, document)
    act(session, acknowledgments["kam.north1"], "kam.north1")
    return document.id


def test_reading_a_document_costs_the_same_for_four_people_or_fourteen(session: Session) -> None:
    delegate(session, "kam.south2", "support", TODAY, TODAY)
    four = approved_memo(session)
    few, shown, journal = read_all(session, four)
    assert shown.status == "approved" and len(shown.steps) == 2
    assert {w.assignee for w in shown.waiting_for} == {"kam.north2", "kam.south1", "support"}
    assert [r.login for r in journal.acknowledged] == ["kam.north1"] and len(journal.not_yet) == 3
    for n in range(10):
        session.add(
            Employee(
                login=f"kam.extra{n}",
                full_name=f"Extra Person {n}",
                position="Key Account Manager",
                department="Sales North",
                role="kam",
                manager_id=org.employee(session, "head.north").id,
                active=True,
            )
        )
    fourteen = approved_memo(session)
    many, shown, journal = read_all(session, fourteen)
    assert sum(len(step.tasks) for step in shown.steps) == 28 and len(journal.not_yet) == 13
    sheet = views.sheet_markdown(session, fourteen)
    assert sheet.count("| Key Account Manager |") == 13
    assert "| Sales Support Specialist | Díaz Herrera M. for" in sheet  # kam.south2's delegate
    assert many == few == 13


def test_a_waiting_steps_assignee_follows_the_delegation_of_the_day(session: Session) -> None:
    document = submit(session)
    delegate(session, "legal", "credit", TODAY, TODAY)
    for on, assignee in ((TODAY, "credit"), (TODAY + dt.timedelta(days=1), "legal")):
        shown = views.show(session, document.id, on=on)
        legal = [t for s in shown.steps if s.step == "legal" for t in s.tasks]
        assert [t.assignee for t in legal] == [assignee]
        assert {w.step: w.assignee for w in shown.waiting_for}["legal"] == assignee
    assert service.finished(session, document.id) is False
