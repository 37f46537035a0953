"""The access policy (kamflow/access.py, access.yaml): who may see and act on a customer or a document, rights
that pass to a delegate for the window of the order and end with it, and refusals that name who was refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import access, org
from kamflow.db import unit_of_work
from kamflow.demo_data import give_demo_passwords
from kamflow.discounts import service as discount_requests
from kamflow.documents.service import PROCESS
from kamflow.errors import NotPermitted
from kamflow.models import AuditEvent, Employee
from kamflow.settings import Settings
from tests.conftest import NOW, TODAY, customer
from tests.unit.documents.conftest import submit
from tests.unit.test_discounts import ask


def person(session: Session, login: str) -> Employee:
    return org.employee(session, login)


@pytest.mark.parametrize(
    ("login", "sees"),
    [
        ("kam.north1", True),  # its KAM
        ("head.north", True),  # the KAM's department head
        ("commercial", True),  # up the line
        ("credit", True),  # the credit controller sees every customer
        ("kam.north2", False),  # another KAM of the same department
        ("kam.south1", False),
        ("head.south", False),  # another department's head
        ("legal", False),
    ],
)
def test_a_customer_is_seen_by_those_who_look_after_it_and_the_roles_the_policy_names(
    session: Session, login: str, sees: bool
) -> None:
    client = customer(session, "C0001")
    assert client.kam.login == "kam.north1"
    if sees:
        access.see_customer(session, person(session, login), client, what="exposure", now=NOW)
        [read] = session.scalars(select(AuditEvent).where(AuditEvent.action == "customer_read"))
        assert (read.actor, read.detail["customer"], read.detail["what"]) == (login, "C0001", "exposure")
        assert read.detail["policies"] == {"access": access.current().version} and access.current().version
    else:
        with pytest.raises(NotPermitted) as refused:
            access.see_customer(session, person(session, login), client, what="exposure", now=NOW)
        assert (refused.value.actor, refused.value.field) == (login, "customer")


def test_a_delegate_acts_for_the_absent_kam_on_behalf_of_them_until_the_order_ends(session: Session) -> None:
    client = customer(session, "C0001")
    absent, delegate = person(session, "kam.north1"), person(session, "kam.north2")
    last_day = TODAY + dt.timedelta(days=5)
    org.delegate(
        session, frm=absent, to=delegate, valid_from=TODAY, valid_to=last_day, order_ref="Order 7/2026", now=NOW
    )
    right = access.act_on_customer(session, delegate, client, on=TODAY)
    assert (right.person, right.on_behalf_of, right.order_ref) == (delegate, absent, "Order 7/2026")
    [acted] = session.scalars(select(AuditEvent).where(AuditEvent.action == "acting_on_behalf"))
    assert (acted.actor, acted.detail["on_behalf_of"], acted.detail["order"]) == (
        "kam.north2",
        "kam.north1",
        "Order 7/2026",
    )
    assert access.customer_right(session, delegate, client, on=last_day) is not None
    with pytest.raises(NotPermitted, match="does not look after customer C0001"):
        access.act_on_customer(session, delegate, client, on=last_day + dt.timedelta(days=1))
    assert access.customer_right(session, absent, client, on=TODAY) == access.Right(absent)


def test_a_refusal_is_audited_once_with_who_was_refused_and_why(settings: Settings) -> None:
    refused = NotPermitted("kam.south1 may not see customer C0001", field="customer", actor="kam.south1")
    access.record_refusal(refused)
    with unit_of_work() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "access_refused"))
        assert (event.actor, event.detail) == ("kam.south1", {"reason": refused.message, "field": "customer"})


@pytest.mark.parametrize(
    ("login", "sees"), [("head.north", True), ("hr", True), ("legal", True), ("kam.south1", False)]
)
def test_a_document_is_seen_by_its_author_the_people_on_its_steps_and_the_policys_roles(
    session: Session, login: str, sees: bool
) -> None:
    document = submit(session)  # by head.north; its first stage asks legal, hr, planning and the department
    reader, seen = person(session, login), {"document_id": document.id, "author_id": document.author_id}
    if sees:
        access.see_document(session, reader, **seen, process=PROCESS)
    else:
        with pytest.raises(NotPermitted, match=f"may not see document {document.id}"):
            access.see_document(session, reader, **seen, process=PROCESS)


def refusals(session: Session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "access_refused")))


def test_a_kam_reading_another_kams_customer_or_document_is_refused_with_exit_3_and_audited(
    session: Session, kamflow: Any
) -> None:
    """Through the CLI, as a user would: exposure, a discount request, a document and a stored decision."""
    row = discount_requests.submit(session, request=ask(session), flow_run_id=None, now=NOW)
    document = submit(session)
    session.commit()
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.subject_type == "discount_request", AuditEvent.subject_id == row.id)
    ).first()
    assert event is not None
    reads = [
        ("credit", "exposure", "C0001"),
        ("discount", "show", str(row.id)),
        ("doc", "show", str(document.id)),
        ("doc", "sheet", str(document.id)),
        ("rules", "explain", "discount", "--decision", str(event.id)),
    ]
    for args in reads:
        code, answer = kamflow(*args, "--as", "kam.south1")
        assert code == 3, (args, answer)
    assert [e.actor for e in refusals(session)] == ["kam.south1"] * len(reads)
    for args in reads:
        code, answer = kamflow(*args, "--as", "head.north")  # the KAM's department head, the document's author
        assert code == 0, (args, answer)
    seen = session.scalars(select(AuditEvent).where(AuditEvent.action == "customer_read")).all()
    assert {(e.actor, e.detail["what"]) for e in seen} == {
        ("head.north", "exposure"),
        ("head.north", f"discount request {row.id}"),
        ("head.north", f"decision {event.id}"),
    }


def test_admin_commands_need_an_admin_once_an_admin_can_sign_in(session: Session, kamflow: Any) -> None:
    give_demo_passwords(session, now=NOW)  # hr is the demo's admin
    session.commit()
    jobs = {
        ("review", "--as-of", TODAY.isoformat()): "run the review on demand",
        ("import", "customers", "/nonexistent.csv"): "import data",
        ("rules", "replay", "discount", "--candidate", "/nonexistent.yaml"): "replay the rules",
    }
    for args, job in jobs.items():  # a credit controller too: the company's policy keeps these to admins
        code, answer = kamflow(*args, "--as", "credit")
        assert (code, answer["field"]) == (3, "as"), (args, answer)
        assert answer["message"] == f"credit is not an admin: only an admin may {job}", answer
    refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "action_refused")).all()
    assert [(e.actor, e.detail["reason"], e.detail["refused"]) for e in refused] == [
        ("credit", "not_admin", job) for job in jobs.values()
    ]
    code, answer = kamflow("import", "customers", "/nonexistent.csv", "--as", "hr")
    assert code == 2 and answer["field"] != "as"  # past the admin check: the file is what is wrong
