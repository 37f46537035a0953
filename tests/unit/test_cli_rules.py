"""`kamflow rules lint | test | explain | replay` on real rule files and a real (demo) database."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kamflow import audit
from kamflow.app.cli import app
from kamflow.db import unit_of_work
from kamflow.discounts import service as discounts
from kamflow.models import AuditEvent, RuleSetVersion
from kamflow.settings import Settings, use_settings
from rules.engine import RULES_DIR, get_ruleset, load_ruleset_text
from tests.conftest import NOW, TODAY, customer

runner = CliRunner()
DISCOUNT = (RULES_DIR / "discount.yaml").read_text()
CEILING_LINE = DISCOUNT.splitlines().index("    when: {fact: discount_pct, op: gt, value: 35}") + 1
FACTS = {
    "customer_class": "B",
    "price_column": 3,
    "discount_pct": "14",
    "norm_pct": "12.5",
    "excess_pct": "1.5",
    "promotion_active": False,
    "overdue_amount": 0,
    "order_total": "5400.00",
}


def kamflow(*args: str) -> tuple[int, Any]:
    """Run the real CLI with --json: exit code and the parsed answer."""
    done = runner.invoke(app, [*args, "--json"])
    return done.exit_code, json.loads(done.stdout) if done.stdout.strip() else None


@pytest.fixture
def rules_dir(settings: Settings, tmp_path: Path) -> Path:
    """A rules folder of our own holding a copy of the discount rule file, in the process's settings."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "discount.yaml").write_text(DISCOUNT)
    use_settings(settings.model_copy(update={"rules_dir": folder}))
    return folder


def test_lint_checks_every_shipped_rule_file(settings: Settings) -> None:
    code, answer = kamflow("rules", "lint")
    assert code == 0 and answer["ok"]
    assert sorted(row["file"] for row in answer["files"]) == sorted(str(p) for p in RULES_DIR.glob("*.yaml"))
    assert all(row["ok"] and row["rules"] and row["cases"] for row in answer["files"])


def test_lint_locates_each_error_and_exits_2(rules_dir: Path) -> None:
    (rules_dir / "broken.yaml").write_text(
        DISCOUNT.replace("ruleset: discount", "ruleset: broken").replace("other: norm_pct}", "other: norm}", 1)
    )
    (rules_dir / "misnamed.yaml").write_text(DISCOUNT)
    code, answer = kamflow("rules", "lint")
    assert code == 2 and not answer["ok"]
    rows = {Path(row["file"]).name: row for row in answer["files"]}
    assert rows["discount.yaml"]["ok"]
    broken = rows["broken.yaml"]
    line = DISCOUNT.splitlines().index("    when: {fact: discount_pct, op: gt, other: norm_pct}") + 1
    assert (broken["line"], broken["rule"]) == (line, "above-norm") and "unknown fact 'norm'" in broken["message"]
    assert rows["misnamed.yaml"]["message"] == "ruleset 'discount' must be named as its file, 'misnamed'"
    human = runner.invoke(app, ["rules", "lint", str(rules_dir / "broken.yaml")])
    assert human.exit_code == 2
    assert f"ERROR  {rules_dir / 'broken.yaml'}:{line}: rule 'above-norm': unknown fact 'norm'" in human.stdout


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            '      es: "El descuento del {discount_pct} % se sumaría a una promoción activa"\n',
            "",
            "rule 'promotion': the reason has no 'es' template",
        ),
        (
            "se sumaría a una promoción activa",
            "se sumaría a una promoción activa con {order_total} pedidos",
            "rule 'promotion': the reason in 'es' prints {discount_pct}, {order_total}; in 'en' {discount_pct}",
        ),
    ],
    ids=["a missing Spanish template", "a placeholder only in Spanish"],
)
def test_lint_refuses_a_language_without_a_template_or_with_other_placeholders(
    rules_dir: Path, old: str, new: str, message: str
) -> None:
    assert DISCOUNT.count(old) == 1
    (rules_dir / "discount.yaml").write_text(DISCOUNT.replace(old, new))
    code, answer = kamflow("rules", "lint")
    assert code == 2 and not answer["ok"]
    [row] = answer["files"]
    assert message in row["error"] and row["rule"] == "promotion"


