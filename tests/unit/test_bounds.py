"""Bounded input (issue 18): every input model, resume form and CSV row agrees with the columns it fills, and
generated input at and past every bound — huge ids, control and bidi characters, other scripts' digits, repeated
CSV headers, oversized files — gives a clear refusal (exit 2 naming the field), never a traceback, and a refused
command writes nothing. Hypothesis's examples per test come from the profile in tests/conftest.py."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import typing
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from sqlalchemy import String, Text, func, select
from typer.testing import CliRunner

import flows
import kamflow
from flows.human import ApprovalInput, DecimalText
from kamflow.app.cli import app
from kamflow.app.serve import FORK_PRELOAD
from kamflow.bounds import DOCUMENT_CHARS, MAX_ID, Amount, IsoDate, _Text, column_length, fit, read_bounded
from kamflow.db import get_engine
from kamflow.errors import InvalidInput, ServiceUnavailable
from kamflow.escape import for_terminal, neutralise_formula
from kamflow.imports import ROWS
from kamflow.models import ApprovalTask, Base
from kamflow.settings import Settings, use_settings
from kamflow.views import View

T = TypeVar("T")
runner = CliRunner()
EXIT_CODES = {0, 2, 3, 4, 5}
assert settings.default is not None  # tests/conftest.py loads a profile
CLI_RUNS = settings(max_examples=max(8, settings.default.max_examples // 5))
"""A CLI run costs ~0.1 s: those tests take a fifth of the profile's examples (CI: 200 each; models: 1000)."""

# --- the models -----------------------------------------------------------------------------------------------


def _import_everything() -> None:
    """Every module but the migrations, the `__main__`s and the fork server's preload (which freezes the cycle
    collector's objects as it is imported: for the fork server, not for this process)."""
    left_out = ("kamflow.migrations", FORK_PRELOAD)
    for package in (kamflow, flows):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not module.name.startswith(left_out) and not module.name.endswith("__main__"):
                importlib.import_module(module.name)


