"""Reasons in the reader's language: templates and words per language, numbers as each language writes them, and
every language checked to have every template with the same placeholders."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rules.engine import RULES_DIR, RuleFileError, get_ruleset, load_ruleset, load_ruleset_text
from rules.reasons import YES_NO
from rules.spec import LANGUAGES

DISCOUNT_FACTS = {
    "customer_class": "B",
    "price_column": 3,
    "discount_pct": Decimal("19"),
    "norm_pct": Decimal("15"),
    "excess_pct": Decimal("4"),
    "promotion_active": True,
    "overdue_amount": Decimal("90000"),
    "order_total": Decimal("106355.82"),
}


def test_the_same_discount_decision_has_its_reasons_in_english_and_in_spanish() -> None:
    ruleset = get_ruleset("discount")
    decision = ruleset.decide(DISCOUNT_FACTS)
    assert ruleset.languages == ["en", "es"]
    assert ruleset.reasons(decision, "en") == decision.reasons  # decisions are made in the file's first language
    assert [reason.text for reason in decision.reasons] == [
        "Discount 19% is above the norm of 15% for price column 3, class B",
        "Discount 19% would come on top of an active promotion",
        "The customer has 90,000.00 overdue; this order is 106,355.82",
    ]
    spanish = ruleset.reasons(decision, "es")
    assert [reason.rule for reason in spanish] == decision.fired
    assert [reason.text for reason in spanish] == [
        "El descuento del 19 % supera la norma del 15 % para la columna de precios 3, clase B",
        "El descuento del 19 % se sumaría a una promoción activa",
        "El cliente tiene 90.000,00 vencidos; este pedido es de 106.355,82",
    ]


def test_every_shipped_rule_file_writes_every_reason_of_its_cases_in_spanish() -> None:
    for path in sorted(RULES_DIR.glob("*.yaml")):
        ruleset = get_ruleset(path.stem)
        assert ruleset.languages == ["en", "es"], path.name
        for decision in ruleset.decide_many([case.facts for case in ruleset.cases]):
            spanish = ruleset.reasons(decision, "es")
            assert len(spanish) == len(decision.reasons)
            for english, written in zip(decision.reasons, spanish, strict=True):
                assert written.text != english.text and "{" not in written.text, (path.name, written)


WORDS = """\
ruleset: shop
languages: [es, en]
facts: {amount: money, share: decimal, member: boolean, country: string}
words:
  country:
    DE: {es: Alemania, en: Germany}
outcomes: [ok]
default: {outcome: ok, reason: {es: "Nada", en: "Nothing"}}
rules:
  - id: all
    when: {fact: amount, op: ne, value: 0}
    outcome: ok
    reason:
      es: "{amount} ({share} %) a {country}, socio: {member}"
      en: "{amount} ({share}%) to {country}, member: {member}"
"""


def test_a_file_whose_first_language_is_spanish_decides_in_spanish_and_writes_english_on_request() -> None:
    ruleset = load_ruleset_text(WORDS, "shop.yaml")
    facts = [
        {"amount": Decimal("1234567.5"), "share": Decimal("12.50"), "member": True, "country": "DE"},
        {"amount": -1200, "share": Decimal("1E+4"), "member": False, "country": "FR"},
    ]
    batch = ruleset.decide_many(facts)
    assert batch == [ruleset.decide(one) for one in facts]
    assert [decision.reasons[0].text for decision in batch] == [
        "1.234.567,50 (12,5 %) a Alemania, socio: sí",
        "-1.200,00 (10.000 %) a FR, socio: no",
    ]
    assert [ruleset.reasons(decision, "en")[0].text for decision in batch] == [
        "1,234,567.50 (12.5%) to Germany, member: yes",
        "-1,200.00 (10,000%) to FR, member: no",
    ]


def test_a_plain_string_is_the_files_one_language_and_other_languages_get_it() -> None:
    plain = load_ruleset_text(WORDS.replace("languages: [es, en]\n", "").split("words:")[0] + PLAIN_RULES, "x")
    decision = plain.decide({"amount": Decimal("2600"), "share": Decimal(1), "member": True, "country": "DE"})
    assert plain.languages == ["en"]
    assert plain.reasons(decision, "es") == decision.reasons
    assert decision.reasons[0].text == "2,600.00 to DE: yes"


PLAIN_RULES = """\
outcomes: [ok]
default: {outcome: ok, reason: "Nothing"}
rules:
  - id: all
    when: {fact: amount, op: ge, value: 0}
    outcome: ok
    reason: "{amount} to {country}: {member}"