def test_test_runs_every_case_of_the_shipped_rule_sets(settings: Settings) -> None:
    code, answer = kamflow("rules", "test")
    assert code == 0 and answer["ok"]
    assert {one["ruleset"] for one in answer["rulesets"]} == {p.stem for p in RULES_DIR.glob("*.yaml")}
    discount = next(one for one in answer["rulesets"] if one["ruleset"] == "discount")
    assert len(discount["cases"]) == len(get_ruleset("discount").cases) and discount["uncovered"] == []
    human = runner.invoke(app, ["rules", "test", "discount"]).stdout.splitlines()
    assert human[0].split() == ["ruleset", "case", "expected", "got", "pass"]
    assert human[-1] == f"1 rule sets, {len(discount['cases'])} cases, 0 failed"


def test_test_fails_a_wrong_case_and_names_the_rules_no_case_fires(rules_dir: Path) -> None:
    wrong = DISCOUNT.replace(
        "expect: {outcome: escalate, role: department_head, fired: [overdue, within-norm]}\n\n  - name: a cent",
        "expect: {outcome: approve, role: null, fired: [within-norm]}\n\n  - name: a cent",
    )
    cases = wrong.index("cases:")  # keep only cases that fire no `ceiling`
    kept = [case for case in wrong[cases:].split("\n\n") if "ceiling" not in case]
    (rules_dir / "discount.yaml").write_text(wrong[:cases] + "\n\n".join(kept))
    code, answer = kamflow("rules", "test", "discount")
    assert code == 2 and not answer["ok"]
    [one] = answer["rulesets"]
    failed = [case for case in one["cases"] if not case["pass"]]
    assert [case["case"] for case in failed] == [
        "overdue receivables send even a discount within the norm to the department head"
    ]
    assert failed[0]["expected"] == "approve [within-norm]"
    assert failed[0]["got"] == "escalate/department_head [overdue, within-norm]"
    assert one["uncovered"] == ["ceiling"]
    human = runner.invoke(app, ["rules", "test", "discount"]).stdout
    assert "uncovered in discount (no case fires them): ceiling" in human and "FAIL" in human


def test_explain_prints_the_decision_with_every_rule_that_fired(rules_dir: Path) -> None:
    code, answer = kamflow("rules", "explain", "discount", "--facts", json.dumps(FACTS | {"overdue_amount": 12.5}))
    assert code == 0
    assert (answer["outcome"], answer["role"]) == ("escalate", "department_head")
    assert [(r["rule"], r["text"]) for r in answer["reasons"]] == [
        ("above-norm", "Discount 14% is above the norm of 12.5% for price column 3, class B"),
        ("overdue", "The customer has 12.50 overdue; this order is 5,400.00"),
    ]
    assert answer["reasons"][0]["description"].startswith("Any discount above the norm")
    assert answer["facts"]["overdue_amount"] == "12.5" and answer["version"] == get_ruleset("discount").version
    facts_file = rules_dir.parent / "facts.json"
    facts_file.write_text(json.dumps(FACTS))
    human = runner.invoke(app, ["rules", "explain", "discount", "--facts", f"@{facts_file}"])
    assert human.exit_code == 0
    assert human.stdout.splitlines()[:2] == [
        f"discount (version {answer['version'][:12]}): ESCALATE -> department_head",
        "  - above-norm: Discount 14% is above the norm of 12.5% for price column 3, class B",
    ]


