"""What every `kamflow` command module shares: the option types, ids, and running a command body so that each
known failure prints its message and exits with its code (2 invalid input, 3 not permitted, 4 not found). What it
prints for people has control characters made visible; --json prints the data as it is."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError

from kamflow.bounds import MAX_ID
from kamflow.errors import InvalidInput, KamflowError, NotPermitted
from kamflow.escape import for_terminal
from kamflow.settings import get_settings
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


def parse_id(value: str) -> int:
    """An id as typed: ASCII digits, 1..2^63-1 (what the database's keys hold); else exit 2 naming the argument."""
    text = str(value).strip()
    if re.fullmatch(r"[0-9]{1,19}", text) is None or not 1 <= int(text) <= MAX_ID:
        raise typer.BadParameter(f"{text[:30]!r} is not an id (a whole number from 1 to {MAX_ID})")
    return int(text)


def id_argument(help: str) -> Any:
    """A typer argument for an id (`parse_id`)."""
    return typer.Argument(parser=parse_id, help=help)


def _text(view: View) -> str:
    return view.text()


def run_command(as_json: bool, action: Callable[[], Any], human: Callable[[Any], str] = _text) -> None:
    """Run a command body and print what it returns (a view reads as its `text()` unless `human` says otherwise);
    turn every known failure into its message and exit code."""
    try:
        from kamflow.app.serve import configure

        configure(get_settings())
        _emit(action(), as_json, human)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        message = str(first["msg"]).removeprefix("Value error, ")
        _fail(InvalidInput(f"{field}: {message}", field=field), as_json)
    except NotPermitted as exc:
        if exc.actor is not None:
            from kamflow.access import record_refusal

            record_refusal(exc)
        _fail(exc, as_json)
    except KamflowError as exc:
        _fail(exc, as_json)


def listing(empty: str) -> Callable[[Sequence[View]], str]:
    """How a list of views reads: one view after another, or `empty` when there are none."""
    return lambda views: "\n".join(view.text() for view in views) or empty


def _jsonable(data: Any) -> Any:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list):
        return [_jsonable(item) for item in data]
    return data


def _emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    print(json.dumps(_jsonable(data), indent=2, default=str) if as_json else for_terminal(human(data)))


def _fail(exc: KamflowError, as_json: bool) -> None:
    if as_json:
        print(json.dumps(exc.as_dict()))
    else:
        print(f"error: {for_terminal(exc.message)}", file=sys.stderr)
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