"""

BROKEN = {
    "a rule without its English template": (
        '      en: "{amount} ({share}%) to {country}, member: {member}"\n',
        "",
        "all",
        "the reason has no 'en' template",
        '      es: "{amount}',
    ),
    "a placeholder that differs": (
        "socio: {member}",
        "socio: {country}",
        "all",
        "the reason in 'en' prints {amount}, {country}, {member}, {share}; in 'es' {amount}, {country}, {share}",
        '      en: "{amount}',
    ),
    "a placeholder missing in one language": (
        "({share}%) to",
        "to",
        "all",
        "the reason in 'en' prints {amount}, {country}, {member}; in 'es' {amount}, {country}, {member}, {share}",
        '      en: "{amount} to',
    ),
    "a template in a language the file does not declare": (
        '      en: "{amount}',
        '      fr: "{amount}',
        "all",
        "the reason has no 'en' template",
        '      es: "{amount}',
    ),
    "a template in one language too many": (
        '      en: "{amount} ({share}%)',
        '      de: "x"\n      en: "{amount} ({share}%)',
        "all",
        "the reason in 'de', which is not one of languages",
        '      de: "x"',
    ),
    "a plain string where the file has two languages": (
        'reason: {es: "Nada", en: "Nothing"}',
        'reason: "Nothing"',
        None,
        "the default's reason has no 'en' template",
        "default:",
    ),
    "words without their English": (
        "{es: Alemania, en: Germany}",
        "{es: Alemania}",
        None,
        "country 'DE' has no 'en' words",
        "    DE:",
    ),
    "a language reasons are not written in": ("languages: [es, en]", "languages: [es, fr]", None, "'fr'", ""),
    "a language listed twice": ("languages: [es, en]", "languages: [es, es]", None, "listed twice", ""),
}


@pytest.mark.parametrize(("old", "new", "rule_id", "message", "marker"), BROKEN.values(), ids=BROKEN.keys())
def test_a_language_without_every_template_or_with_other_placeholders_is_refused(
    tmp_path: Path, old: str, new: str, rule_id: str | None, message: str, marker: str
) -> None:
    assert WORDS.count(old) == 1
    text = WORDS.replace(old, new)
    line = text[: text.index(marker or new)].count("\n") + 1
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    with pytest.raises(RuleFileError) as raised:
        load_ruleset(path)
    error = raised.value
    assert (error.line, error.rule_id) == (line, rule_id)
    assert message in error.message


def test_every_language_reasons_are_written_in_has_its_words_for_yes_and_no() -> None:
    assert set(YES_NO) == set(LANGUAGES)


def test_the_facts_a_decisions_reasons_print_are_enough_to_write_them_in_every_language() -> None:
    """What the nightly review keeps per customer: the facts its reasons print, in any of the file's languages;
    with the rules that fired, they write the same reasons as all the facts do."""
    for path in sorted(RULES_DIR.glob("*.yaml")):
        ruleset = get_ruleset(path.stem)
        for decision in ruleset.decide_many([case.facts for case in ruleset.cases]):
            printed = ruleset.printed_facts(decision.fired, decision.facts)
            assert printed.items() <= decision.facts.items(), path.name
            kept = decision.model_copy(update={"facts": printed})
            for language in ruleset.languages:
                assert ruleset.reasons(kept, language) == ruleset.reasons(decision, language), path.name
    shop = load_ruleset_text(WORDS, "shop.yaml")
    facts = {"amount": "10.00", "share": "5", "member": True, "country": "DE", "unprinted": 1}
    assert list(shop.printed_facts(["all"], facts)) == ["amount", "share", "country", "member"]
    assert shop.printed_facts(["default"], facts) == {}
