"""The document approval chain end to end: the real CLI, a real runner process, a real Prefect API. The chain's
logic (the parallel wait, return, revision, signature, acknowledgment, refusals) is tested in process in
tests/flows/test_documents.py; here a chain goes on after a kill -9 of every process mid-way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kamflow.db import unit_of_work
from kamflow.documents import service
from tests.integration.conftest import Stack, logs

pytestmark = pytest.mark.integration


def ok(stack: Stack, *args: str) -> dict[str, Any]:
    done = stack.kamflow(*args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr + logs(stack.settings.data_dir / "runner.log")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def task_of(view: dict[str, Any], login: str) -> str:
    [task] = [str(w["task_id"]) for w in view["waiting_for"] if w["assignee"] == login]
    return task


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_chain_survives_a_restart_of_every_process_mid_way(live: Stack) -> None:
    view = ok(
        live, "doc", "submit", write_agreement(live), "--type", "discount_agreement", "--field", "customer=C0001",
        "--as", "kam.north1",
    )  # fmt: skip
    ok(live, "decide", task_of(view, "head.north"), "approve", "--as", "head.north")
    live.kill_runner()
    live.start_runner()
    view = ok(live, "decide", task_of(view, "credit"), "approve", "--as", "credit")
    assert [w["assignee"] for w in view["waiting_for"]] == ["commercial"]
    done = ok(live, "decide", task_of(view, "commercial"), "approve", "--as", "commercial")
    assert done["status"] == "approved" and done["waiting_for"] == []
    with unit_of_work() as session:
        assert service.finished(session, done["document_id"])
        sheet = ok(live, "doc", "sheet", str(done["document_id"]), "--as", "director")["markdown"]
        assert sheet.count("| Credit Controller |") == 1


def write_agreement(stack: Stack) -> str:
    return write(
        stack.settings.data_dir,
        "agreement.md",
        "# Discount agreement with C0001\n\n## Parties\n\nThe company and C0001.\n\n"
        "## Discount\n\nColumn 4, 12 %.\n\n## Term\n\nUntil 31 December.\n",
    )
