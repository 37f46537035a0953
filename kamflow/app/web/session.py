"""Who is signed in to the workspace, and the form token that proves a POST comes from its own pages.

The session is Starlette's signed cookie (server.py). Under KAMFLOW_AUTH=required it holds the personal token
`kamflow.people.signin` issued at sign-in; every request checks it with `signin.identify`, so an expired or
revoked token (sign-out, `kamflow user revoke`) ends the session. Under KAMFLOW_AUTH=demo it holds the login the
person picked, unproven. Each session has its own CSRF token, sent back in a hidden field of every form and
checked on every POST (403 when it does not match).

Every page is written in its reader's language: the workspace's routes (`Reading`) find who is signed in once per
request and handle it inside `i18n.reading` of their preferred language, else the company's (the sign-in page)."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from kamflow import access, clock, i18n, labels, reports
from kamflow.bounds import PLAIN_NUMBER
from kamflow.db import unit_of_work
from kamflow.errors import NotPermitted
from kamflow.i18n import _
from kamflow.models import Employee
from kamflow.people import signin
from kamflow.settings import get_settings
from kamflow.views import said

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))  # autoescapes .html
i18n.install(templates.env)


def when(at: Any) -> str:
    """An instant in the company's timezone, with the zone, its date as the reader writes it."""
    return "—" if at is None else reports.when(at)


def fact(value: object) -> str:
    """A fact as its reader reads it: numbers as they write them, yes or no in their words, nothing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float | str) and PLAIN_NUMBER.fullmatch(str(value)):
        return reports.number(str(value))
    return str(value)


def date(value: dt.date | str | None) -> str:
    """A day (a date or its ISO text) as the reader writes it."""
    if value is None or value == "":
        return "—"
    return i18n.day(value if isinstance(value, dt.date) else dt.date.fromisoformat(value))


templates.env.filters.update(
    number=reports.number,
    pct=reports.pct,
    when=when,
    date=date,
    words=reports.words,
    fact=fact,
    fact_name=labels.fact,
    action=labels.action,
    status=labels.status,
    outcome=said,
    category=labels.category,
)


@dataclass(frozen=True)
class Me:
    """The signed-in person, as the pages need them (no database object outlives its transaction)."""

    id: int
    login: str
    name: str
    position: str
    language: i18n.Language | None
    """Their preferred language (None: the company's)."""


class SignInNeeded(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=303, headers={"Location": "/signin"})


def csrf_token(request: Request) -> str:
    """The session's form token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a POST whose form token is not this session's (403)."""
    kept = request.session.get("csrf")
    if not (isinstance(kept, str) and sent and hmac.compare_digest(kept, sent)):
        raise HTTPException(
            status_code=403, detail=_("the form has expired or did not come from kamflow: reload it")
        )


def me(request: Request) -> Me:
    """The signed-in person (found once per request, by `Reading`); a redirect to the sign-in page when nobody
    is, or the token no longer holds."""
    found: Me | None = request.state.me
    if found is None:
        raise SignInNeeded
    return found


def signed_in(request: Request) -> Me | None:
    """Who the session is signed in as: None when nobody is, or the token no longer holds (forgotten)."""
    settings = get_settings()
    with unit_of_work() as session:
        if settings.auth == "demo":
            login = request.session.get("login")
            person = session.scalar(select(Employee).where(Employee.login == login)) if login else None
            found: Me | None = _me(person) if person is not None and person.active else None
        else:
            who = signin.identify(
                session, token=request.session.get("token"), as_login=None, on=clock.today(), now=clock.now()
            )
            found = None if isinstance(who, signin.Refused) else _me(who.person)
    if found is None:
        request.session.pop("token", None)
        request.session.pop("login", None)
    return found


def _me(person: Employee) -> Me:
    return Me(person.id, person.login, person.full_name, person.position, i18n.language_of(person.language))


class Reading(APIRoute):
    """A workspace route, handled in its reader's language: the signed-in person's, else the company's. What
    the page reads and refuses (numbers as this reader writes them) and what it writes follow it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def in_their_language(request: Request) -> Response:
            request.state.me = found = await run_in_threadpool(signed_in, request)
            with i18n.reading(found.language if found else None):
                return await handle(request)

        return in_their_language


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """A page with what every page shows: who is signed in, the form token, the mode."""
    response: Response = templates.TemplateResponse(
        request,
        template,
        {"csrf": csrf_token(request), "demo": get_settings().auth == "demo", **context},
        status_code=status_code,
    )
    return response


def refused(request: Request, error: NotPermitted, who: Me | None) -> Response:
    """A refusal (audited) as a page: 403."""
    access.record_refusal(error)
    return page(request, "refused.html", status_code=403, me=who, message=error.message)
