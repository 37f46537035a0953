"""`kamflow user …`, `kamflow login`, `kamflow logout` and `kamflow import employees`: people, their passwords
and tokens. kamflow.app.cli registers these."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kamflow.app.cli.common import AsUser, Json, listing, run_command
from kamflow.i18n import N_, _
from kamflow.settings import get_settings

if TYPE_CHECKING:
    from kamflow.people.views import PersonView

user_app = typer.Typer(
    help="People and their accounts: add, edit, deactivate, list; passwords and tokens. An admin's job.",
    no_args_is_help=True,
)
LoginArgument = Annotated[str, typer.Argument(help="The person's login, e.g. kam.north1.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (scripts).")
]
Name = Annotated[str | None, typer.Option(help="Full name, e.g. 'García López, Ana María'.")]
Position = Annotated[str | None, typer.Option(help="Position, e.g. 'Key Account Manager'.")]
Department = Annotated[str | None, typer.Option(help="Department, e.g. 'Sales North'.")]
Superior = Annotated[str | None, typer.Option(help="The superior's login ('' for the top of the chart).")]
Roles = Annotated[
    str | None,
    typer.Option(help="The job role first, then extra roles, separated by ';', e.g. 'hr;admin'."),
]
Language = Annotated[str | None, typer.Option(help="es or en ('' for the company's default).")]
Email = Annotated[str | None, typer.Option(help="Where notifications go ('' for login@KAMFLOW_MAIL_DOMAIN).")]


def _password(from_stdin: bool, *, confirm: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def _given(**options: str | bool | None) -> dict[str, Any]:
    """The options given, an empty text meaning none (no superior, the default language)."""
    return {name: value or None for name, value in options.items() if value is not None}


@user_app.command("add")
def user_add(
    login: LoginArgument,
    name: Annotated[str, typer.Option(help="Full name, e.g. 'García López, Ana María'.")],
    position: Annotated[str, typer.Option(help="Position, e.g. 'Key Account Manager'.")],
    department: Annotated[str, typer.Option(help="Department, e.g. 'Sales North'.")],
    roles: Annotated[str, typer.Option(help="The job role first, then extra roles, separated by ';'.")],
    superior: Superior = None,
    language: Language = None,
    email: Email = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Add a person to the org chart (checked as `import employees` checks a row); audited."""

    def body() -> PersonView:
        from kamflow import clock
        from kamflow.app.identity import PEOPLE, keeper
        from kamflow.db import unit_of_work
        from kamflow.people import directory
        from kamflow.people.views import person_view

        actor = keeper(acting, doing=PEOPLE)
        row = directory.PersonRow.model_validate(
            {"login": login, "name": name, "position": position, "department": department, "roles": roles}
            | _given(superior=superior, language=language, email=email)
        )
        with unit_of_work() as session:
            return person_view(directory.add(session, row, actor=actor, now=clock.now()))

    run_command(as_json, body)


def _edit(login: str, changes: dict[str, Any], acting: str | None, as_json: bool) -> None:
    def body() -> PersonView:
        from kamflow import clock
        from kamflow.app.identity import PEOPLE, keeper
        from kamflow.db import unit_of_work
        from kamflow.people import directory
        from kamflow.people.views import person_view

        actor = keeper(acting, doing=PEOPLE)
        with unit_of_work() as session:
            return person_view(directory.edit(session, login, changes, actor=actor, now=clock.now()))

    run_command(as_json, body)