def test_explain_prints_in_the_readers_language(rules_dir: Path, settings: Settings) -> None:
    use_settings(settings.model_copy(update={"rules_dir": rules_dir, "language": "es"}))
    facts = FACTS | {"overdue_amount": "90000", "order_total": "106355.82"}
    code, answer = kamflow("rules", "explain", "discount", "--facts", json.dumps(facts))
    assert code == 0 and answer["outcome"] == "escalate"
    assert [(r["rule"], r["text"]) for r in answer["reasons"]] == [
        ("above-norm", "El descuento del 14 % supera la norma del 12,5 % para la columna de precios 3, clase B"),
        ("overdue", "El cliente tiene 90.000,00 vencidos; este pedido es de 106.355,82"),
    ]
    human = runner.invoke(app, ["rules", "explain", "discount", "--facts", json.dumps(facts)]).stdout.splitlines()
    assert human[0] == f"discount (versión {answer['version'][:12]}): ESCALATE -> department_head"
    assert human[2] == "  - overdue: El cliente tiene 90.000,00 vencidos; este pedido es de 106.355,82"
    assert human[3].startswith("hechos: ") and "{" not in "".join(human)


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        (["--facts", "{not json"], "facts", "facts are not valid JSON"),
        (["--facts", "[1, 2]"], "facts", "facts must be a JSON object"),
        (["--facts", "@/nonexistent/facts.json"], "facts", "cannot read the facts file"),
        (["--facts", json.dumps({**FACTS, "discount_pct": "lots"})], "facts", "fact 'discount_pct' must be a"),
        (["--facts", json.dumps({**FACTS, "price_column": "3"})], "facts", "fact 'price_column' must be an int"),
        (["--facts", json.dumps({k: v for k, v in FACTS.items() if k != "norm_pct"})], "facts", "'norm_pct'"),
        (["--facts", json.dumps({**FACTS, "colour": "red"})], "facts", "unknown fact 'colour'"),
        ([], "facts", "exactly one of --facts or --decision"),
        (["--facts", "{}", "--decision", "1"], "facts", "exactly one of --facts or --decision"),
    ],
)
def test_explain_refuses_bad_facts_naming_the_field(
    rules_dir: Path, args: list[str], field: str, message: str
) -> None:
    code, answer = kamflow("rules", "explain", "discount", *args)
    assert code == 2 and answer["field"] == field and message in answer["message"]


@pytest.mark.parametrize(
    ("ruleset", "message"), [("absent", "absent.yaml: cannot read the rule file"), ("Bad-Name", "not a rule set")]
)
def test_explain_refuses_a_rule_set_that_is_not_there(rules_dir: Path, ruleset: str, message: str) -> None:
    code, answer = kamflow("rules", "explain", ruleset, "--facts", json.dumps(FACTS))
    assert code == 2 and answer["field"] == "ruleset" and message in answer["message"]


def store_decision(session: Session, rules_dir: Path) -> AuditEvent:
    """A decision of the discount rule set in `rules_dir`, audited as the processes do it."""
    ruleset = get_ruleset("discount", rules_dir)
    facts = {**FACTS, "discount_pct": Decimal("14"), "norm_pct": Decimal("12.5"), "excess_pct": Decimal("1.5")}
    decision = ruleset.decide(facts | {"order_total": Decimal("5400.00")})
    audit.remember_ruleset(session, ruleset, at=NOW)
    return audit.record(
        session,
        at=NOW,
        actor="rules",
        action="discount_escalate",
        subject_type="discount_request",
        subject_id=1,
        decision=decision,
    )


def test_a_stored_decision_is_explained_again_as_it_was_made_after_the_rule_file_changed(rules_dir: Path) -> None:
    with unit_of_work() as session:
        event_id = store_decision(session, rules_dir).id
        stored = session.get_one(AuditEvent, event_id).reasons
    (rules_dir / "discount.yaml").write_text(DISCOUNT.replace("is above the norm of", "exceeds the norm of"))

    code, now = kamflow("rules", "explain", "discount", "--facts", json.dumps(FACTS))
    assert code == 0 and now["reasons"][0]["text"].startswith("Discount 14% exceeds the norm")

    code, answer = kamflow("rules", "explain", "discount", "--decision", str(event_id))
    assert code == 0 and answer["as_stored"]
    assert [{"rule": r["rule"], "text": r["text"]} for r in answer["reasons"]] == stored
    assert stored[0]["text"] == "Discount 14% is above the norm of 12.5% for price column 3, class B"
    assert answer["version"] != now["version"] and answer["audit_event"] == event_id
    human = runner.invoke(app, ["rules", "explain", "discount", "--decision", str(event_id)]).stdout
    assert f"audit event {event_id}: discount_escalate of discount_request 1" in human
    assert human.rstrip().endswith("the same reasons as stored")
    code, unnamed = kamflow("rules", "explain", "--decision", str(event_id))  # as the README shows it
    assert code == 0 and unnamed["reasons"] == answer["reasons"]
    code, refused = kamflow("rules", "explain", "--facts", json.dumps(FACTS))
    assert (code, refused["field"]) == (2, "ruleset")


