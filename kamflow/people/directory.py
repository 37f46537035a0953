"""The org chart as data people keep: `kamflow import employees FILE.csv` and `kamflow user add|edit|deactivate`,
one set of checks for both.

The file (as kamflow.imports reads every CSV): login, name, position, department, superior* (a login; empty for
the top), roles (the job role first, then extra roles, separated by `;`, e.g. `hr;admin`), active* (true/false,
default true), language* (es or en; empty: the company's default), email* (where notifications go; empty:
login@KAMFLOW_MAIL_DOMAIN). Rows are matched by login: a new login adds a
person, a known one is updated (their password and tokens stay). A superior may be a person of the database or
of the file, above or below in it; no reporting line may run in a circle. A file with any bad row imports nothing
and the error lists every bad line with its field. Deactivating someone revokes their tokens.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from kamflow import access, audit
from kamflow.bounds import Code
from kamflow.errors import InvalidInput
from kamflow.imports import Batch, CsvRow, lookup, read_rows, reject_if_bad, unique
from kamflow.models import Employee
from kamflow.org import employee
from kamflow.people import tokens, trail

JOB_ROLES = (
    "director",
    "commercial_director",
    "department_head",
    "kam",
    "sales_support",
    "legal",
    "hr",
    "economic_planning",
    "credit_controller",
)
"""The job roles the rules, chains and policies name (Employee.role)."""

_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def _login(value: str) -> str:
    if not _LOGIN.fullmatch(value):
        raise ValueError("up to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


def _split_roles(value: Any) -> Any:
    return [part.strip() for part in value.split(";") if part.strip()] if isinstance(value, str) else value


def _known_roles(roles: list[str]) -> list[str]:
    if not roles:
        raise ValueError(f"name the job role: one of {', '.join(JOB_ROLES)}")
    if roles[0] not in JOB_ROLES:
        raise ValueError(
            f"{roles[0]!r} is not a job role; the job role comes first: one of {', '.join(JOB_ROLES)}"
        )
    for extra in roles[1:]:
        extra_roles = sorted(access.current().admin_roles)  # held beside the job role (Employee.roles)
        if extra not in extra_roles:
            raise ValueError(f"{extra!r} is not an extra role; one of {', '.join(extra_roles)}")
    if len(set(roles)) < len(roles):
        raise ValueError("a role is named twice")
    return roles


Login = Annotated[str, AfterValidator(_login)]
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+"
Email = Annotated[str, Code(Employee.email, _EMAIL, example="ana.garcia@example.com")]
Roles = Annotated[list[str], BeforeValidator(_split_roles), AfterValidator(_known_roles)]


class PersonRow(CsvRow):
    """One person as the file, `user add` and `user edit` give them."""

    login: Login
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    position: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    department: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    superior: Login | None = None
    roles: Roles
    active: bool = True
    language: Literal["es", "en"] | None = None
    email: Email | None = None


def as_row(person: Employee) -> dict[str, Any]:
    """A person's fields as a PersonRow names them."""
    return {
        "login": person.login,
        "name": person.full_name,
        "position": person.position,
        "department": person.department,
        "superior": person.manager.login if person.manager else None,
        "roles": [person.role, *person.roles],
        "active": person.active,
        "language": person.language,
        "email": person.email,
    }


