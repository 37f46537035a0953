"""`kamflow rules …`: check rule files, run their cases, explain a decision (new or stored), and replay stored
decisions against a candidate rule file. Rule sets are read from the settings' `rules_dir`, as they are now
on disk. Every command reads only; a report that finds a problem exits 2. Reports and reasons are in the reader's
language (the reasons in it when the rule file has it). kamflow.app.cli registers this."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from kamflow import i18n
from kamflow.app.cli.common import AsUser, Json, parse_id, run_report
from kamflow.bounds import parse_date, read_bounded_text
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.settings import get_settings
from rules.engine import Decision, RuleFileError, RuleSet, load_ruleset, load_ruleset_text
from rules.spec import NAME

rules_app = typer.Typer(
    help="Rule sets: check the files, run their cases, explain decisions, replay history against a change.",
    no_args_is_help=True,
)
RulesetName = Annotated[str, typer.Argument(help="Rule set name, e.g. discount.")]


def _path(name: str) -> Path:
    if not NAME.fullmatch(name):
        raise InvalidInput(
            _("{name} is not a rule set name (lowercase letters, digits, _)").format(name=repr(name)),
            field="ruleset",
        )
    return get_settings().rules_dir / f"{name}.yaml"


def _load(name: str) -> RuleSet:
    """The rule set as its file is now (not a cached version); a file that does not load is bad input."""
    try:
        return load_ruleset(_path(name), max_bytes=get_settings().max_rule_file_bytes)
    except RuleFileError as error:
        raise InvalidInput(str(error), field="ruleset") from None


def _every_file() -> list[Path]:
    folder = get_settings().rules_dir
    found = sorted(folder.glob("*.yaml"))
    if not found:
        raise InvalidInput(_("no rule files (*.yaml) in {folder}").format(folder=folder), field="rules_dir")
    return found


def _outcome(outcome: str, role: str | None) -> str:
    return f"{outcome}/{role}" if role else outcome


def _verdict(outcome: str, role: str | None, fired: list[str]) -> str:
    return f"{_outcome(outcome, role)} [{', '.join(fired)}]"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


# --- lint --------------------------------------------------------------------------------------------------


def _lint_one(path: Path) -> dict[str, Any]:
    try:
        ruleset = load_ruleset(path, max_bytes=get_settings().max_rule_file_bytes)
    except RuleFileError as error:
        return {
            "file": str(path),
            "ok": False,
            "line": error.line,
            "rule": error.rule_id,
            "message": error.message,
            "error": str(error),
        }
    return {
        "file": str(path),
        "ok": True,
        "ruleset": ruleset.name,
        "version": ruleset.version,
        "rules": len(ruleset.listed),
        "cases": len(ruleset.cases),
    }


def _lint_text(report: dict[str, Any]) -> str:
    lines = [
        _("ok     {file}: {ruleset} {version}, {rules} rules, {cases} cases").format(
            file=row["file"],
            ruleset=row["ruleset"],
            version=row["version"][:12],
            rules=row["rules"],
            cases=row["cases"],
        )
        if row["ok"]
        else _("ERROR  {error}").format(error=row["error"])
        for row in report["files"]
    ]
    bad = sum(not row["ok"] for row in report["files"])
    return "\n".join([*lines, _("{files} files, {bad} with errors").format(files=len(report["files"]), bad=bad)])


@rules_app.command("lint")
def lint(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Rule files to check; default: every *.yaml in the rules folder.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Load and check rule files: every error with its file, line and rule id. Exit 2 if any file has one."""

    def body() -> dict[str, Any]:
        rows = [_lint_one(path) for path in (files or _every_file())]
        return {"ok": all(row["ok"] for row in rows), "files": rows}

    run_report(as_json, body, _lint_text)


# --- test --------------------------------------------------------------------------------------------------


def _test_one(name: str) -> dict[str, Any]:
    from rules.cases import run_cases

    try:
        ruleset = load_ruleset(_path(name), max_bytes=get_settings().max_rule_file_bytes)
    except RuleFileError as error:
        return {"ruleset": name, "ok": False, "error": str(error), "cases": [], "uncovered": []}
    report = run_cases(ruleset)
    cases = [
        {
            "case": result.case.name,
            "expected": _verdict(result.case.expect.outcome, result.case.expect.role, result.case.expect.fired),
            "got": _verdict(result.decision.outcome, result.decision.role, result.decision.fired),
            "pass": result.passed,
        }
        for result in report.results
    ]
    return {
        "ruleset": name,
        "version": ruleset.version,
        "ok": not report.failed,
        "cases": cases,
        "uncovered": report.uncovered,
    }


