"""People's everyday commands as operations: one registry, name → function(acting person, params) → a View or a
list of Views. The CLI performs them in this process (the embedded shape) or asks kamflow's server to
(`POST /api/ops/{name}`, client mode); the server performs them for the person its bearer token proves. Either
way the same function runs, the same errors come back, and what people read is the views' own text."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from kamflow.errors import InvalidInput, NotFound
from kamflow.i18n import _, input_error
from kamflow.people.signin import Acting
from kamflow.views import View

Result = View | Sequence[View]
P = TypeVar("P")


@dataclass(frozen=True)
class Op:
    """An operation: its params' type (checked before it runs) and, for a list, what an empty one reads as (marked
    with `N_`, read in the reader's language)."""

    name: str
    params: TypeAdapter[Any]
    run: Callable[[Acting, Any], Result]
    empty: str


OPS: dict[str, Op] = {}


def op(
    name: str, params: type[P], *, empty: str = ""
) -> Callable[[Callable[[Acting, P], Result]], Callable[..., Result]]:
    """Register `run` as the operation `name` (the command's words, e.g. "discount request")."""

    def register(run: Callable[[Acting, P], Result]) -> Callable[[Acting, P], Result]:
        OPS[name] = Op(name, TypeAdapter(params), run, empty)
        return run

    return register


def invalid(exc: ValidationError) -> InvalidInput:
    """A validation error as people read it: the first field at fault and why."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "input"
    return InvalidInput(f"{field}: {input_error(first)}", field=field)


def find(name: str) -> Op:
    from kamflow.app.ops import catalog  # noqa: F401  (registers the operations)

    if name not in OPS:
        raise NotFound(_("no operation {name}").format(name=repr(name)), field="operation")
    return OPS[name]


def perform(name: str, who: Acting, params: Mapping[str, Any]) -> Result:
    """Run the operation for `who` with its params checked; invalid input (the params', or the domain input
    model's) is InvalidInput naming the field."""
    found = find(name)
    try:
        return found.run(who, found.params.validate_python(dict(params)))
    except ValidationError as exc:  # the params, or the domain's own input model
        raise invalid(exc) from None


def data(result: Result) -> Any:
    """The result as JSON data (`--json`, the API's `data`)."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return [view.model_dump(mode="json") for view in result]


def text(name: str, result: Result) -> str:
    """The result as people read it: the view's text, one view after another, or the operation's `empty`."""
    if isinstance(result, View):
        return result.text()
    return "\n".join(view.text() for view in result) or _(find(name).empty)