@dataclass
class Changes:
    """What a write did, by login."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "updated": len(self.updated), "unchanged": len(self.unchanged)}


def _cycle(start: str, superior_of: dict[str, str | None]) -> list[str] | None:
    """The reporting line from `start` if it comes back to them (a → b → a), else None."""
    line = [start]
    current = superior_of.get(start)
    while current is not None and current not in line:
        line.append(current)
        current = superior_of.get(current)
    return [*line, start] if current == start else None


def _check(session: Session, batch: Batch, rows: Sequence[tuple[int, PersonRow]]) -> None:
    """Logins once each; every superior known (in the database or the rows); no reporting line in a circle."""
    unique(batch, rows, lambda row: row.login, set(), "login")
    boss = aliased(Employee)
    chart = select(Employee.login, boss.login).outerjoin(boss, boss.id == Employee.manager_id)
    superior_of: dict[str, str | None] = {login: superior for login, superior in session.execute(chart)}
    superior_of |= {row.login: row.superior for _, row in rows}
    for line, row in rows:
        if row.superior is not None and row.superior not in superior_of:
            batch.problem(line, "superior", f"no employee {row.superior!r} in the file or the database")
        elif circle := _cycle(row.login, superior_of):
            batch.problem(line, "superior", f"a circle in the reporting line: {' → '.join(circle)}")


def _write(session: Session, batch: Batch, rows: Sequence[tuple[int, PersonRow]], *, now: dt.datetime) -> Changes:
    """Check the rows, then add or update each person by login (nothing written if a row is bad)."""
    _check(session, batch, rows)
    changes = Changes()
    if batch.problems:
        return changes
    found: dict[str, Employee] = lookup(session, Employee.login, (row.login for _, row in rows))
    before = {login: as_row(person) for login, person in found.items()}
    people: dict[str, Employee] = {}
    for _, row in rows:
        person = found.get(row.login) or Employee(login=row.login)
        person.full_name, person.position, person.department = row.name, row.position, row.department
        person.role, person.roles = row.roles[0], row.roles[1:]
        person.active, person.language, person.email = row.active, row.language, row.email
        session.add(person)
        people[row.login] = person
    session.flush()
    wanted = {row.superior for _, row in rows if row.superior and row.superior not in people}
    bosses = people | lookup(session, Employee.login, wanted)
    for _, row in rows:
        people[row.login].manager = bosses[row.superior] if row.superior else None
    session.flush()
    for login, person in people.items():
        if login not in before:
            changes.added.append(login)
        elif as_row(person) == before[login]:
            changes.unchanged.append(login)
        else:
            changes.updated.append(login)
            if before[login]["active"] and not person.active:
                tokens.revoke_all(session, person, now=now)
    return changes


def import_employees(session: Session, path: Path, *, actor: str, now: dt.datetime) -> dict[str, Any]:
    """Check every row of the file, then add or update every person; ImportRejected (and nothing written) if any
    row is bad. One audit event with the counts. The caller's unit of work commits."""
    batch = Batch()
    rows = read_rows(path, PersonRow, batch)
    changes = _write(session, batch, rows, now=now)
    reject_if_bad(session, path, batch)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="employees_imported",
        subject_type="employee_import",
        subject_id=0,
        detail={
            "file": path.name,
            **changes.counts(),
            "added_logins": changes.added,
            "updated_logins": changes.updated,
        },
    )
    return {"kind": "employees", "file": str(path), **changes.counts()}


def _save(
    session: Session, row: PersonRow, *, actor: str, now: dt.datetime, before: dict[str, Any] | None
) -> Employee:
    batch = Batch()
    _write(session, batch, [(1, row)], now=now)
    if batch.problems:
        problem = batch.problems[0]
        raise InvalidInput(f"{problem.field}: {problem.message}", field=problem.field)
    person = employee(session, row.login)
    after = as_row(person)
    if after == before:
        return person
    if before is None:
        trail.about(session, "employee_added", person_id=person.id, actor=actor, now=now, after=after)
    else:
        changed = {k: [before[k], v] for k, v in after.items() if before[k] != v}
        trail.about(session, "employee_changed", person_id=person.id, actor=actor, now=now, **changed)
    return person


def add(session: Session, row: PersonRow, *, actor: str, now: dt.datetime) -> Employee:
    """A new person (InvalidInput if the login is taken); audited."""
    if session.scalar(select(Employee.id).where(Employee.login == row.login)) is not None:
        raise InvalidInput(f"{row.login} already exists (kamflow user edit changes them)", field="login")
    return _save(session, row, actor=actor, now=now, before=None)


def edit(session: Session, login: str, changes: dict[str, Any], *, actor: str, now: dt.datetime) -> Employee:
    """Change some of a person's fields (a PersonRow's names; NotFound for an unknown login); audited with what
    changed. `{"active": False}` deactivates them."""
    before = as_row(employee(session, login))
    row = PersonRow.model_validate({**before, **changes, "login": login})
    return _save(session, row, actor=actor, now=now, before=before)


def setting_up(session: Session) -> bool:
    """Whether no active admin has a password yet: nobody can sign in to keep the org chart, so the commands that
    keep it run unsigned, as "setup" (a fresh database's first import, the first admin's password)."""
    holders = session.scalars(
        select(Employee.roles).where(Employee.active.is_(True), Employee.password_hash.is_not(None))
    )
    return not any(access.is_admin(roles) for roles in holders)
