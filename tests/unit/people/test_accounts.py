"""Passwords (argon2, never in clear anywhere), sign-in for a token kept in a private file, sign-out, revoking a
person's tokens, and the limit on failed sign-ins, counted from the audit trail."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import clock, org
from kamflow.db import dispose_engines, get_engine
from kamflow.models import Employee
from kamflow.people import signin, tokens
from kamflow.people.tables import ApiToken
from kamflow.settings import Settings
from tests.unit.people.conftest import PASSWORD, answer, events, kamflow, set_password, sign_in


def test_a_password_is_kept_as_an_argon2_hash_and_its_clear_text_nowhere(demo: Settings) -> None:
    set_password("kam.north1")
    with Session(get_engine(demo)) as session:
        stored = org.employee(session, "kam.north1").password_hash
    assert stored is not None and stored.startswith("$argon2id$")
    assert sign_in("kam.north1").exit_code == 0
    assert sign_in("kam.north1", "a wrong password").exit_code == 3
    [failed] = events(demo, "sign_in_failed")
    assert failed.detail == {"login": "kam.north1", "reason": "wrong_password"}
    dispose_engines()  # checkpoint the WAL: every byte the database holds is in these files
    database = b"".join(p.read_bytes() for p in demo.data_dir.glob("kamflow.db*"))
    assert PASSWORD.encode() not in database and b"a wrong password" not in database
    assert events(demo, "password_set")[0].actor == "setup"


def test_a_short_password_is_refused(demo: Settings) -> None:
    done = kamflow("user", "set-password", "kam.north1", "--password-stdin", stdin="short\n")
    assert done.exit_code == 2 and "10 to 1024 characters" in done.stderr


def test_the_password_prompt_asks_twice(demo: Settings) -> None:
    assert kamflow("user", "set-password", "legal", stdin=f"{PASSWORD}\n{PASSWORD}\n").exit_code == 0
    assert sign_in("legal").exit_code == 0


def test_once_an_admin_can_sign_in_only_an_admin_or_the_person_sets_a_password(demo: Settings) -> None:
    set_password("hr")  # the demo company's admin: from now on, people and accounts are an admin's job
    other = "another good password"
    refused = kamflow("user", "set-password", "legal", "--password-stdin", "--as", "kam.north1", stdin=other)
    assert refused.exit_code == 3 and "kam.north1 is not an admin" in refused.stderr
    assert [e.detail["reason"] for e in events(demo, "action_refused")] == ["not_admin"]
    set_password("kam.north1", other, "--as", "kam.north1")  # their own
    set_password("legal", other, "--as", "hr")
    assert [e.actor for e in events(demo, "password_set")] == ["setup", "kam.north1", "hr"]


def test_login_keeps_a_token_only_its_owner_reads_and_logout_revokes_it(demo: Settings) -> None:
    set_password("head.north")
    code, signed = answer("login", "head.north", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and signed["token_file"] == str(demo.token_path)
    assert stat.S_IMODE(demo.token_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(demo.token_path.parent.stat().st_mode) == 0o700
    token = demo.token_path.read_text().strip()
    assert token not in signed.values() and len(token) >= 43
    with Session(get_engine(demo)) as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == tokens.digest(token) != token
        assert row.expires_at - row.created_at == dt.timedelta(hours=12)
    assert events(demo, "signed_in")[0].actor == "head.north"

    assert answer("logout") == (0, {"signed_out": "head.north"})
    assert not demo.token_path.exists()
    with Session(get_engine(demo)) as session:
        assert session.scalars(select(ApiToken)).one().revoked_at is not None
    assert answer("logout") == (0, {"signed_out": None})


def test_user_revoke_ends_every_token_of_a_person(demo: Settings, session: Session) -> None:
    person = org.employee(session, "credit")
    for _ in range(2):
        tokens.issue(session, person, now=clock.now(), lifetime=dt.timedelta(hours=1))
    session.commit()
    assert answer("user", "revoke", "credit") == (0, {"login": "credit", "revoked": 2})
    assert events(demo, "tokens_revoked")[0].detail == {"tokens": 2}
    session.expire_all()
    assert all(row.revoked_at for row in session.scalars(select(ApiToken)))


def test_deactivating_a_person_or_a_new_password_revokes_their_tokens(demo: Settings, session: Session) -> None:
    person = org.employee(session, "credit")
    tokens.issue(session, person, now=clock.now(), lifetime=dt.timedelta(hours=1))
    session.commit()
    set_password("credit")
    assert events(demo, "password_set")[0].detail == {"tokens_revoked": 1}
    tokens.issue(session, person, now=clock.now(), lifetime=dt.timedelta(hours=1))
    session.commit()
    assert answer("user", "deactivate", "credit")[0] == 0
    session.expire_all()
    assert all(row.revoked_at for row in session.scalars(select(ApiToken)))


def test_five_failures_lock_a_login_for_the_window_even_with_the_right_password(demo: Settings) -> None:
    set_password("kam.south1")
    for _ in range(5):
        assert sign_in("kam.south1", "not the password").exit_code == 3
    locked = sign_in("kam.south1")
    assert locked.exit_code == 3 and "too many failed sign-ins for kam.south1: try again after" in locked.stderr
    assert len(events(demo, "sign_in_failed")) == 5 and len(events(demo, "sign_in_locked")) == 1
    assert not demo.token_path.exists()
    # counted from the audit trail: a later process (a fresh engine) sees the same failures ...
    dispose_engines()
    assert sign_in("kam.south1").exit_code == 3
    # ... until the window has passed
    later = clock.now() + dt.timedelta(minutes=16)
    with Session(get_engine(demo)) as session:
        issued = signin.sign_in(
            session, login="kam.south1", password=PASSWORD, now=later, lifetime=demo.token_lifetime,
            failures=demo.sign_in_failures, window=demo.sign_in_window,
        )  # fmt: skip
    assert isinstance(issued, signin.Issued)


def test_an_unknown_login_an_inactive_person_and_one_without_a_password_get_the_same_answer(
    demo: Settings, session: Session
) -> None:
    set_password("support")
    assert answer("user", "deactivate", "support")[0] == 0
    answers = [sign_in(login) for login in ("nobody", "support", "planning")]
    assert {(a.exit_code, a.stderr) for a in answers} == {(3, "error: wrong login or password\n")}
    assert [e.detail["reason"] for e in events(demo, "sign_in_failed")] == [
        "unknown_login",
        "inactive",
        "no_password",
    ]
    assert session.scalar(select(Employee.password_hash).where(Employee.login == "planning")) is None


def test_the_token_file_setting_and_the_xdg_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert Settings().token_path == tmp_path / "xdg" / "kamflow" / "token"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings().token_path == tmp_path / ".config" / "kamflow" / "token"
    monkeypatch.setenv("KAMFLOW_TOKEN_FILE", str(tmp_path / "elsewhere"))
    assert Settings().token_path == tmp_path / "elsewhere"
