"""What every `kamflow` command module shares: the option types, ids, and running a command body so that each
known failure prints its message and exits with its code (2 invalid input, 3 not permitted, 4 not found). What it
prints for people is in the reader's language (`--lang`, else the acting person's, else the company's) with
control characters made visible; --json prints the data as it is, in no language."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError

from kamflow import i18n
from kamflow.app.identity import speaking
from kamflow.bounds import MAX_ID
from kamflow.errors import KamflowError, NotPermitted, ServerOnly
from kamflow.escape import for_terminal
from kamflow.i18n import _
from kamflow.settings import Language, Settings, get_settings
from kamflow.views import View

AsUser = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Acting user's login (default: $KAMFLOW_USER). With KAMFLOW_AUTH=required: your own, or that of "
        "someone a delegation in force today makes you act for.",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
CustomerArgument = Annotated[str, typer.Argument(help="Customer code, e.g. C0001.")]
CustomerOption = Annotated[str, typer.Option(help="Customer code, e.g. C0001.")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Business date YYYY-MM-DD (default today).")]


_chosen: ContextVar[Language | None] = ContextVar("kamflow_lang_option", default=None)


def choose_language(value: str | None) -> None:
    """`kamflow --lang` (None: not given), for the command that follows; one of kamflow's languages, else exit 2
    naming `language`, in the company's language."""
    try:
        _chosen.set(i18n.language_of(value))
    except KamflowError as exc:
        _fail(exc, False)


def chosen_language() -> Language | None:
    """The language `kamflow --lang` chose for this command, if any."""
    return _chosen.get()


def parse_id(value: str) -> int:
    """An id as typed: ASCII digits, 1..2^63-1 (what the database's keys hold); else exit 2 naming the argument."""
    text = str(value).strip()
    if re.fullmatch(r"[0-9]{1,19}", text) is None or not 1 <= int(text) <= MAX_ID:
        raise typer.BadParameter(
            _("{text} is not an id (a whole number from 1 to {most})").format(text=repr(text[:30]), most=MAX_ID)
        )
    return int(text)


def id_argument(help: str) -> Any:
    """A typer argument for an id (`parse_id`)."""
    return typer.Argument(parser=parse_id, help=help)


def _text(view: View) -> str:
    return view.text()


def run_command(
    as_json: bool,
    action: Callable[[], Any],
    human: Callable[[Any], str] = _text,
    *,
    machine: Callable[[Any], Any] | None = None,
    anywhere: bool = False,
) -> None:
    """Run a command body and print what it returns (a view reads as its `text()` unless `human` says otherwise;
    `--json` prints `machine` of it, by default its JSON); turn every known failure into its message and exit code.
    On a client machine (no database), only a command that may run `anywhere` runs. All of it speaks the reader's
    language (`identity.speaking`)."""
    settings = get_settings()
    with speaking(chosen_language()):
        try:
            if settings.client_mode and not anywhere:
                raise _server_only(settings)
            if not settings.client_mode:
                from kamflow.app.serve import configure

                configure(settings)
            _emit(action(), as_json, human, machine or _jsonable)
        except ValidationError as exc:
            from kamflow.app.ops import invalid

            _fail(invalid(exc), as_json)
        except NotPermitted as exc:
            if exc.actor is not None:
                from kamflow.access import record_refusal

                record_refusal(exc)
            _fail(exc, as_json)
        except KamflowError as exc:
            _fail(exc, as_json)


def _server_only(settings: Settings) -> ServerOnly:
    return ServerOnly(
        _(
            "this command runs on a server machine, beside the database: this machine is a client of kamflow's "
            "server at {url} (KAMFLOW_SERVER_URL without KAMFLOW_DATABASE_URL)"
        ).format(url=settings.web_url),
        field="command",
    )


def on_server() -> None:
    """For a command that does not go through `run_command` (serve): refuse it on a client machine, exit 2."""
    settings = get_settings()
    if settings.client_mode:
        with speaking(chosen_language()):
            _fail(_server_only(settings), False)


def run_op(
    name: str, params: dict[str, Any] | Callable[[], dict[str, Any]], as_login: str | None, as_json: bool
) -> None:
    """Run one of people's everyday operations (`kamflow.app.ops`): in this process as the person the command
    proves, or, on a client machine, on kamflow's server with the token in use; print its text or its JSON.
    `params` may be a function that reads them (a file), called inside the command so that its errors are too."""

    def given() -> dict[str, Any]:
        return params() if callable(params) else params

    if get_settings().client_mode:
        from kamflow.app import client

        run_command(
            as_json,
            lambda: client.perform(name, given(), as_login, language=chosen_language()),
            lambda answer: str(answer["text"]),
            machine=lambda answer: answer["data"],
            anywhere=True,
        )
        return
    from kamflow.app import identity, ops

    run_command(
        as_json,
        lambda: ops.perform(name, identity.acting(as_login), given()),
        lambda result: ops.text(name, result),
        machine=ops.data,
    )


def listing(empty: str) -> Callable[[Sequence[View]], str]:
    """How a list of views reads: one view after another, or `empty` (marked with `N_`) when there are none."""
    return lambda views: "\n".join(view.text() for view in views) or _(empty)


def _jsonable(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list):
        return [_jsonable(item) for item in data]
    return data


def _emit(data: Any, as_json: bool, human: Callable[[Any], str], machine: Callable[[Any], Any]) -> None:
    print(json.dumps(machine(data), indent=2, default=str) if as_json else for_terminal(human(data)))


def _fail(exc: KamflowError, as_json: bool) -> None:
    if as_json:
        print(json.dumps(exc.as_dict()))
    else:
        print(_("error: {message}").format(message=for_terminal(exc.message)), file=sys.stderr)
    raise typer.Exit(exc.exit_code)


def run_report(as_json: bool, body: Callable[[], dict[str, Any]], human: Callable[[dict[str, Any]], str]) -> None:
    """Run a command body and print its report as `run_command` does; exit 2 if the report is not `ok`."""
    reports: list[dict[str, Any]] = []

    def run() -> dict[str, Any]:
        reports.append(body())
        return reports[0]

    run_command(as_json, run, human)
    if reports and not reports[0].get("ok", True):
        raise typer.Exit(2)
