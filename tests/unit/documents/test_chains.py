"""Chains as data: the shipped file loads, and a malformed chain fails when loaded, saying why."""

from __future__ import annotations

import pytest

from kamflow.documents.chains import load, parse

TYPES = {"job_description", "customer_contract", "shortage_act", "discount_agreement"}


def test_the_shipped_chains_cover_the_four_document_types() -> None:
    chains = load()
    assert set(chains.types) == TYPES
    job = chains.get("job_description")
    assert [s.kind for s in job.stages] == ["agree", "approve", "acknowledge"]
    assert [s.name for s in job.stages[0].steps] == ["legal", "hr", "planning", "department"]
    assert job.stages[1].may_correct and job.reviewing_stages() == 2
    assert job.required_sections == ["General provisions", "Duties", "Rights", "Responsibility"]


def test_quorum_means_all_any_or_a_number() -> None:
    steps = load().get("shortage_act").stages[0].steps
    assert [(s.name, s.needed(4)) for s in steps] == [("support", 1), ("witnesses", 2)]
    assert load().get("job_description").stages[2].steps[0].needed(4) == 4


def chain(stages: str, fields: str = "{}") -> str:
    return f"memo:\n  title: Memo\n  required_sections: [Body]\n  fields: {fields}\n  stages:\n{stages}"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            chain("    - {name: a, kind: approve, steps: [{name: s, who: {role: legal, position: Boss}}]}\n"),
            "exactly one",
        ),
        (
            chain("    - {name: a, kind: agree, steps: [{name: s, who: {role: legal}}]}\n"),
            "then an approval stage",
        ),
        (
            chain(
                "    - {name: k, kind: acknowledge, steps: [{name: s, who: {role: kam}}]}\n"
                "    - {name: a, kind: approve, steps: [{name: s, who: {role: legal}}]}\n"
            ),
            "then only acknowledgment",
        ),
        (
            chain("    - {name: a, kind: approve, steps: [{name: s, who: {department_head: department}}]}\n"),
            "does not declare",
        ),
        (
            chain("    - {name: a, kind: approve, steps: [{name: s, who: {role: hr}, escalate: {to: role}}]}\n"),
            "give a role",
        ),
        (chain("    - {name: a, kind: approve, steps: [{name: s, who: {role: hr}, quorum: 0}]}\n"), "quorum"),
        (
            chain(
                "    - {name: a, kind: approve, steps: [{name: s, who: {role: hr}}, {name: s, who: {role: hr}}]}\n"
            ),
            "repeat",
        ),
        (chain("    - {name: a, kind: sign, steps: [{name: s, who: {role: hr}}]}\n"), "kind"),
        (
            chain("    - {name: a, kind: approve, steps: [{name: s, who: {role: hr}}]}\n")
            + "  labels: {es: {required_sections: [Cuerpo, Anexo]}}\n",
            "one for each of",
        ),
        (
            chain("    - {name: a, kind: approve, steps: [{name: s, who: {role: hr}}]}\n")
            + "  labels: {es: {names: {x: equis}}}\n",
            "no stage or step",
        ),
        (
            chain("    - {name: a, kind: approve, steps: [{name: s, who: {role: hr}}]}\n")
            + "  labels: {fr: {title: Mémo}}\n",
            "labels",
        ),
        ("memo: [unclosed", "test"),
    ],
)
def test_a_malformed_chain_is_refused_when_loaded(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse(text, source="test")
