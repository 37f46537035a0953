"""Who a command acts as: the one function every command that acts as a person asks (principle 8), and the token
file `kamflow login` keeps.

KAMFLOW_AUTH=demo (the default, the embedded demo): `--as`/KAMFLOW_USER names the person, unproven, and the
command says so once on stderr. KAMFLOW_AUTH=required: the token (KAMFLOW_TOKEN, else the token file) must be
live and its person active; `--as OTHER` only where a delegation in force today makes that person act for OTHER.
Every refusal is audited and exits 3.

What a command writes is in its reader's language (`speaking`): `--lang` if given, else the language of the person
the command proves, else the company's (KAMFLOW_LANGUAGE).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from pathlib import Path

import typer
from pydantic import TypeAdapter, ValidationError

from kamflow import access, clock, i18n, org
from kamflow.db import unit_of_work
from kamflow.errors import InvalidInput, NotPermitted
from kamflow.i18n import N_, _
from kamflow.models import Employee
from kamflow.people import directory, signin, tokens, trail
from kamflow.people.signin import Acting
from kamflow.settings import Language, Settings, get_settings
from kamflow.types import Login

SETUP = "setup"
"""The actor of the commands that keep the org chart while no admin can sign in yet."""


_LOGIN = TypeAdapter(Login)

_following: ContextVar[ExitStack | None] = ContextVar("kamflow_follows_the_person", default=None)
"""Inside `speaking` without a language given: where the proven person's language is entered."""


@contextmanager
def speaking(language: Language | None) -> Iterator[None]:
    """Write for a command's (or a request's) reader inside the block: in `language` (`--lang`) when given; else,
    once `prove` has proven the acting person, in their preferred language; until then, and for a person without
    one, in the company's."""
    with ExitStack() as stack:
        stack.enter_context(i18n.reading(language))
        follows = _following.set(None if language else stack)
        try:
            yield
        finally:
            _following.reset(follows)


def _follow(person: Employee) -> None:
    """The reader is the person just proven: from here to the end of `speaking`, write in their language."""
    stack = _following.get()
    if stack is not None and person.language:
        stack.enter_context(i18n.reading(i18n.language_of(person.language)))


def acting(as_login: str | None, *, settings: Settings | None = None) -> Acting:
    """The person the command acts as (and who proved it, by the token in use); NotPermitted (audited) if the
    sign-in does not hold."""
    settings = settings or get_settings()
    return prove(as_login, token=_token(settings), settings=settings, say=True)


def prove(
    as_login: str | None, *, token: str | None, settings: Settings | None = None, say: bool = False
) -> Acting:
    """The person `token` proves (under KAMFLOW_AUTH=required), or `as_login` unproven (demo; `say` tells so on
    stderr): kamflow's server asks this for each request, with the request's bearer token. Inside `speaking` with
    no language given, what follows is written in the language of the person at the keyboard."""
    settings = settings or get_settings()
    wanted = as_login or (settings.user if say else None)
    if wanted:
        try:
            wanted = str(_LOGIN.validate_python(wanted))
        except ValidationError as error:
            raise InvalidInput(f"as: {i18n.input_error(error.errors()[0])}", field="as") from None
    if settings.auth == "demo":
        who = _unproven(wanted, settings, say=say)
    else:
        with unit_of_work(settings) as session:
            found = signin.identify(session, token=token, as_login=wanted, on=clock.today(), now=clock.now())
        if isinstance(found, signin.Refused):
            raise NotPermitted(found.message, field=found.field)
        who = found
    _follow(who.signed_in or who.person)  # the person at the keyboard, also when they act for another
    return who


def _unproven(wanted: str | None, settings: Settings, *, say: bool) -> Acting:
    if not wanted:
        raise InvalidInput(_("say who is acting: --as LOGIN or KAMFLOW_USER"), field="as")
    with unit_of_work(settings) as session:
        person = org.employee(session, wanted)
    if not person.active:
        raise NotPermitted(_("{login} is not an active employee").format(login=wanted), field="as")
    if say:
        typer.echo(
            _("demo mode: acting as {login} without sign-in (KAMFLOW_AUTH=demo)").format(login=wanted), err=True
        )
    return Acting(person)