def test_explaining_a_stored_decision_refuses_what_is_not_one(rules_dir: Path) -> None:
    with unit_of_work() as session:
        decided = store_decision(session, rules_dir).id
        other = audit.record(
            session, at=NOW, actor="x", action="task_opened", subject_type="approval_task", subject_id=1
        ).id
    assert kamflow("rules", "explain", "discount", "--decision", "999999")[0] == 4
    code, answer = kamflow("rules", "explain", "discount", "--decision", str(other))
    assert code == 2 and "is not a rule decision" in answer["message"] and answer["field"] == "decision"
    code, answer = kamflow("rules", "explain", "solvency", "--decision", str(decided))
    assert code == 2 and "is a decision of rule set 'discount', not 'solvency'" in answer["message"]


def ask(session: Session, pct: str) -> discounts.DiscountRequestIn:
    return discounts.DiscountRequestIn.model_validate(
        {
            "customer": "C0001",
            "price_column": 3,
            "discount_pct": pct,
            "order_total": "150000",
            "requester": customer(session, "C0001").kam.login,
            "requested_on": TODAY,
        }
    )


@pytest.fixture
def history(settings: Settings) -> dict[str, str]:
    """Discount requests decided by the discount process (audited with their rules version), by percent."""
    with unit_of_work() as session:
        statuses = {}
        for pct in ("10", "22", "26", "40"):
            row = discounts.submit(session, request=ask(session, pct), flow_run_id=f"run-{pct}", now=NOW)
            statuses[pct] = row.decision["outcome"]
    return statuses


def counts() -> tuple[int, int]:
    """Audit events and kept rule-set versions, read afresh."""
    with unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            session.scalar(select(func.count()).select_from(RuleSetVersion)) or 0,
        )


def test_replay_counts_what_a_candidate_would_change_and_shows_the_first_changes(
    history: dict[str, str], tmp_path: Path
) -> None:
    assert history["22"] == history["26"] == "escalate" and history["40"] == "reject"
    candidate = tmp_path / "discount-ceiling-20.yaml"
    candidate.write_text(
        DISCOUNT.replace("value: 35}", "value: 20}")
        .replace("ceiling of 35%", "ceiling of 20%")
        .replace("absoluto del 35 %", "absoluto del 20 %")
    )
    before = counts()
    code, answer = kamflow("rules", "replay", "discount", "--candidate", str(candidate), "--limit", "1")
    assert code == 0 and answer["decisions"] == 4 and answer["changed"] == 2
    assert answer["not_replayed"] == 0 and answer["not_reproduced"] == []
    moved = {(t["old"], t["new"]): t["count"] for t in answer["transitions"]}
    assert moved[("reject", "reject")] == 1 and sum(c for (old, new), c in moved.items() if new == "reject") == 3
    [first] = answer["first_changed"]
    assert first["old"]["outcome"] == "escalate" and first["new"]["outcome"] == "reject"
    assert first["new"]["reasons"][0] == {
        "rule": "ceiling",
        "text": "Discount 22% is above the absolute ceiling of 20%",
    }
    assert "ceiling" not in [r["rule"] for r in first["old"]["reasons"]]
    assert counts() == before  # reads only

    human = runner.invoke(app, ["rules", "replay", "discount", "--candidate", str(candidate)]).stdout
    assert "discount: 4 stored decisions replayed with candidate version" in human
    assert "    now ceiling: Discount 26% is above the absolute ceiling of 20%" in human
    code, later = kamflow("rules", "replay", "discount", "--candidate", str(candidate), "--since", "2026-03-17")
    assert code == 0 and later["decisions"] == 0 and later["since"].startswith("2026-03-17T00:00:00")
    in_spanish = ["--lang", "es", "rules", "replay", "discount", "--candidate", str(candidate)]
    spanish = runner.invoke(app, in_spanish).stdout
    assert "discount: 4 decisiones guardadas decididas de nuevo con la versión candidata" in spanish
    assert "    ahora ceiling: El descuento del 26 % supera el máximo absoluto del 20 %" in spanish


