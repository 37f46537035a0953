"""Who acts on a document's step: the holders of a role or a position, the author's superior, the head of a
department the document names. The author never agrees or approves their own document."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from kamflow.documents.chains import Step
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.models import Employee


def active(session: Session, *conditions: ColumnElement[bool]) -> list[Employee]:
    return list(
        session.scalars(select(Employee).where(Employee.active.is_(True), *conditions).order_by(Employee.id))
    )


def department_head(session: Session, department: str) -> Employee | None:
    """The top of a department: its member whose superior works elsewhere (or who has none)."""
    members = active(session, Employee.department == department)
    heads = [m for m in members if m.manager is None or m.manager.department != department]
    return heads[0] if heads else None


def people_for(
    session: Session, step: Step, *, kind: str, fields: dict[str, str], author: Employee
) -> list[Employee]:
    """Who acts on a step. The author never agrees or approves their own document: they are left out, and a
    step that would name only them goes to their superior."""
    who = step.who
    if who.role is not None:
        named = active(session, Employee.role == who.role)
    elif who.position is not None:
        named = active(session, Employee.position == who.position)
    elif who.superior is not None:
        named = [author.manager] if author.manager is not None else []
    elif who.department_head is not None:
        head = department_head(session, fields[who.department_head])
        named = [head] if head is not None else []
    else:
        named = active(session, Employee.position == fields[str(who.position_holders)])
    others = [person for person in named if person.id != author.id]
    if others or kind == "acknowledge":
        return others
    if named and author.manager is not None:
        return [author.manager]
    said = _("nobody but the author can act on step {step}") if named else _("nobody can act on step {step}")
    raise InvalidInput(said.format(step=repr(step.name)), field="type")
