"""The answer models as the Prefect UI's resume form gets them: the JSON schema `RunInput.save` stores (and
Prefect's server checks every answer against), in the language of the person it is drawn for, and the Decimals the
flows read back — no server needed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, get_args

import pytest
from prefect._internal.pydantic.v2_schema import create_v2_schema
from prefect.utilities.schema_tools import validate
from pydantic import ValidationError

from flows.discount import DiscountAnswer
from flows.human import ApprovalInput, DecimalText
from flows.order_credit import OrderCreditAnswer
from flows.processes import PROCESSES
from flows.solvency import SolvencyAnswer
from kamflow import i18n

MODELS = [process.waits.answer for process in PROCESSES.values() if process.waits is not None]
BASE = {"approver": "head.north", "approval_code": "AB12-CD34"}
# (model, its Decimal field, an action that takes it)
DECIMALS: list[tuple[type[ApprovalInput], str, str]] = [
    (DiscountAnswer, "discount_pct", "counter"),
    (OrderCreditAnswer, "amount", "release_with_prepayment"),
    (SolvencyAnswer, "amount", "approve_limit"),
]
WRITTEN = [
    *(
        "7.1",
        "7,1",
        "7.10",
        "12.5",
        "12,5",
        "0.5",
        "99.9999",
        "99,9999",
        "1250",
        "15000.50",
        "15000,50",
        "0",
        "0.00",
    ),
    *("0,00", "100", "1234567890123456.78", "1234567890123456,78", "1.234", "1,234"),
]
NOT_NUMBERS = [
    *("-1", "1e2", " 7", "7.", "7,", ".5", ",5", "abc", "", "12.34567", "12345678901234567", "1.250,50"),
    *("1,250.50", "1 250", "7٫5"),
]


def exactly(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def form_schema(model: type[ApprovalInput]) -> dict[str, Any]:
    """What the flow's suspension saves under the run input's "schema" key, for the UI to draw."""
    return create_v2_schema(model.__name__, model_base=model.with_initial_data(description="the task"))


def first_action(model: type[ApprovalInput]) -> str:
    return str(get_args(model.model_fields["action"].annotation)[0])


def model_takes(model: type[ApprovalInput], values: dict[str, Any]) -> bool:
    try:
        model.model_validate(values)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_is_one_plain_input_with_a_title_and_a_description(model: type[ApprovalInput]) -> None:
    fields = form_schema(model)["properties"]
    assert list(fields)[:2] == ["approver", "approval_code"] and list(fields)[-1] == "comment"
    assert fields["action"]["title"] == "Decision" and fields["approver"]["title"] == "Your login"
    for name, field in fields.items():
        assert field["type"] in ("string", "integer", "number", "boolean"), name  # no choice of types or None
        assert "anyOf" not in field and field.get("default", "") is not None, name
        assert field["title"] and len(field["description"]) > 20, name
        assert "**" not in field["description"] and "`" not in field["description"], name  # shown as plain text
        assert "_" not in field["title"], name


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_task_number_is_not_drawn_yet_still_accepted_and_checked(model: type[ApprovalInput]) -> None:
    schema = form_schema(model)
    assert "task" not in schema["properties"]
    answer = {**BASE, "action": first_action(model), "task": 7}
    assert validate(answer, schema) == []
    assert model.model_validate(answer).task == 7
    assert [e.message for e in validate({**answer, "task": -1}, schema)] == ["-1 is less than the minimum of 0"]
    assert validate({**answer, "approver_login": "x"}, schema)  # nothing else slips in


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize(("model", "field", "action"), DECIMALS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("text", WRITTEN + NOT_NUMBERS)
def test_the_form_and_the_model_agree_on_every_decimal(
    model: type[ApprovalInput], field: str, action: str, text: str, language: i18n.Language
) -> None:
    """What Prefect's server lets through the flow can load (else the run would crash on resume), and what
    the model takes the form takes too (else `kamflow decide` would pass its own check and be refused) —
    whichever language the form is drawn and the answer read in; a decimal comma is a decimal dot."""
    answer = {**BASE, "action": action, field: text}
    with i18n.reading(language):
        form_takes = validate(answer, form_schema(model)) == []
        assert form_takes == model_takes(model, answer)
        if form_takes:
            assert getattr(model.model_validate(answer), field) == exactly(text)
            given = model.model_validate(answer).model_dump(mode="json")
            assert validate(given, form_schema(model)) == []  # what `kamflow decide` resumes the run with
    if text in NOT_NUMBERS:
        assert not form_takes


@pytest.mark.parametrize(("model", "field", "action"), DECIMALS, ids=lambda v: getattr(v, "__name__", v))
def test_no_decimal_a_form_takes_reads_two_ways(model: type[ApprovalInput], field: str, action: str) -> None:
    """A form takes one mark as the decimal mark, in every language: "1.234" would also be 1234 to a Spanish
    reader (`bounds.parse_number` refuses it as ambiguous), so no form may take both a third decimal and a fourth
    whole digit."""
    [annotated, _none] = get_args(model.model_fields[field].annotation)
    [bound] = [m for m in annotated.__metadata__ if isinstance(m, DecimalText)]
    assert not bound.ambiguous
    assert DecimalText(digits=4, decimals=3).ambiguous


def test_the_bounds_of_each_decimal() -> None:
    takes = {
        (model.__name__, text)
        for model, field, action in DECIMALS
        for text in WRITTEN
        if model_takes(model, {**BASE, "action": action, field: text})
    }
    assert {text for name, text in takes if name == "DiscountAnswer"} == {
        *("7.1", "7,1", "7.10", "12.5", "12,5", "0.5", "99.9999", "99,9999", "1.234", "1,234")
    }
    more_decimals = {"99.9999", "99,9999", "1.234", "1,234"}
    assert {text for name, text in takes if name == "OrderCreditAnswer"} == set(WRITTEN) - {
        *("0", "0.00", "0,00"),
        *more_decimals,
    }
    assert {text for name, text in takes if name == "SolvencyAnswer"} == set(WRITTEN) - more_decimals


def test_a_decimal_is_exact_and_a_bad_one_is_refused_naming_the_field() -> None:
    counter = DiscountAnswer.model_validate({**BASE, "action": "counter", "discount_pct": "7.1"})
    assert counter.discount_pct == Decimal("7.1") and isinstance(counter.discount_pct, Decimal)
    assert counter.payload() == {"action": "counter", "discount_pct": "7.1"}
    assert DiscountAnswer.model_validate(
        {**BASE, "action": "counter", "discount_pct": 7.1}
    ).discount_pct == Decimal("7.1")
    big = OrderCreditAnswer.model_validate({**BASE, "action": "release", "amount": "1234567890123456.78"})
    assert big.amount == Decimal("1234567890123456.78")
    assert OrderCreditAnswer.model_validate({**BASE, "action": "release", "amount": "15000,50"}).amount == Decimal(
        "15000.50"
    )
    refusals: tuple[tuple[i18n.Language, str], ...] = (
        ("en", "decimal comma or dot"),
        ("es", "coma o un punto decimal"),
    )
    for language, words in refusals:
        with i18n.reading(language), pytest.raises(ValidationError) as refused:
            OrderCreditAnswer.model_validate({**BASE, "action": "release_with_prepayment", "amount": "15.000,50"})
        [error] = refused.value.errors()
        assert error["loc"] == ("amount",) and "'15.000,50'" in error["msg"] and words in error["msg"]
        assert "{" not in error["msg"]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_form_is_drawn_in_the_language_of_the_person_it_waits_for(model: type[ApprovalInput]) -> None:
    """Titles and descriptions follow the reader; field names and the values a field takes do not."""
    english = form_schema(model)
    with i18n.reading("es"):
        spanish = form_schema(model)
    assert spanish["properties"]["action"]["title"] == "Decisión" and english["properties"]["action"]["title"] == (
        "Decision"
    )
    assert spanish["properties"]["approver"]["title"] == "Su usuario"
    assert list(spanish["properties"]) == list(english["properties"])
    assert spanish["properties"]["action"]["enum"] == english["properties"]["action"]["enum"]
    for name, field in spanish["properties"].items():
        assert field["description"] != english["properties"][name]["description"], name
    assert "description" not in spanish  # the model's docstring is for the code's readers


@pytest.mark.parametrize(("model", "field", "action"), DECIMALS, ids=lambda v: getattr(v, "__name__", v))
def test_left_empty_means_not_given(model: type[ApprovalInput], field: str, action: str) -> None:
    """The form sends nothing for an empty box; an answer with null (as an API caller may send) is taken too."""
    schema = form_schema(model)
    for answer in ({**BASE, "action": action}, {**BASE, "action": action, field: None}):
        assert validate(answer, schema) == []
        assert getattr(model.model_validate(answer), field) is None


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_no_payload_keeps_the_approval_code(model: type[ApprovalInput]) -> None:
    """The payload goes into the task and the audit trail; the code only proves who answered."""
    action = first_action(model)
    payload = model.model_validate({**BASE, "action": action, "task": 3}).payload()
    assert payload["action"] == action and not {"approver", "approval_code", "task"} & set(payload)
