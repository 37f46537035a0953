"""Clause 1.4 on document steps: a delegate acts within the window, chains end at the last delegate, self and
cyclic delegations are refused, an inactive delegate falls back to the owner, and signatures say "B for A"."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kamflow import approvals, org
from kamflow.app.cli import app
from kamflow.app.serve import prefect_environment
from kamflow.documents import service, views
from kamflow.documents.tables import Signature
from kamflow.errors import InvalidInput, NotPermitted
from kamflow.models import ApprovalTask, Delegation
from kamflow.settings import Settings
from tests.conftest import NOW, TODAY
from tests.unit.documents.conftest import WEEK, act, agree_all, delegate, submit, waiting
from tests.unit.statements import reads, statements


def legal_task(session: Session, document_id: int) -> ApprovalTask:
    [task] = [
        t for t in approvals.pending(session, process=service.PROCESS, subject_id=document_id) if t.role == "legal"
    ]
    return task


def test_a_pending_step_goes_to_the_delegate_and_back_when_the_window_ends(session: Session) -> None:
    document = submit(session)
    delegate(session, "legal", "credit", TODAY, TODAY + dt.timedelta(days=2))
    task = legal_task(session, document.id)
    assert approvals.assignee(session, task, on=TODAY).login == "credit"
    assert task in approvals.pending_for(session, org.employee(session, "credit"), on=TODAY)
    assert task not in approvals.pending_for(session, org.employee(session, "legal"), on=TODAY)
    after = TODAY + dt.timedelta(days=3)
    assert approvals.assignee(session, task, on=after).login == "legal"
    assert task in approvals.pending_for(session, org.employee(session, "legal"), on=after)


def test_a_chain_of_delegations_ends_at_the_last_and_the_signature_reads_b_for_a(session: Session) -> None:
    document = submit(session)
    delegate(session, "legal", "credit")
    delegate(session, "credit", "support")
    task = legal_task(session, document.id)
    assert approvals.assignee(session, task, on=TODAY).login == "support"
    with pytest.raises(NotPermitted):
        approvals.verify_actor(session, task, login="credit", on=TODAY)
    act(session, task, "support")
    signature = session.scalars(select(Signature)).one()
    assert signature.signer.login == "support" and signature.signed_for is not None
    assert views.signer(signature) == "Díaz Herrera M. for Álvarez Molina F."
    assert "| Sales Support Specialist | Díaz Herrera M. for Álvarez Molina F. |" in views.sheet_markdown(
        session, document.id
    )


def test_new_steps_within_the_window_go_to_the_delegate(session: Session) -> None:
    delegate(session, "director", "commercial")
    document = submit(session, author="head.south")
    agree_all(session, document)
    approval = waiting(session, document)["commercial"]
    assert approval.owner.login == "director"
    act(session, approval, "commercial")
    assert document.status == "approved"
    assert (
        "Fernández Gil J. for Martínez Ruiz C." in views.sheet_markdown(session, document.id).split("## AGREED")[0]
    )


def test_an_inactive_delegate_falls_back_to_the_owner(session: Session) -> None:
    document = submit(session)
    delegate(session, "legal", "credit")
    org.employee(session, "credit").active = False
    assert approvals.assignee(session, legal_task(session, document.id), on=TODAY).login == "legal"


def test_self_delegation_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="themselves") as refused:
        delegate(session, "legal", "legal")
    assert refused.value.field == "to"


def test_a_cycle_is_refused_on_any_day_of_the_window_but_not_outside_it(session: Session) -> None:
    delegate(session, "legal", "credit", TODAY + dt.timedelta(days=3), WEEK)
    delegate(session, "credit", "support")
    with pytest.raises(InvalidInput, match="support -> legal -> credit -> support") as refused:
        delegate(session, "support", "legal")
    assert refused.value.field == "to"
    assert "on 2026-03-19" in str(refused.value)
    delegate(session, "support", "legal", TODAY, TODAY + dt.timedelta(days=2))  # before legal's absence: fine


def test_the_cycle_check_reads_once_however_many_orders_overlap_the_window(session: Session) -> None:
    def recorded(frm: str, to: str) -> int:
        with statements(session) as sent:
            delegate(session, frm, to)
        return reads(sent)

    alone = recorded("legal", "credit")
    delegate(session, "credit", "support", TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=4))
    delegate(session, "support", "hr", TODAY + dt.timedelta(days=2), WEEK)
    kams = ["kam.north1", "kam.north2", "kam.south1", "kam.south2"]
    for day in range(6):  # orders elsewhere in the company, each changing the window on another day
        frm, to = kams[day % 4], kams[(day + 1) % 4]
        delegate(session, frm, to, TODAY + dt.timedelta(days=day), TODAY + dt.timedelta(days=day))
    crowded = recorded("planning", "legal")  # planning -> legal -> credit -> support -> hr: no cycle
    assert crowded == alone == 3  # the two logins, then the one cycle check
    with pytest.raises(InvalidInput, match=r"on 2026-03-18: hr -> legal -> credit -> support -> hr"):
        delegate(session, "hr", "legal")


def test_an_empty_window_or_order_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput) as backwards:
        delegate(session, "legal", "credit", WEEK, TODAY)
    assert backwards.value.field == "to_date"
    with pytest.raises(InvalidInput) as no_order:
        org.delegate(
            session,
            frm=org.employee(session, "legal"),
            to=org.employee(session, "credit"),
            valid_from=TODAY,
            valid_to=WEEK,
            order_ref=" ",
            now=NOW,
        )
    assert no_order.value.field == "order_ref"


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The real `kamflow` app in this process, on the test's database (Prefect's environment restored after)."""
    monkeypatch.setenv("KAMFLOW_DATA_DIR", str(settings.data_dir))
    for name, value in prefect_environment(settings).items():
        monkeypatch.setenv(name, value)
    yield CliRunner()


