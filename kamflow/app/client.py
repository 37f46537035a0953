"""The CLI on a client machine (KAMFLOW_SERVER_URL set, no database URL): people's commands are asked of kamflow's
server over HTTP with the person's token (`Authorization: Bearer`), and its refusals come back as the errors the
command would have raised in process, with their exit codes. The server writes in `--lang` when it is given
(`Accept-Language`), else in the language of the token's person, else in its company's."""

from __future__ import annotations

from typing import Any

import httpx

from kamflow.app import identity
from kamflow.errors import InvalidInput, KamflowError, NotFound, NotPermitted, ServiceUnavailable
from kamflow.i18n import _
from kamflow.settings import Language, Settings, get_settings

TIMEOUT = httpx.Timeout(10.0, read=300.0)
"""A command that starts a run or resumes one waits on the server until the run stands still."""

ERRORS: dict[str, type[KamflowError]] = {
    error.kind: error for error in (InvalidInput, NotPermitted, NotFound, ServiceUnavailable)
}


def _post(
    path: str, body: dict[str, Any], *, token: str | None, settings: Settings, language: Language | None = None
) -> Any:
    url = f"{settings.web_url}/api{path}"
    headers = ({"Authorization": f"Bearer {token}"} if token else {}) | (
        {"Accept-Language": language} if language else {}
    )
    try:
        answer = httpx.post(url, json=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(
            _("kamflow's server at {url} did not answer: {error}").format(url=settings.web_url, error=exc)
        ) from exc
    try:
        found = answer.json()
    except ValueError:
        found = None
    if answer.is_success and isinstance(found, dict):
        return found
    if isinstance(found, dict) and found.get("error") in ERRORS:
        raise ERRORS[found["error"]](str(found.get("message")), field=found.get("field"))
    raise ServiceUnavailable(
        _("kamflow's server at {url} answered {status} to {path}").format(
            url=settings.web_url, status=answer.status_code, path=path
        )
    )


def perform(
    name: str,
    params: dict[str, Any],
    as_login: str | None,
    *,
    language: Language | None = None,
    settings: Settings | None = None,
) -> Any:
    """The operation `name` done by the server for the person the token in use proves: {"data", "text"}, the text
    in `language` when given."""
    settings = settings or get_settings()
    body = {"as": as_login or settings.user, "params": params}
    token = identity.token_in_use(settings)
    return _post(f"/ops/{name}", body, token=token, settings=settings, language=language)


def sign_in(login: str, password: str, *, settings: Settings | None = None) -> dict[str, str]:
    """`kamflow login` on a client machine: the server issues the token, kept here in the token file."""
    settings = settings or get_settings()
    issued = _post("/login", {"login": login, "password": password}, token=None, settings=settings)
    return identity.keep(settings, login, str(issued["token"]), str(issued["expires_at"]))


def sign_out(*, settings: Settings | None = None) -> str | None:
    """`kamflow logout` on a client machine: the server revokes the token in use; the token file is deleted."""
    settings = settings or get_settings()
    token = identity.token_in_use(settings)
    revoked = _post("/logout", {}, token=token, settings=settings) if token else {}
    settings.token_path.unlink(missing_ok=True)
    return None if revoked.get("signed_out") is None else str(revoked["signed_out"])
