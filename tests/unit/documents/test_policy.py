"""The document policy as data: the timing a chain step leaves out, the author's revision turn, and who may
record a delegation; a value that does not fit fails naming its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamflow.documents.chains import POLICY_FILE, load_policy
from kamflow.errors import InvalidInput
from tests.unit.documents.conftest import one_stage_chain


def test_the_shipped_policy_carries_the_document_figures() -> None:
    shipped = load_policy()
    superior, nobody = {"to": "superior", "role": None}, {"to": "none", "role": None}
    assert shipped.step.model_dump() == {"deadline_days": 3, "remind_every_days": 1, "escalate": superior}
    assert shipped.revision.model_dump() == {"deadline_days": 5, "remind_every_days": 1, "escalate": nobody}
    assert shipped.records_delegations == ("hr", "director")


def test_a_step_takes_what_it_leaves_out_from_the_policy_and_keeps_what_it_gives() -> None:
    memo = one_stage_chain("{name: plain, who: {role: hr}}").get("memo")
    [plain] = memo.stages[0].steps
    given = "{name: own, who: {role: legal}, deadline_days: 7, remind_every_days: 0, escalate: {to: none}}"
    [own] = one_stage_chain(given).get("memo").stages[0].steps
    assert (plain.deadline_days, plain.remind_every_days, plain.escalate.to) == (3, 1, "superior")
    assert (own.deadline_days, own.remind_every_days, own.escalate.to) == (7, 0, "none")
    assert memo.revision == load_policy().revision


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("deadline_days: 3 ", "deadline_days: 0 ", "step.deadline_days"),
        ("escalate: {to: none}", "escalate: {to: nobody}", "revision.escalate.to"),
        ("records_delegations: [hr, director]", "records_delegations: hr", "records_delegations"),
    ],
)
def test_a_bad_value_fails_naming_its_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = POLICY_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(InvalidInput) as error:
        load_policy(path)
    assert error.value.field == key and f"{path}: {key}: " in error.value.message
