"""People as the App shows them: a person of the org chart, and the chart as a list."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.i18n import _
from kamflow.models import Employee
from kamflow.people.directory import as_row
from kamflow.views import View


class PersonView(View):
    """A person: their place in the org chart, their roles (the job role first), and whether they can sign in."""

    login: str
    name: str
    position: str
    department: str
    superior: str | None = Field(description="The superior's login; none at the top of the chart.")
    roles: list[str] = Field(description="The job role first, then extra roles such as admin.")
    active: bool
    language: str | None = Field(description="es or en; none: the company's default.")
    email: str | None = Field(default=None, description="Where notifications go; none: login@mail_domain.")
    password: bool = Field(description="Whether they have a password (and so may sign in).")

    def text(self) -> str:
        notes = ([] if self.active else [_("INACTIVE")]) + ([] if self.password else [_("no password")])
        return (
            _("{login}: {name}, {position} ({department}); roles {roles}; ").format(
                login=self.login,
                name=self.name,
                position=self.position,
                department=self.department,
                roles=", ".join(self.roles),
            )
            + (
                _("reports to {superior}").format(superior=self.superior)
                if self.superior
                else _("top of the chart")
            )
            + (_("; language {language}").format(language=self.language) if self.language else "")
            + (_("; mail {email}").format(email=self.email) if self.email else "")
            + (f" — {', '.join(notes)}" if notes else "")
        )


def person_view(person: Employee) -> PersonView:
    return PersonView.model_validate({**as_row(person), "password": person.password_hash is not None})


def people(session: Session, *, include_inactive: bool = False) -> list[PersonView]:
    """Everyone (the active, unless asked), by login."""
    query = select(Employee).order_by(Employee.login)
    if not include_inactive:
        query = query.where(Employee.active.is_(True))
    return [person_view(p) for p in session.scalars(query)]