def _test_text(report: dict[str, Any]) -> str:
    rows = [[_("ruleset"), _("case"), _("expected"), _("got"), _("pass")]]
    rows += [
        [one["ruleset"], case["case"], case["expected"], case["got"], _("ok") if case["pass"] else _("FAIL")]
        for one in report["rulesets"]
        for case in one["cases"]
    ]
    lines = _table(rows)
    lines += [_("ERROR  {error}").format(error=one["error"]) for one in report["rulesets"] if "error" in one]
    lines += [
        _("uncovered in {ruleset} (no case fires them): {rules}").format(
            ruleset=one["ruleset"], rules=", ".join(one["uncovered"])
        )
        for one in report["rulesets"]
        if one["uncovered"]
    ]
    cases = [case for one in report["rulesets"] for case in one["cases"]]
    failed = sum(not case["pass"] for case in cases)
    lines.append(
        _("{rulesets} rule sets, {cases} cases, {failed} failed").format(
            rulesets=len(report["rulesets"]), cases=len(cases), failed=failed
        )
    )
    return "\n".join(lines)


@rules_app.command("test")
def test(
    rulesets: Annotated[
        list[str] | None, typer.Argument(help="Rule set names; default: every rule file in the rules folder.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Run every case of the rule sets: a table of expected and got, and the rules no case fires.
    Exit 2 if a case fails or a file does not load."""

    def body() -> dict[str, Any]:
        names = rulesets or [path.stem for path in _every_file()]
        results = [_test_one(name) for name in names]
        return {"ok": all(one["ok"] for one in results), "rulesets": results}

    run_report(as_json, body, _test_text)


# --- explain -----------------------------------------------------------------------------------------------


def _facts_json(text: str) -> dict[str, Any]:
    """--facts: a JSON object, or @FILE holding one; numbers read exactly (as Decimal where fractional)."""
    if text.startswith("@"):
        text = read_bounded_text(
            Path(text[1:]), get_settings().max_facts_bytes, field="facts", what="the facts file"
        )
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise InvalidInput(_("facts are not valid JSON: {error}").format(error=error), field="facts") from None
    except RecursionError:
        raise InvalidInput(_("facts are nested too deeply"), field="facts") from None
    if not isinstance(data, dict):
        raise InvalidInput(_("facts must be a JSON object of fact names and values"), field="facts")
    return data


def _decision_view(ruleset: RuleSet, decision: Decision) -> dict[str, Any]:
    """The decision with its reasons in the reader's language."""
    described = {rule.id: rule.description for rule in ruleset.listed}
    return {
        "ruleset": decision.ruleset,
        "version": decision.version,
        "outcome": decision.outcome,
        "role": decision.role,
        "reasons": [
            {"rule": reason.rule, "text": reason.text, "description": described.get(reason.rule, "")}
            for reason in ruleset.reasons(decision, i18n.current())
        ],
        "facts": decision.facts,
    }


def _explain_text(view: dict[str, Any]) -> str:
    lines = []
    if "audit_event" in view:
        lines.append(
            _("audit event {event}: {action} of {subject} at {at} by {actor}").format(
                event=view["audit_event"],
                action=view["action"],
                subject=view["subject"],
                at=view["decided_at"],
                actor=view["actor"],
            )
        )
    role = f" -> {view['role']}" if view["role"] else ""
    lines.append(
        _("{ruleset} (version {version}): {outcome}").format(
            ruleset=view["ruleset"], version=view["version"][:12], outcome=view["outcome"].upper()
        )
        + role
    )
    lines += [f"  - {reason['rule']}: {reason['text']}" for reason in view["reasons"]]
    lines.append(_("facts: {facts}").format(facts=", ".join(f"{k}={v}" for k, v in view["facts"].items())))
    if "as_stored" in view:
        lines.append(
            _("the same reasons as stored")
            if view["as_stored"]
            else _("NOT the reasons stored: {reasons}").format(
                reasons="; ".join(f"{r['rule']}: {r['text']}" for r in view["stored_reasons"])
            )
        )
    return "\n".join(lines)


@rules_app.command("explain")
def explain(
    ruleset: Annotated[
        str | None, typer.Argument(help="Rule set name, e.g. discount (with --decision: optional, checked).")
    ] = None,
    facts: Annotated[
        str | None,
        typer.Option("--facts", help='Facts as a JSON object (\'{"discount_pct": "14", ...}\') or @FILE.'),
    ] = None,
    decision: Annotated[
        int | None,
        typer.Option(
            "--decision",
            parser=parse_id,
            help="Instead: an audit event id; explains that stored decision with its own version.",
        ),
    ] = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Decide facts and print the outcome, who acts next, and every rule that fired with its reason; or
    re-explain a stored decision exactly as it was made (--decision; to those who may see its customer)."""

    def body() -> dict[str, Any]:
        if (facts is None) == (decision is None):
            raise InvalidInput(_("give exactly one of --facts or --decision"), field="facts")
        if decision is not None:
            return _reexplain(ruleset, decision, acting)
        if ruleset is None:
            raise InvalidInput(_("name the rule set the facts are for"), field="ruleset")
        loaded = _load(ruleset)
        try:
            typed = loaded.typed_facts(_facts_json(facts or ""))
        except ValueError as error:
            raise InvalidInput(_("facts: {error}").format(error=error), field="facts") from None
        return _decision_view(loaded, loaded.decide(typed))

    run_report(as_json, body, _explain_text)


def _reexplain(ruleset: str | None, event_id: int, acting: str | None) -> dict[str, Any]:
    from kamflow.app import reads

    if ruleset is not None:
        _path(ruleset)  # a bad name is refused before the database is opened
    return reads.of_decision(acting, event_id, lambda session: _reexplained(session, ruleset, event_id))


def _reexplained(session: Session, ruleset: str | None, event_id: int) -> dict[str, Any]:
    from kamflow.replay import reexplain

    found = reexplain(session, event_id=event_id, ruleset=ruleset)
    event = found.event
    return {
        "audit_event": event.id,
        "action": event.action,
        "subject": f"{event.subject_type} {event.subject_id}",
        "decided_at": event.at.isoformat(),
        "actor": event.actor,
        **_decision_view(found.ruleset, found.decision),
        "as_stored": found.as_stored,
        "stored_reasons": event.reasons,
    }


# --- replay ------------------------------------------------------------------------------------------------


def _replay_text(view: dict[str, Any]) -> str:
    text = (
        _(
            "{ruleset}: {decisions} stored decisions since {since} replayed with candidate version {version}: "
            "{changed} change outcome or role, {reasons_changed} only their reasons"
        )
        if view["since"]
        else _(
            "{ruleset}: {decisions} stored decisions replayed with candidate version {version}: "
            "{changed} change outcome or role, {reasons_changed} only their reasons"
        )
    )
    lines = [
        text.format(
            ruleset=view["ruleset"],
            decisions=view["decisions"],
            since=view["since"],
            version=view["candidate_version"][:12],
            changed=view["changed"],
            reasons_changed=view["reasons_changed"],
        )
    ]
    if view["transitions"]:
        lines += _table(
            [[_("old"), _("new"), _("count")]]
            + [[t["old"], t["new"], str(t["count"])] for t in view["transitions"]]
        )
    for change in view["first_changed"]:
        old, new = change["old"], change["new"]
        lines.append(
            _("audit event {event} ({subject}, {at}): {old} -> {new}").format(
                event=change["audit_event"],
                subject=change["subject"],
                at=change["at"],
                old=_outcome(old["outcome"], old["role"]),
                new=_outcome(new["outcome"], new["role"]),
            )
        )
        lines += [_("    was {rule}: {text}").format(rule=r["rule"], text=r["text"]) for r in old["reasons"]]
        lines += [_("    now {rule}: {text}").format(rule=r["rule"], text=r["text"]) for r in new["reasons"]]
    if view["not_replayed"]:
        lines.append(
            _("{count} not replayed: {why}").format(
                count=view["not_replayed"], why="; ".join(view["first_not_replayed"])
            )
        )
    if view["not_reproduced"]:
        lines.append(
            _("stored reasons not reproduced by their own version: audit events {events}").format(
                events=view["not_reproduced"]
            )
        )
    return "\n".join(lines)


@rules_app.command("replay")
def replay(
    ruleset: RulesetName,
    candidate: Annotated[Path, typer.Option("--candidate", help="The changed rule file to try.")],
    since: Annotated[
        str | None, typer.Option("--since", help="Only decisions from this date on (YYYY-MM-DD, company time).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Changed decisions to show in full.")] = 10,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Decide the stored decisions of a rule set again with a candidate file: counts by old -> new outcome
    and the first changed decisions with their old and new reasons (an admin's command)."""

    def body() -> dict[str, Any]:
        from kamflow.app.identity import REPLAY, keeper
        from kamflow.db import unit_of_work
        from kamflow.replay import replay as replay_history

        keeper(acting, doing=REPLAY)

        _path(ruleset)
        start = _since(since)
        text = read_bounded_text(
            candidate, get_settings().max_rule_file_bytes, field="candidate", what="the candidate file"
        )
        try:
            trial = load_ruleset_text(text, str(candidate))
        except RuleFileError as error:
            raise InvalidInput(str(error), field="candidate") from None
        with unit_of_work() as session:
            return replay_history(session, ruleset=ruleset, candidate=trial, since=start, limit=limit).to_json()

    run_report(as_json, body, _replay_text)


def _since(value: str | None) -> dt.datetime | None:
    """The start of a business date in the company's timezone."""
    if value is None:
        return None
    return dt.datetime.combine(parse_date(value, "since"), dt.time(), tzinfo=get_settings().tz)
