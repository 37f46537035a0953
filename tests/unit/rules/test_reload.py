"""get_ruleset picks up a changed rule file at its next call; a broken change keeps the last good one."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rules.engine import RuleFileError, get_ruleset

LIMIT = """\
ruleset: limit
facts: {amount: decimal}
outcomes: [reject, approve]
default: {outcome: approve, reason: "Within {limit}"}
rules:
  - {id: above, when: {fact: amount, op: gt, value: LIMIT}, outcome: reject, reason: "{amount} > LIMIT"}
"""


def write(path: Path, text: str, stamp: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(stamp, stamp))  # a distinct mtime even where the clock is coarse


def test_a_changed_file_is_picked_up_and_a_broken_change_keeps_the_last_good_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "limit.yaml"
    write(path, LIMIT.replace("LIMIT", "100").replace("{limit}", "100"), 1_000_000_000)
    first = get_ruleset("limit", tmp_path)
    assert get_ruleset("limit", tmp_path) is first
    assert first.decide({"amount": 150}).outcome == "reject"

    write(path, LIMIT.replace("LIMIT", "200").replace("{limit}", "200"), 2_000_000_000)
    second = get_ruleset("limit", tmp_path)
    assert second.version != first.version
    assert second.decide({"amount": 150}).outcome == "approve"
    assert first.decide({"amount": 150}).outcome == "reject"  # whoever still holds the old one can finish

    write(path, LIMIT.replace("LIMIT", "200"), 3_000_000_000)  # {limit} is no fact: broken
    with caplog.at_level(logging.ERROR, logger="rules.engine"):
        assert get_ruleset("limit", tmp_path) is second
        assert get_ruleset("limit", tmp_path) is second
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}:4: reason template names unknown fact {{limit}} -- rule set 'limit' keeps serving version "
        f"{second.version[:12]}"
    ]
    assert second.decide({"amount": 250}).outcome == "reject"

    path.unlink()
    assert get_ruleset("limit", tmp_path) is second

    write(path, LIMIT.replace("LIMIT", "300").replace("{limit}", "300"), 4_000_000_000)
    assert get_ruleset("limit", tmp_path).decide({"amount": 250}).outcome == "approve"


def test_a_rule_set_that_never_loaded_raises(tmp_path: Path) -> None:
    write(tmp_path / "limit.yaml", LIMIT.replace("LIMIT", "100"), 1_000_000_000)
    for _ in range(2):
        with pytest.raises(RuleFileError, match=r"unknown fact \{limit\}"):
            get_ruleset("limit", tmp_path)
    with pytest.raises(RuleFileError, match="cannot read"):
        get_ruleset("absent", tmp_path)
    with pytest.raises(ValueError, match="not a rule set name"):
        get_ruleset("../limit", tmp_path)


WORKER = """\
import json, logging, sys
from pathlib import Path
from rules.engine import get_ruleset

logging.basicConfig(level=logging.ERROR, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
for line in sys.stdin:  # one fact set per line, one decision per line back: a long-running worker
    ruleset = get_ruleset("limit", Path(sys.argv[1]))
    decision = ruleset.decide(ruleset.typed_facts(json.loads(line)))
    print(json.dumps({"outcome": decision.outcome, "version": decision.version}), flush=True)
"""


def test_a_running_process_decides_with_a_changed_file_and_keeps_deciding_when_the_change_is_broken(
    tmp_path: Path,
) -> None:
    path = tmp_path / "limit.yaml"
    write(path, LIMIT.replace("LIMIT", "100").replace("{limit}", "100"), 1_000_000_000)
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[3],
    )
    assert worker.stdin and worker.stdout

    def decide(amount: str) -> tuple[str, str]:
        assert worker.stdin and worker.stdout
        worker.stdin.write(json.dumps({"amount": amount}) + "\n")
        worker.stdin.flush()
        answer = json.loads(worker.stdout.readline())
        return answer["outcome"], answer["version"]

    try:
        outcome, first = decide("150")
        assert outcome == "reject"
        write(path, LIMIT.replace("LIMIT", "200").replace("{limit}", "200"), 2_000_000_000)
        outcome, second = decide("150")
        assert outcome == "approve" and second != first
        write(path, LIMIT.replace("LIMIT", "300"), 3_000_000_000)  # broken: {limit} is no fact
        assert decide("250") == ("reject", second)
        assert decide("150") == ("approve", second)
        write(path, LIMIT.replace("LIMIT", "300").replace("{limit}", "300"), 4_000_000_000)
        outcome, third = decide("250")
        assert outcome == "approve" and third not in (first, second)
    finally:
        _, errors = worker.communicate(timeout=60)
    assert worker.returncode == 0
    assert errors.splitlines() == [
        f"ERROR rules.engine: {path}:4: reason template names unknown fact {{limit}} -- rule set 'limit' keeps "
        f"serving version {second[:12]}"
    ]