def _subclasses(cls: type[T]) -> Iterator[type[T]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _input_models() -> list[type[BaseModel]]:
    """What people fill in: the processes' requests (`…In`), the CLI's own request models, the CSV rows and the
    resume forms (ApprovalInput subclasses). kamflow.app.runs.Answer only relays `decide`'s options to the
    process's answer model, which bounds each of them."""
    _import_everything()
    found = {
        model
        for model in _subclasses(BaseModel)
        if model.__module__.startswith(("kamflow", "flows"))
        and (
            model.__name__.endswith("In")
            or issubclass(model, ApprovalInput)
            or model in ROWS.values()
            or model.__module__.startswith("kamflow.app.cli.")
        )
        and not model.__name__.startswith("_")
        and not issubclass(model, View)  # what people are shown, not what they fill in
        and model.model_fields
    }
    return sorted(found - {ApprovalInput}, key=lambda m: f"{m.__module__}.{m.__name__}")


MODELS = _input_models()
ANSWERS = [model for model in MODELS if issubclass(model, ApprovalInput)]


def _leaves(annotation: Any, metadata: tuple[Any, ...] = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Every leaf type of an annotation (through Optional, unions, dicts, lists) with its metadata."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *extra = typing.get_args(annotation)
        yield from _leaves(base, (*metadata, *extra))
    elif origin is Literal:
        yield annotation, metadata
    elif origin is not None:
        for argument in typing.get_args(annotation):
            if argument is not type(None):
                yield from _leaves(argument, metadata if origin in (typing.Union, type(int | None)) else ())
    else:
        yield annotation, metadata


def _field_leaves(model: type[BaseModel]) -> Iterator[tuple[str, Any, tuple[Any, ...]]]:
    for name, info in model.model_fields.items():
        for leaf, metadata in _leaves(info.annotation, tuple(info.metadata)):
            yield name, leaf, metadata


def _bound(metadata: tuple[Any, ...], kind: type) -> Any:
    return next((item for item in metadata if isinstance(item, kind)), None)


def _column_name(column: Any) -> str:
    return f"{column.class_.__tablename__}.{column.key}"


def _text_columns() -> dict[str, int]:
    """Every String column with a length: table.column -> length."""
    return {
        f"{table.name}.{column.name}": column.type.length
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String) and not isinstance(column.type, Text) and column.type.length
    }


NOT_TYPED_BY_PEOPLE = {
    # written by the program: argon2 and token hashes; a language chosen from a closed list
    "employees.password_hash",
    "api_tokens.token_hash",
    "employees.language",
    # written by the program: states, kinds, versions, hashes, run ids, currencies copied from the customer
    *(
        f"{t}.status"
        for t in (
            "approval_tasks",
            "credit_reviews",
            "credit_review_shards",
            "documents",
            "document_steps",
            "collection_tasks",
            "credit_limit_changes",
            "discount_requests",
            "orders",
            "payment_promises",
            "credit_checks",
            "order_credit_checks",
        )
    ),
    *(
        f"{t}.flow_run_id"
        for t in (
            "approval_tasks",
            "credit_reviews",
            "documents",
            "credit_limit_changes",
            "discount_requests",
            "credit_checks",
            "order_credit_checks",
        )
    ),
    *(
        f"{t}.rules_version"
        for t in (
            "audit_events",
            "credit_reviews",
            "collection_tasks",
            "credit_limit_changes",
            "discount_requests",
            "credit_checks",
            "order_credit_checks",
        )
    ),
    *(
        f"{t}.currency"
        for t in (
            "price_lists",
            "customer_reviews",
            "discount_requests",
            "financial_statements",
            "orders",
            "payment_promises",
            "invoices",
        )
    ),
    "audit_chain_head.hash",
    "audit_events.hash",
    "audit_events.action",
    "audit_events.subject_type",
    "rule_set_versions.version",
    "rule_set_versions.ruleset",
    "credit_checks.class_rules_version",
    "approval_tasks.process",
    "approval_tasks.role",
    "approval_tasks.action",
    "collection_tasks.action",
    "collection_tasks.channel",
    "credit_notes.reason",  # one of a closed list (kamflow.models.CreditNoteReason)
    "customer_reviews.altman_zone",
    "customer_reviews.outcome",
    "credit_checks.outcome",
    "credit_checks.decision",
    "credit_checks.risk_class",
    "document_acknowledgments.content_hash",
    "document_versions.content_hash",
    "document_versions.reason",
    "document_signatures.content_hash",
    "document_signatures.kind",
    "document_steps.stage",
    "document_steps.kind",
    # a program's text around a person's, cut to the column (kamflow.bounds.fit)
    "approval_tasks.title",
    "outbox.subject",
    # notices kamflow composes (kamflow.notify): their kind, and the recipient's login and address as the org chart
    # holds them; the installation's random id
    "outbox.kind",
    "outbox.login",
    "outbox.recipient",
    "installation.id",
    # one of the model's choices (Literal) or a fixed pattern, stored as given
    "customers.customer_class",
    "customers.company_type",
    "credit_limit_changes.category",
    "credit_checks.purpose",
    # copied from the employee who signs
    "document_signatures.position",
    "document_signatures.name",
    # from the org chart, the price lists and promotions (demo data and `kamflow init`), no command types them here
    "employees.full_name",
    "employees.department",
    "employees.email",
    "employees.role",
    "price_lists.name",
    "price_columns.name",
    "promotions.code",
    "promotions.name",
    "promotions.customer_class",
    "discount_norms.customer_class",
}


def test_the_walk_finds_every_kind_of_input_model() -> None:
    names = {model.__name__ for model in MODELS}
    assert {"DiscountRequestIn", "OrderIn", "LimitChangeIn", "SolvencyCheckIn", "PromiseIn", "HoldIn"} <= names
    assert {"DocumentIn", "ReviewRequest", "DelegationIn", "CollectionDoneIn", "CustomerRow"} <= names
    assert {
        "DiscountAnswer",
        "DocumentAnswer",
        "OrderCreditAnswer",
        "LimitChangeAnswer",
        "SolvencyAnswer",
    } <= names


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_of_an_input_model_is_bounded(model: type[BaseModel]) -> None:
    """Each text has a length and a character rule, each amount the column's digits, each int an upper bound,
    each date the plain form; a text typed from a column is exactly as long as that column."""
    for name, leaf, metadata in _field_leaves(model):
        where = f"{model.__name__}.{name}"
        if typing.get_origin(leaf) is Literal or leaf is bool:
            continue
        if leaf is str:
            text = _bound(metadata, _Text)
            assert text is not None, f"{where}: a text without a bound (kamflow.bounds.Line/Prose/Code)"
            if text.columns and not isinstance(text.columns[0], int):
                assert text.length == column_length(text.columns[0]), where
                assert all(column_length(column) >= text.length for column in text.columns), where
        elif leaf is Decimal:
            assert _bound(metadata, Amount) or _bound(metadata, DecimalText), f"{where}: an amount without bounds"
        elif leaf is int:
            upper = [item.le for item in metadata if getattr(item, "le", None) is not None]
            assert upper and upper[0] <= MAX_ID, f"{where}: an int without an upper bound"
        elif leaf is dt.date:
            assert _bound(metadata, IsoDate), f"{where}: a date that is not kamflow.types.Day"
        else:
            pytest.fail(f"{where}: unchecked type {leaf}")


def test_every_text_column_is_typed_by_the_fields_that_fill_it_or_written_by_the_program() -> None:
    typed: dict[str, int] = {}
    for model in MODELS:
        for _name, _leaf, metadata in _field_leaves(model):
            text = _bound(metadata, _Text)
            for column in text.columns if text else ():
                if not isinstance(column, int):
                    typed[_column_name(column)] = text.length
    columns = _text_columns()
    assert {"employees.login", "audit_events.actor", "customers.code", "customers.name", "orders.number"} <= set(
        typed
    )
    assert {"invoices.number", "delegations.order_ref", "documents.doc_type", "documents.title"} <= set(typed)
    unclassified = set(columns) - set(typed) - NOT_TYPED_BY_PEOPLE
    assert not unclassified, f"text columns neither typed from a field nor known as the program's: {unclassified}"
    assert not set(typed) & NOT_TYPED_BY_PEOPLE
    assert all(columns[name] >= length for name, length in typed.items())


def test_a_program_text_is_cut_to_its_column() -> None:
    assert fit("x" * 400, ApprovalTask.title) == "x" * 299 + "…"
    assert fit("short", ApprovalTask.title) == "short"


# --- generated values ----------------------------------------------------------------------------------------

NASTY = [
    "\x00",
    "\x1b[31m",
    "\x1b]0;pwn\x07",
    "\u202e",
    "\u202a",
    "\u2066",
    "\u2069",
    "\x85",
    "\x9b",
    "\x7f",
    "\r",
    "\t",
    "\n",
    "٣",
    "۹",
    "１",
    "߀",
    "C٩١١٥",
    "=cmd|' /C calc'!A0",
    "+1",
    "-1",
    "@SUM(1)",
    "'",
    '"',
    ",",
    " ",
    "é",
    "😀",
]
NASTY_TEXT = st.lists(st.sampled_from(NASTY) | st.text(max_size=3), max_size=6).map("".join)


def _near(length: int) -> st.SearchStrategy[str]:
    """Texts at, just under and just past a bound, plain or with one nasty character."""
    return st.builds(
        lambda size, char, at: ("a" * size)[:at] + char + ("a" * size)[at:],
        st.sampled_from([max(length - 1, 0), length, length + 1]),
        st.sampled_from(["", "", "", *NASTY]),
        st.integers(0, length),
    )


def _texts(bound: _Text | None) -> st.SearchStrategy[Any]:
    if bound is None:
        return NASTY_TEXT
    choices = [NASTY_TEXT, _near(bound.length)]
    if bound.pattern:
        choices.append(st.from_regex(f"(?:{bound.pattern})", fullmatch=True).filter(lambda s: s.isascii()))
        choices.append(st.from_regex(bound.pattern, fullmatch=True))  # any script's characters
    else:
        choices.append(st.text(min_size=bound.min_length, max_size=min(bound.length, 60)))
    return st.one_of(*choices)


IDS = st.one_of(
    st.sampled_from([0, 1, 2, MAX_ID, MAX_ID + 1, 2**64, -1, -(2**63) - 1]), st.integers(-(2**70), 2**70)
)
DATES = st.one_of(
    st.dates(dt.date(1900, 1, 1), dt.date(2200, 1, 1)).map(str),
    st.sampled_from(
        ["2026-03-16T00:00", "2026-W12-1", "2026-075", "20260316", "٢٠٢٦-٠٣-١٦", "2099-01-01", "2026-02-30", ""]
    ),
)


def _amounts(bound: Any) -> st.SearchStrategy[Any]:
    if isinstance(bound, Amount):
        precision, places = bound.column_type.precision, bound.column_type.scale
        assert precision is not None and places is not None  # as Amount's own schema asserts
        whole, scale = precision - places, places
    else:
        whole, scale = (bound.digits, bound.decimals) if bound else (16, 2)
    edges = [f"{'9' * whole}.{'9' * scale}", f"1{'0' * whole}", "0", "-1", "0.001", "1e3", "NaN", "Infinity", "١٢"]
    return st.one_of(
        st.sampled_from(edges),
        st.decimals(-(10 ** (whole + 1)), 10 ** (whole + 1), places=scale + 1).map(str),
        NASTY_TEXT,
    )


def _values(leaf: Any, metadata: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    if typing.get_origin(leaf) is Literal:
        return st.sampled_from(typing.get_args(leaf)) | NASTY_TEXT
    if leaf is bool:
        return st.booleans()
    if leaf is str:
        return _texts(_bound(metadata, _Text))
    if leaf is Decimal:
        return _amounts(_bound(metadata, Amount) or _bound(metadata, DecimalText))
    if leaf is int:
        return IDS | st.integers(-3, 400).map(str) | st.sampled_from(["٣", "１２", "1.0"])
    if leaf is dt.date:
        return DATES
    raise AssertionError(f"no strategy for {leaf}")


def _field_values(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        origin = typing.get_origin(info.annotation)
        leaves = list(_leaves(info.annotation, tuple(info.metadata)))
        if origin is dict:
            (_, key_meta), (value_leaf, value_meta) = leaves
            strategy: st.SearchStrategy[Any] = st.dictionaries(
                _texts(_bound(key_meta, _Text)), _values(value_leaf, value_meta), max_size=3
            )
        else:
            strategy = st.one_of(*(_values(leaf, metadata) for leaf, metadata in leaves))
        fields[info.alias or name] = strategy
    return st.fixed_dictionaries({}, optional=fields)


def _fits(model: type[BaseModel], accepted: BaseModel) -> None:
    """What a model accepted fits the columns: texts within their bound and free of forbidden characters,
    amounts within the column's digits."""
    for name, leaf, metadata in _field_leaves(model):
        value = getattr(accepted, name)
        values = list(value.items()) if isinstance(value, dict) else [value]
        for item in values:
            for part in item if isinstance(item, tuple) else (item,):
                text = _bound(metadata, _Text)
                if leaf is str and isinstance(part, str) and text is not None:
                    assert len(part) <= text.length and text.check(part) == part
                if leaf is Decimal and isinstance(part, Decimal) and isinstance(_bound(metadata, Amount), Amount):
                    amount = _bound(metadata, Amount)
                    assert abs(part) < 10 ** (amount.column_type.precision - amount.column_type.scale)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@given(data=st.data())
def test_a_model_accepts_only_what_fits_and_refuses_the_rest_naming_the_field(
    model: type[BaseModel], data: st.DataObject
) -> None:
    given_values = data.draw(_field_values(model))
    try:
        accepted = model.model_validate(given_values)
    except ValidationError as error:
        assert all(issue["loc"] or issue["type"] == "value_error" for issue in error.errors())
        return
    _fits(model, accepted)


@pytest.mark.parametrize("model", ANSWERS, ids=lambda m: m.__name__)
def test_a_resume_form_carries_the_bounds_prefect_checks(model: type[ApprovalInput]) -> None:
    schema = model.model_json_schema()["properties"]
    assert schema["approver"]["maxLength"] == 64 and "pattern" in schema["approver"]
    assert schema["comment"]["maxLength"] == 2000
    if "content" in schema:
        assert schema["content"]["maxLength"] == DOCUMENT_CHARS


# --- the CLI, in process ---------------------------------------------------------------------------------------


def _counts() -> dict[str, int]:
    engine = get_engine()
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Run the real CLI in process on the demo company; a process that would start or resume a flow run stops
    there (the service is 'not running': exit 5) after every check the command makes first."""

    def no_service(*args: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailable("no Prefect in this test")

    monkeypatch.setattr("kamflow.app.runs.start_run", no_service)
    monkeypatch.setattr("kamflow.app.runs.resume_waiting", no_service)
    monkeypatch.setattr("kamflow.app.serve.configure", lambda settings: None)
    use_settings(settings.model_copy(update={"max_document_bytes": 4096, "max_csv_bytes": 65_536}))

    def run(*args: str) -> Any:
        before = _counts()
        done = runner.invoke(app, list(args))
        assert done.exception is None or isinstance(done.exception, SystemExit), (args, done.exception)
        assert done.exit_code in EXIT_CODES, (args, done.exit_code, done.output)
        after = _counts()
        if done.exit_code == 3:  # a refusal is audited, and only that
            after = {
                **after,
                "audit_events": before["audit_events"],
                "audit_chain_head": before["audit_chain_head"],
            }
        if done.exit_code != 0:
            assert after == before, (args, done.output)
        shown = done.output.replace("\n", "").replace("\t", "")
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in shown), (args, done.output)
        return done

    run.folder = tmp_path  # type: ignore[attr-defined]
    return run


ID_TEXT = IDS.map(str) | st.sampled_from(["٣", "1e3", "0x10", " 7"])
LOGINS = st.sampled_from(["kam.north1", "head.north", "credit", "director"]) | _near(64) | NASTY_TEXT
CODES = st.sampled_from(["C0001", "C0002", "C٩١١٥", "C0001\u202e", "c0001"]) | _near(20)


def _option(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), values.map(lambda value: [name, value]))


@CLI_RUNS
@given(data=st.data())
def test_commands_taking_an_id_refuse_huge_and_odd_ids(cli: Any, data: st.DataObject) -> None:
    command = data.draw(
        st.sampled_from(
            [
                ["decide", "{}", "approve", "--as", "head.north"],
                ["doc", "show", "{}"],
                ["doc", "sheet", "{}"],
                ["doc", "acks", "{}"],
                ["discount", "show", "{}"],
                ["collection", "done", "{}", "--as", "kam.north1"],
                ["rules", "explain", "discount", "--decision", "{}"],
            ]
        )
    )
    given_id = data.draw(ID_TEXT)
    done = cli(*[given_id if part == "{}" else part for part in command])
    if not (given_id.strip().isdigit() and given_id.strip().isascii() and 1 <= int(given_id) <= MAX_ID):
        assert done.exit_code == 2 and ("is not an id" in done.output or given_id.startswith("-"))


@pytest.mark.parametrize(
    "command",
    [
        ["credit", "exposure", "{}", "--as", "credit"],
        ["credit", "check", "{}", "--as", "credit"],
        ["credit", "limit", "set", "{}", "1000", "--reason", "r", "--as", "credit"],
        ["customer", "{}", "--as", "credit"],
        [
            "discount",
            "request",
            "--customer",
            "{}",
            "--column",
            "A",
            "--discount-pct",
            "5",
            "--order-total",
            "100",
            "--as",
            "kam.north1",
        ],
        ["order", "submit", "--customer", "{}", "--amount", "100", "--as", "kam.north1"],
        ["collection", "promise", "{}", "--amount", "100", "--date", "2026-04-01", "--as", "kam.north1"],
    ],
)
def test_commands_naming_a_customer_refuse_what_is_no_customer_code_naming_the_field(
    cli: Any, command: list[str]
) -> None:
    for code in ["C" + "0" * 100, "C٩١١٥", "c0001", "C0001\u202e"]:
        done = cli(*[code if part == "{}" else part for part in command])
        assert done.exit_code == 2 and "customer" in done.output, (command, code, done.output)


@CLI_RUNS
@given(
    data=st.data(),
    comment=_near(2000) | NASTY_TEXT,
    discount=_amounts(DecimalText(2, 4)),
)
def test_decide_with_generated_answers(cli: Any, data: st.DataObject, comment: str, discount: str) -> None:
    action = data.draw(st.sampled_from(["approve", "reject", "counter", "release", "bogus\x1b[0m"]))
    cli("decide", "1", action, "--comment", comment, "--discount-pct", discount, "--as", data.draw(LOGINS))


@CLI_RUNS
@given(data=st.data())
def test_requests_with_generated_input(cli: Any, data: st.DataObject) -> None:
    as_user = ["--as", data.draw(LOGINS)]
    amount = data.draw(_amounts(Amount(kamflow.models.Money)))
    command = data.draw(
        st.sampled_from(
            ["discount", "order", "limit", "check", "exposure", "promise", "hold", "delegate", "review"]
        )
    )
    if command == "discount":
        args = [
            "discount",
            "request",
            "--customer",
            data.draw(CODES),
            "--column",
            data.draw(ID_TEXT),
            "--discount-pct",
            data.draw(_amounts(Amount(kamflow.models.Percent))),
            "--order-total",
            amount,
            "--note",
            data.draw(_near(2000) | NASTY_TEXT),
        ]
    elif command == "order":
        args = [
            "order",
            "submit",
            "--customer",
            data.draw(CODES),
            "--amount",
            amount,
            *data.draw(_option("--number", _near(30) | NASTY_TEXT)),
        ]
    elif command == "limit":
        args = [
            "credit",
            "limit",
            "set",
            data.draw(CODES),
            amount,
            *data.draw(_option("--until", DATES)),
            "--reason",
            data.draw(_near(2000) | NASTY_TEXT),
        ]
    elif command == "check":
        args = ["credit", "check", data.draw(CODES), "--order-amount", amount]
    elif command == "exposure":
        args = ["credit", "exposure", data.draw(CODES), *data.draw(_option("--as-of", DATES))]
        as_user = []
    elif command == "promise":
        args = ["collection", "promise", data.draw(CODES), "--amount", amount, "--date", data.draw(DATES)]
    elif command == "hold":
        args = ["collection", "hold", data.draw(_near(30) | NASTY_TEXT), "--reason", data.draw(_near(2000))]
    elif command == "delegate":
        args = [
            "delegate",
            "--from",
            data.draw(LOGINS),
            "--to",
            data.draw(LOGINS),
            "--from-date",
            data.draw(DATES),
            "--to-date",
            data.draw(DATES),
            "--order-ref",
            data.draw(_near(100) | NASTY_TEXT),
        ]
    else:
        args = ["review", *data.draw(_option("--as-of", DATES)), "--shards", data.draw(ID_TEXT)]
        as_user = []
    cli(*args, *as_user)


def test_a_review_after_today_is_refused_naming_as_of(cli: Any) -> None:
    done = cli("review", "--as-of", "2099-01-01", "--json")
    assert done.exit_code == 2 and '"field": "as_of"' in done.output
    done = cli("review", "--as-of", "2026-03-16T00:00", "--json")
    assert done.exit_code == 2 and '"field": "as_of"' in done.output


@CLI_RUNS
@given(
    content=st.one_of(
        st.just("# Job\n\n## Purpose\nx\n"), _near(4096), st.binary(max_size=64).map(lambda b: b.decode("latin-1"))
    ),
    title=st.one_of(st.none(), _near(300), NASTY_TEXT),
    field=_near(200) | NASTY_TEXT,
    doc_type=st.sampled_from(["job_description", "customer_contract"]) | _near(40),
)
def test_doc_submit_with_generated_files_and_options(
    cli: Any, content: str, title: str | None, field: str, doc_type: str
) -> None:
    path = cli.folder / "draft.md"
    path.write_bytes(content.encode("utf-8", "surrogatepass"))
    titled = [] if title is None else ["--title", title]
    cli(
        "doc",
        "submit",
        str(path),
        "--type",
        doc_type,
        *titled,
        "--field",
        f"department={field}",
        "--as",
        "head.north",
    )


@pytest.mark.parametrize(
    "args",
    [
        ["doc", "submit", "/dev/zero", "--type", "job_description", "--as", "head.north"],
        ["import", "invoices", "/dev/zero"],
        ["rules", "lint", "/dev/zero"],
        ["rules", "explain", "discount", "--facts", "@/dev/zero"],
        ["rules", "replay", "discount", "--candidate", "/dev/zero"],
        ["decide", "1", "approve", "--file", "/dev/zero", "--as", "head.north"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_dev_zero_is_refused_at_the_limit_naming_the_file(cli: Any, args: list[str]) -> None:
    done = cli(*args)
    assert done.exit_code == 2 and "/dev/zero" in done.output and "larger than the limit" in done.output


def test_read_bounded_reads_at_most_one_byte_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_bounded(path, 10) == b"x" * 10
    with pytest.raises(InvalidInput, match="larger than the limit of 9 bytes"):
        read_bounded(path, 9)


@CLI_RUNS
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40) | NASTY_TEXT)
def test_lint_of_generated_rule_files_reports_never_crashes(cli: Any, text: str) -> None:
    path = cli.folder / "generated.yaml"
    path.write_text(f"ruleset: generated\n{text}\n", encoding="utf-8")
    assert cli("rules", "lint", str(path)).exit_code == 2


@CLI_RUNS
@given(facts=st.one_of(NASTY_TEXT, st.sampled_from(["[" * 100_000, '{"discount_pct": "١٢"}', "@" + "x" * 5000])))
def test_explain_with_generated_facts(cli: Any, facts: str) -> None:
    cli("rules", "explain", "discount", "--facts", facts)


# --- CSV imports -----------------------------------------------------------------------------------------------

GOOD_ROWS = {
    "customers": (
        "code,name,customer_class,company_type,kam,credit_limit,currency,payment_terms_days",
        "C9101,Alfa,B,private,kam.north1,5000.00,EUR,30",
    ),
    "invoices": ("number,customer,issue_date,due_date,amount", "T-INV-1,C0001,2026-01-15,2026-02-14,10.00"),
    "payments": ("invoice,paid_on,amount", "NOPE-1,2026-02-10,1.00"),
    "instalments": ("invoice,due_date,amount", "INV-00000001,2026-02-10,1.00"),
    "credit_notes": ("number,invoice,issued_on,amount,reason", "T-CN-1,INV-00000001,2026-02-10,1.00,returned"),
    "orders": ("number,customer,order_date,amount", "T-ORD-1,C0001,2026-01-10,12.00"),
    "statements": (
        "customer,period_end,current_assets,current_liabilities,inventory,total_assets,"
        "total_liabilities,equity,retained_earnings,ebit,sales",
        "C0001,2024-12-31,4.00,2.00,1.00,10.00,6.00,4.00,1.00,1.00,18.00",
    ),
}


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


@pytest.mark.parametrize("kind", list(GOOD_ROWS))
@CLI_RUNS
@given(data=st.data())
def test_imports_of_generated_csv_files(cli: Any, kind: str, data: st.DataObject) -> None:
    header, row = (part.split(",") for part in GOOD_ROWS[kind])
    fields = ROWS[kind].model_fields
    column = data.draw(st.integers(0, len(header) - 1))
    mutation = data.draw(st.sampled_from(["cell", "repeat", "unknown", "long", "none"]))
    if mutation == "cell":
        info = fields[header[column]]
        leaf, metadata = next(iter(_leaves(info.annotation, tuple(info.metadata))))
        row[column] = str(data.draw(_values(leaf, metadata)))
    elif mutation == "repeat":
        header.append(header[column])
        row.append(row[column])
    elif mutation == "unknown":
        header.append(data.draw(NASTY_TEXT | st.just("=cmd|' /C calc'!A0")))
        row.append("x")
    elif mutation == "long":
        row[column] = "x" * 131_073
    path = cli.folder / f"{kind}.csv"
    path.write_text(",".join(map(_quoted, header)) + "\n" + ",".join(map(_quoted, row)) + "\n", encoding="utf-8")
    done = cli("import", kind.replace("_", "-"), str(path), "--json")
    if mutation in ("repeat", "unknown", "long"):
        assert done.exit_code == 2
    if mutation == "repeat":
        assert f'"field": "{header[column]}"' in done.output and "repeated column" in done.output


# --- output ----------------------------------------------------------------------------------------------------


def test_text_for_a_terminal_shows_escapes_instead_of_acting_on_them() -> None:
    assert for_terminal("ok\x1b[31mred\u202eevil\x00\tend\n") == "ok\\x1b[31mred\\u202eevil\\x00\tend\n"
    assert for_terminal("Suministros Alfa S.L.") == "Suministros Alfa S.L."


@given(text=NASTY_TEXT)
def test_no_cell_starts_a_formula(text: str) -> None:
    cell = neutralise_formula(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell in (text, "'" + text)


def test_exposure_of_a_customer_named_with_escapes_prints_them_visibly(cli: Any) -> None:
    from kamflow.db import unit_of_work
    from kamflow.models import Customer

    with unit_of_work() as session:
        session.scalars(select(Customer).where(Customer.code == "C0001")).one().name = "Evil\x1b[2J\u202eCo"
    done = cli("credit", "exposure", "C0001", "--as", "credit")
    assert done.exit_code == 0 and "\x1b" not in done.output and "\\x1b[2J" in done.output