def delegations(settings: Settings) -> int:
    with Session(org_engine(settings)) as session:
        return session.scalar(select(func.count()).select_from(Delegation)) or 0


def org_engine(settings: Settings):  # type: ignore[no-untyped-def]
    from kamflow.db import get_engine

    return get_engine(settings)


def run(cli: CliRunner, *args: str) -> tuple[int, dict[str, object]]:
    done = cli.invoke(app, [*args, "--json"])
    return done.exit_code, json.loads(done.stdout)


def test_the_delegate_command_records_and_refuses_naming_the_field(cli: CliRunner, settings: Settings) -> None:
    base = ["delegate", "--from", "legal", "--from-date", "2026-03-16", "--to-date", "2026-03-20"]
    code, view = run(cli, *base, "--to", "credit", "--order-ref", "Order 7/2026", "--as", "director")
    assert code == 0 and view["to"] == "credit" and delegations(settings) == 1
    for args, exit_code, field in (
        (["--to", "legal", "--order-ref", "O", "--as", "legal"], 2, "to"),
        (["--to", "nobody", "--order-ref", "O", "--as", "legal"], 4, "to"),
        (["--to", "hr", "--order-ref", "O", "--as", "kam.north1"], 3, "as"),
    ):
        code, view = run(cli, *base, *args)
        assert (code, view["field"]) == (exit_code, field)
    code, view = run(
        cli,
        "delegate",
        "--from",
        "credit",
        "--to",
        "legal",
        "--from-date",
        "2026-03-18",
        "--to-date",
        "2026-03-18",
        "--order-ref",
        "O",
        "--as",
        "credit",
    )
    assert (code, view["field"]) == (2, "to") and "cycle" in str(view["message"])
    code, view = run(
        cli, *base[:4], "2026-13-01", "--to-date", "2026-03-20", "--to", "hr", "--order-ref", "O", "--as", "legal"
    )
    assert (code, view["field"]) == (2, "from_date")
    assert delegations(settings) == 1
