"""kamflow's HTTP API: token-authenticated JSON for people's commands, served with the workspace.

Every request proves its person with `Authorization: Bearer <token>` (the personal tokens of `kamflow login`), as
the CLI does in process (`kamflow.app.identity.prove`): under KAMFLOW_AUTH=required a missing, wrong, expired or
revoked token gets 401, and an act or a read the access policy refuses 403, each audited as the CLI's refusals
are. `POST /api/ops/{name}` performs one of `kamflow.app.ops`' operations and answers the views' data and their
text — the text, and an error's message, in the language `Accept-Language` names first if kamflow speaks it, else
the token's person's, else the company's; an error answers {"error", "field", "message"} with the status of its
kind."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from kamflow import i18n
from kamflow.access import record_refusal
from kamflow.errors import KamflowError, NotPermitted
from kamflow.types import Login

router = APIRouter()

STATUS: dict[str, int] = {"invalid_input": 400, "not_permitted": 403, "not_found": 404, "unavailable": 503}


class OpRequest(BaseModel):
    """What the CLI sends for an operation: whom the person acts as (`--as`), and the command's params."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    as_: str | None = Field(default=None, alias="as", description="--as: a login the token's person acts for.")
    params: dict[str, Any] = Field(default_factory=dict)


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Login
    password: str = Field(max_length=1024)


def refusal(exc: KamflowError) -> JSONResponse:
    """An error as the API answers it; a refusal of a person (not of a sign-in) is audited first, as the CLI does;
    a refused sign-in or token is 401."""
    if isinstance(exc, NotPermitted) and exc.actor is not None:
        record_refusal(exc)
    status = STATUS.get(exc.kind, 500)
    if isinstance(exc, NotPermitted) and exc.field in {"token", "password", "login"}:
        status = 401
    return JSONResponse(exc.as_dict(), status_code=status)


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


Authorization = Annotated[str | None, Header()]
AcceptLanguage = Annotated[str | None, Header()]


def asked_language(accept_language: str | None) -> i18n.Language | None:
    """The language an `Accept-Language` header puts first ("es", "es-ES,es;q=0.9"), if kamflow speaks it."""
    first = (accept_language or "").split(",", 1)[0].split(";", 1)[0].strip().lower()[:2]
    return next((language for language in i18n.LANGUAGES if language == first), None)


@router.get("/health")
def health() -> dict[str, bool]:
    """Whether the server answers (for `production.sh status` and the tests)."""
    return {"ok": True}


@router.post("/login", response_model=None)
def login(given: Credentials) -> dict[str, str] | JSONResponse:
    """A login and password for a personal token (rate-limited and audited, as `kamflow login` in process)."""
    from kamflow.app import identity

    try:
        issued = identity.issue(given.login, given.password)
    except KamflowError as exc:
        return refusal(exc)
    return {
        "login": issued.person.login,
        "token": issued.token,
        "expires_at": issued.expires_at.isoformat(timespec="seconds"),
    }


@router.post("/logout")
def logout(authorization: Authorization = None) -> dict[str, str | None]:
    """Revoke the bearer token."""
    from kamflow.app import identity

    token = _bearer(authorization)
    return {"signed_out": identity.revoke(token) if token else None}


@router.get("/ops")
def operations() -> list[str]:
    """The operations this server performs."""
    from kamflow.app import ops

    ops.find("tasks")  # registers them all
    return sorted(ops.OPS)


@router.post("/ops/{name}", response_model=None)
def perform(
    name: str, given: OpRequest, authorization: Authorization = None, accept_language: AcceptLanguage = None
) -> Any:
    """Perform an operation for the person the bearer token proves: {"data": its JSON, "text": its text}."""
    from kamflow.app import identity, ops

    with identity.speaking(asked_language(accept_language)):
        try:
            ops.find(name)
            who = identity.prove(given.as_, token=_bearer(authorization))
            result = ops.perform(name, who, given.params)
        except KamflowError as exc:
            return refusal(exc)
        return {"data": ops.data(result), "text": ops.text(name, result)}
