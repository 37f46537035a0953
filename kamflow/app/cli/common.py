"""What every `kamflow` command module shares: the option types, dates, and running a command
body so that each known failure prints its message and exits with its code (2 invalid input, 3 not permitted,
4 not found)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError

from kamflow.errors import InvalidInput, KamflowError
from kamflow.settings import get_settings

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


def parse_date(value: str, field: str) -> dt.date:
    """A date given as YYYY-MM-DD; InvalidInput naming `field` otherwise."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not a date (YYYY-MM-DD)", field=field) from None


def run_command(as_json: bool, action: Callable[[], Any], human: Callable[[Any], str]) -> None:
    """Run a command body and print what it returns; turn every known failure into its message and exit code."""
    try:
        from kamflow.app.serve import configure

        configure(get_settings())
        _emit(action(), as_json, human)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        message = str(first["msg"]).removeprefix("Value error, ")
        _fail(InvalidInput(f"{field}: {message}", field=field), as_json)
    except KamflowError as exc:
        _fail(exc, as_json)


def _emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    """Print what a command returns: for machines as JSON (a pydantic model as its JSON dump), for people as
    `human` writes it."""
    if not as_json:
        print(human(data))
        return
    shown = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    print(json.dumps(shown, indent=2, default=str))


def _fail(exc: KamflowError, as_json: bool) -> None:
    if as_json:
        print(json.dumps(exc.as_dict()))
    else:
        print(f"error: {exc.message}", file=sys.stderr)
    raise typer.Exit(exc.exit_code)
