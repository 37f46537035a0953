"""The last good rules in every process: a rule file that does not load is refused with its location and the latest
version stored in `rule_set_versions` keeps deciding — in a process that never loaded the file too — with a warning
and one audit event per refused content; the fixed file decides at the next decision."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from kamflow import audit, clock, rulesets
from kamflow.db import unit_of_work
from kamflow.discounts import service as discounts
from kamflow.models import AuditEvent, RuleSetVersion
from kamflow.settings import Settings, use_settings
from rules import engine
from rules.engine import RULES_DIR, RuleFileError
from tests.support import kam_and_norm


@pytest.fixture
def rules_dir(settings: Settings, tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(RULES_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    use_settings(settings.model_copy(update={"rules_dir": folder}))
    return folder


def fresh_process() -> None:
    """What a new process under `kamflow serve` starts with: nothing loaded."""
    engine._cache.clear()
    rulesets._last_good.clear()


def refusals() -> list[AuditEvent]:
    with unit_of_work() as session:
        found = session.scalars(select(AuditEvent).where(AuditEvent.action == rulesets.REFUSED)).all()
        session.expunge_all()
    return list(found)


def decide_a_discount() -> str:
    """A discount request decided as `kamflow discount request` has it decided: the version it used."""
    kam, norm = kam_and_norm()
    ask = discounts.DiscountRequestIn(
        customer="C0001", price_column=3, discount_pct=norm, order_total=Decimal(1000), requester=kam
    )
    with unit_of_work() as session:
        return discounts.submit(session, request=ask, flow_run_id=None, now=clock.now()).rules_version


@pytest.mark.parametrize(
    ("broken", "where"),
    [("rules: [ broken\n", "not valid YAML"), ("# a bell \x07 in a comment\n", "U+0007 is not allowed")],
    ids=["syntax", "control-character"],
)
def test_a_broken_rule_file_is_refused_and_the_stored_version_keeps_deciding_in_every_process(
    rules_dir: Path, caplog: pytest.LogCaptureFixture, broken: str, where: str
) -> None:
    good = rulesets.load("discount")
    with unit_of_work() as session:
        audit.remember_ruleset(session, good, at=clock.now())
    path = rules_dir / "discount.yaml"
    path.write_text(path.read_text() + broken)
    refused_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    with caplog.at_level(logging.WARNING, logger="kamflow.rulesets"):
        for _ in range(2):
            fresh_process()
            assert rulesets.load("discount").version == good.version
            assert decide_a_discount() == good.version
    [event] = refusals()  # once per content, whatever the processes and decisions
    assert event.detail["refused_sha256"] == refused_hash and event.detail["deciding_version"] == good.version
    assert re.search(r"discount\.yaml:\d+: ", event.detail["error"])  # where it is wrong
    assert where in event.detail["error"]
    assert where in caplog.text and good.version[:12] in caplog.text

    path.write_text(path.read_text().replace(broken, "# fixed\n"))
    assert decide_a_discount() == hashlib.sha256(path.read_bytes()).hexdigest() != good.version


def test_a_broken_rule_file_with_no_stored_version_is_refused(rules_dir: Path) -> None:
    with unit_of_work() as session:
        session.execute(delete(RuleSetVersion))
    path = rules_dir / "discount.yaml"
    path.write_text(path.read_text() + "rules: [ broken\n")
    fresh_process()
    with pytest.raises(RuleFileError, match=r"discount\.yaml:\d+: not valid YAML"):
        rulesets.load("discount")
    assert refusals() == []