def test_replay_with_a_candidate_that_needs_a_fact_never_stored_says_so(
    history: dict[str, str], tmp_path: Path
) -> None:
    candidate = tmp_path / "discount.yaml"
    without_cases = DISCOUNT[: DISCOUNT.index("cases:")]
    candidate.write_text(without_cases.replace("  order_total: money ", "  region: string\n  order_total: money "))
    code, answer = kamflow("rules", "replay", "discount", "--candidate", str(candidate))
    assert code == 0 and answer["decisions"] == 0 and answer["not_replayed"] == 4
    assert "missing fact 'region'" in answer["first_not_replayed"][0]


def test_replay_decides_each_stored_decision_under_its_own_version(settings: Settings, tmp_path: Path) -> None:
    ceiling_20 = DISCOUNT.replace("value: 35}", "value: 20}").replace("ceiling of 35%", "ceiling of 20%")
    versions = [load_ruleset_text(text, "discount") for text in (DISCOUNT, ceiling_20)]
    with unit_of_work() as session:
        for index, pct in enumerate(("22", "22", "10", "26", "25")):  # the versions interleaved
            ruleset = versions[index % 2]
            facts = {**FACTS, "discount_pct": pct, "excess_pct": str(Decimal(pct) - Decimal("12.5"))}
            audit.remember_ruleset(session, ruleset, at=NOW)
            decision = ruleset.decide(ruleset.typed_facts(facts))
            audit.record(
                session,
                at=NOW,
                actor="rules",
                action="discount",
                subject_type="x",
                subject_id=index,
                decision=decision,
            )
    candidate = tmp_path / "discount.yaml"
    candidate.write_text(DISCOUNT)
    code, answer = kamflow("rules", "replay", "discount", "--candidate", str(candidate))
    assert code == 0 and answer["decisions"] == 5 and answer["not_reproduced"] == []
    moved = {(t["old"], t["new"]): t["count"] for t in answer["transitions"]}
    assert moved == {
        ("escalate (department_head)", "escalate (department_head)"): 1,
        ("escalate (commercial_director)", "escalate (commercial_director)"): 1,
        ("approve", "approve"): 1,
        ("reject", "escalate (department_head)"): 1,
        ("reject", "escalate (commercial_director)"): 1,
    }
    assert answer["changed"] == 2


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        (["--candidate", "/nonexistent/discount.yaml"], "candidate", "cannot read the candidate file"),
        (
            ["--candidate", "BROKEN"],
            "candidate",
            f"BROKEN.yaml:{CEILING_LINE}: rule 'ceiling': unknown fact 'discount'",
        ),
        (["--candidate", "OTHER"], "candidate", "the candidate is rule set 'other', not 'discount'"),
        (["--candidate", "GOOD", "--since", "16/03/2026"], "since", "is not a date"),
    ],
)
def test_replay_refuses_bad_input_naming_the_field(
    history: dict[str, str], tmp_path: Path, args: list[str], field: str, message: str
) -> None:
    files = {
        "BROKEN": DISCOUNT.replace(
            "{fact: discount_pct, op: gt, value: 35}", "{fact: discount, op: gt, value: 35}"
        ),
        "OTHER": DISCOUNT.replace("ruleset: discount", "ruleset: other"),
        "GOOD": DISCOUNT,
    }
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    args = [str(tmp_path / f"{arg}.yaml") if arg in files else arg for arg in args]
    before = counts()
    code, answer = kamflow("rules", "replay", "discount", *args)
    assert code == 2 and answer["field"] == field and message in answer["message"]
    assert counts() == before


def test_every_rules_command_has_help() -> None:
    for command in ("lint", "test", "explain", "replay"):
        done = runner.invoke(app, ["rules", command, "--help"])
        assert done.exit_code == 0 and "--json" in done.stdout


def test_a_rules_folder_without_rule_files_is_refused(settings: Settings, tmp_path: Path) -> None:
    shutil.rmtree(tmp_path / "empty", ignore_errors=True)
    (tmp_path / "empty").mkdir()
    use_settings(settings.model_copy(update={"rules_dir": tmp_path / "empty"}))
    for command in ("lint", "test"):
        code, answer = kamflow("rules", command)
        assert code == 2 and answer["field"] == "rules_dir"
