"""Who a command acts as. KAMFLOW_AUTH=required: a live token of an active person, `--as` only through a delegation
in force; every refusal exits 3 and is audited. KAMFLOW_AUTH=demo: `--as` honoured, said once on stderr."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from kamflow import clock, org
from kamflow.people import tokens
from kamflow.settings import Settings, use_settings
from tests.unit.documents.conftest import delegate
from tests.unit.people.conftest import answer, events, kamflow, set_password, sign_in
from tests.unit.test_processes import waiting_discount


def refusals(settings: Settings) -> list[tuple[str, str]]:
    return [(e.actor, e.detail["reason"]) for e in events(settings, "sign_in_refused")]


def signed_in_as(login: str, required: Settings) -> str:
    """Sign `login` in (the password set while in the demo mode) and return the token."""
    use_settings(required.model_copy(update={"auth": "demo"}))
    set_password(login)
    assert sign_in(login).exit_code == 0
    use_settings(required)
    return required.token_path.read_text().strip()


def test_the_demo_mode_acts_as_named_and_says_so_once(demo: Settings) -> None:
    done = kamflow("tasks", "--as", "head.north")
    assert done.exit_code == 0
    assert done.stderr == "demo mode: acting as head.north without sign-in (KAMFLOW_AUTH=demo)\n"
    assert kamflow("tasks").exit_code == 2  # nobody named
    assert kamflow("tasks", "--as", "nobody").exit_code == 4


def test_required_mode_acts_as_the_token_s_person(required: Settings, session: Session) -> None:
    waiting_discount(session, required)  # a task for head.north
    session.commit()
    signed_in_as("head.north", required)
    done = kamflow("tasks", "--json")
    assert done.exit_code == 0 and "demo mode" not in done.stderr
    [task] = answer("tasks")[1]
    assert (task["owner"], task["delegated"]) == ("head.north", False)
    assert kamflow("tasks", "--as", "head.north").exit_code == 0  # naming oneself is fine
    assert not refusals(required)


def test_a_script_s_token_comes_from_kamflow_token(required: Settings) -> None:
    token = signed_in_as("head.north", required)
    required.token_path.unlink()
    assert kamflow("tasks").exit_code == 3
    use_settings(required.model_copy(update={"token": SecretStr(token)}))
    assert kamflow("tasks").exit_code == 0


def test_no_token_a_wrong_one_an_expired_or_revoked_one_and_an_inactive_person_are_refused(
    required: Settings, session: Session
) -> None:
    done = kamflow("tasks")
    assert done.exit_code == 3 and done.stderr == "error: not signed in: sign in with kamflow login\n"

    required.token_path.parent.mkdir(parents=True)
    required.token_path.write_text("not-a-token\n")
    assert kamflow("tasks").exit_code == 3

    then = clock.now() - dt.timedelta(hours=13)
    old, _row = tokens.issue(
        session, org.employee(session, "kam.north1"), now=then, lifetime=dt.timedelta(hours=12)
    )
    session.commit()
    required.token_path.write_text(old)
    done = kamflow("tasks")
    assert done.exit_code == 3 and "the token has expired: sign in with kamflow login" in done.stderr

    token = signed_in_as("head.north", required)
    assert kamflow("user", "revoke", "head.north", "--as", "head.north").exit_code == 0  # setting up: no admin yet
    required.token_path.write_text(token)
    assert kamflow("tasks").exit_code == 3

    token, _row = tokens.issue(
        session, org.employee(session, "legal"), now=clock.now(), lifetime=dt.timedelta(hours=1)
    )
    session.commit()
    org.employee(session, "legal").active = False
    session.commit()
    required.token_path.write_text(token)
    assert kamflow("tasks").exit_code == 3

    assert refusals(required) == [
        ("anonymous", "no_token"),
        ("anonymous", "unknown_token"),
        ("anonymous", "expired"),
        ("anonymous", "revoked"),
        ("anonymous", "inactive"),
    ]
    [first, *_, last] = events(required, "sign_in_refused")
    assert first.detail == {"reason": "no_token"} and first.subject_id == 0
    assert last.subject_id == org.employee(session, "legal").id and token not in str(last.detail)


def test_acting_as_someone_else_needs_a_delegation_in_force_today(required: Settings, session: Session) -> None:
    required = required.model_copy(update={"token_hours": 72})  # the token outlives the delegation
    waiting_discount(session, required)  # a task for head.north
    session.commit()
    signed_in_as("kam.north2", required)
    done = kamflow("tasks", "--as", "head.north")
    assert done.exit_code == 3 and "kam.north2 may not act as head.north" in done.stderr
    assert refusals(required) == [("kam.north2", "not_delegated")]

    today = clock.today()
    delegate(session, "head.north", "kam.north2", today, today)
    session.commit()
    # as head.north: while the delegation holds, their tasks are with their delegate, not with them
    assert answer("tasks", "--as", "head.north") == (0, [])
    code, [task] = answer("tasks")  # as themselves: head.north's task, delegated to them
    assert code == 0 and (task["owner"], task["delegated"]) == ("head.north", True)
    [on_behalf] = events(required, "acting_on_behalf")
    assert (on_behalf.actor, on_behalf.subject_id) == ("kam.north2", org.employee(session, "head.north").id)

    tomorrow = clock.now() + dt.timedelta(days=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", lambda: tomorrow)
        assert kamflow("tasks", "--as", "head.north").exit_code == 3
    assert refusals(required) == [("kam.north2", "not_delegated")] * 2