PEOPLE = N_("keep people and accounts")
IMPORTS = N_("import data")
REVIEW = N_("run the review on demand")
REPLAY = N_("replay the rules")
UNOWNED = N_("read a decision about no customer")
"""An admin's jobs (`access.yaml`'s `admin_roles`), as a refusal names the one it refused."""


def keeper(
    as_login: str | None, *, doing: str, themself: str | None = None, settings: Settings | None = None
) -> str:
    """The login an admin's command (`doing`: one of the jobs above) acts as: an admin (or, for `themself`, that
    very person), else NotPermitted, audited. While no admin can sign in yet (a fresh database), "setup"."""
    settings = settings or get_settings()
    with unit_of_work(settings) as session:
        if directory.setting_up(session):
            return SETUP
    who = acting(as_login, settings=settings)
    with unit_of_work(settings) as session:
        if directory.setting_up(session):
            return SETUP
        if access.is_admin(who.person.roles) or who.login == themself:
            return who.login
        actor = who.signed_in.login if who.signed_in else who.login
        trail.about(
            session,
            "action_refused",
            person_id=who.person.id,
            actor=actor,
            now=clock.now(),
            reason="not_admin",
            refused=doing,
        )
    raise NotPermitted(
        _("{login} is not an admin: only an admin may {doing}").format(login=who.login, doing=_(doing)), field="as"
    )


def issue(login: str, password: str, *, settings: Settings | None = None) -> signin.Issued:
    """A new token for the person (the server's side of `kamflow login`); NotPermitted (audited) for a wrong login
    or password or too many failures lately."""
    settings = settings or get_settings()
    with unit_of_work(settings) as session:
        issued = signin.sign_in(
            session,
            login=login,
            password=password,
            now=clock.now(),
            lifetime=settings.token_lifetime,
            failures=settings.sign_in_failures,
            window=settings.sign_in_window,
        )
    if isinstance(issued, signin.Refused):
        raise NotPermitted(issued.message, field=issued.field)
    return issued


def revoke(token: str, *, settings: Settings | None = None) -> str | None:
    """Revoke a token (the server's side of `kamflow logout`); whose it was, if it was live."""
    with unit_of_work(settings) as session:
        holder = tokens.revoke(session, token, now=clock.now())
        return holder.login if holder else None


def sign_in(login: str, password: str, *, settings: Settings | None = None) -> dict[str, str]:
    """A new token for the person, kept in the token file."""
    settings = settings or get_settings()
    issued = issue(login, password, settings=settings)
    return keep(settings, login, issued.token, issued.expires_at.isoformat(timespec="seconds"))


def keep(settings: Settings, login: str, token: str, expires_at: str) -> dict[str, str]:
    """Keep a token in the token file: what `kamflow login` says."""
    path = _keep_token(settings, token)
    return {"login": login, "expires_at": expires_at, "token_file": str(path)}


def sign_out(*, settings: Settings | None = None) -> str | None:
    """Revoke the token in use (KAMFLOW_TOKEN, else the token file's) and delete the file; whose it was."""
    settings = settings or get_settings()
    token = _token(settings)
    holder = revoke(token, settings=settings) if token else None
    settings.token_path.unlink(missing_ok=True)
    return holder


def token_in_use(settings: Settings | None = None) -> str | None:
    """The token the next command presents: KAMFLOW_TOKEN (scripts), else the token file's."""
    return _token(settings or get_settings())


def _token(settings: Settings) -> str | None:
    """The token in use: KAMFLOW_TOKEN (scripts), else the token file's."""
    return settings.token.get_secret_value() if settings.token else _read_token(settings)


def _read_token(settings: Settings) -> str | None:
    try:
        return settings.token_path.read_text().strip() or None
    except OSError:
        return None


def _keep_token(settings: Settings, token: str) -> Path:
    """Write the token where the next commands read it: a file only its owner reads (600) in a folder only its
    owner opens (700, when made here), replaced whole."""
    path = settings.token_path
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, fresh = tempfile.mkstemp(dir=path.parent, prefix=".token.")  # mode 600
    with os.fdopen(handle, "w") as out:
        out.write(token + "\n")
    os.replace(fresh, path)
    return path