@user_app.command("edit")
def user_edit(
    login: LoginArgument,
    name: Name = None,
    position: Position = None,
    department: Department = None,
    superior: Superior = None,
    roles: Roles = None,
    language: Language = None,
    email: Email = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="Reactivate or deactivate.")] = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Change what is given of a person (the rest stays); audited with what changed."""
    changes = _given(name=name, position=position, department=department, superior=superior, roles=roles)
    changes |= {"language": language or None} if language is not None else {}
    changes |= {"email": email or None} if email is not None else {}
    _edit(login, changes | ({} if active is None else {"active": active}), acting, as_json)


@user_app.command("deactivate")
def user_deactivate(login: LoginArgument, acting: AsUser = None, as_json: Json = False) -> None:
    """Deactivate a person: they can no longer sign in or act, and their tokens are revoked; audited."""
    _edit(login, {"active": False}, acting, as_json)


@user_app.command("list")
def user_list(
    everyone: Annotated[bool, typer.Option("--all", help="Include inactive people.")] = False,
    as_json: Json = False,
) -> None:
    """The people of the org chart, by login, with whether each has a password."""

    def body() -> list[PersonView]:
        from kamflow.db import unit_of_work
        from kamflow.people.views import people

        with unit_of_work() as session:
            return people(session, include_inactive=everyone)

    run_command(as_json, body, listing(N_("nobody")))


@user_app.command("set-password")
def user_set_password(
    login: LoginArgument, password_stdin: PasswordStdin = False, acting: AsUser = None, as_json: Json = False
) -> None:
    """Set a person's password (asked twice, or read from stdin), kept as an argon2 hash; their tokens are revoked.
    An admin sets anyone's; each person may set their own."""

    def body() -> dict[str, Any]:
        from kamflow import clock, org
        from kamflow.app.identity import PEOPLE, keeper
        from kamflow.db import unit_of_work
        from kamflow.people import passwords

        actor = keeper(acting, doing=PEOPLE, themself=login)
        password = _password(password_stdin, confirm=True)
        with unit_of_work() as session:
            passwords.set_password(session, org.employee(session, login), password, actor=actor, now=clock.now())
        return {"login": login, "password": "set"}

    run_command(as_json, body, lambda r: _("password set for {login}").format(login=r["login"]))


@user_app.command("revoke")
def user_revoke(login: LoginArgument, acting: AsUser = None, as_json: Json = False) -> None:
    """Revoke every token of a person (they must sign in again); audited."""

    def body() -> dict[str, Any]:
        from kamflow import clock, org
        from kamflow.app.identity import PEOPLE, keeper
        from kamflow.db import unit_of_work
        from kamflow.people import tokens

        actor = keeper(acting, doing=PEOPLE)
        with unit_of_work() as session:
            person = org.employee(session, login)
            return {
                "login": login,
                "revoked": tokens.sign_out_everywhere(session, person, actor=actor, now=clock.now()),
            }

    run_command(
        as_json,
        body,
        lambda r: _("{count} token(s) of {login} revoked").format(count=r["revoked"], login=r["login"]),
    )


def login(login: LoginArgument, password_stdin: PasswordStdin = False, as_json: Json = False) -> None:
    """Sign in: your password (asked, or read from stdin) for a personal token, kept in your config folder
    (KAMFLOW_TOKEN_FILE), valid for KAMFLOW_TOKEN_HOURS. Too many failures lock the login for a while."""

    def body() -> dict[str, Any]:
        from kamflow.app import client, identity

        sign_in = client.sign_in if get_settings().client_mode else identity.sign_in
        return sign_in(login, _password(password_stdin, confirm=False))

    run_command(
        as_json,
        body,
        lambda r: _("signed in as {login} until {until} (token in {file})").format(
            login=r["login"], until=r["expires_at"], file=r["token_file"]
        ),
        anywhere=True,
    )


def logout(as_json: Json = False) -> None:
    """Sign out: revoke your token and delete the token file."""

    def body() -> dict[str, Any]:
        from kamflow.app import client, identity

        return {"signed_out": client.sign_out() if get_settings().client_mode else identity.sign_out()}

    run_command(
        as_json,
        body,
        lambda r: (
            _("signed out {login}").format(login=r["signed_out"]) if r["signed_out"] else _("no token to revoke")
        ),
        anywhere=True,
    )


def import_employees(
    file: Annotated[Path, typer.Argument(help="The CSV file.")], acting: AsUser = None, as_json: Json = False
) -> None:
    """Import employees, matched by login (new ones added, known ones updated). Columns (* optional, any order):
    login, name, position, department, superior* (a login), roles (job role first, then extra roles, separated by
    ';'), active* (true|false), language* (es|en). An admin's job (or anyone's, while no admin can sign in)."""

    def body() -> dict[str, Any]:
        from kamflow import clock
        from kamflow.app.identity import PEOPLE, keeper
        from kamflow.db import unit_of_work
        from kamflow.people import directory

        actor = keeper(acting, doing=PEOPLE)
        with unit_of_work() as session:
            return directory.import_employees(session, file, actor=actor, now=clock.now())

    run_command(
        as_json,
        body,
        lambda r: _("employees from {file}: {added} added, {updated} updated, {unchanged} unchanged").format(
            file=r["file"], added=r["added"], updated=r["updated"], unchanged=r["unchanged"]
        ),
    )
