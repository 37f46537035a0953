"""The layers are contracts import-linter checks (pyproject.toml, [tool.importlinter]):
App → Flows → Domain → Rules, with no cycle among the project's modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def test_every_layer_contract_is_kept() -> None:
    checked = subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert "5 kept, 0 broken" in checked.stdout


def test_a_domain_module_that_imports_a_flow_breaks_a_contract(tmp_path: Path) -> None:
    """The contracts can fail: a copy of the tree whose ledger imports the flows' run control is refused."""
    for part in ("kamflow", "flows", "rules", "pyproject.toml"):
        source = ROOT / part
        if source.is_dir():
            subprocess.run(["cp", "-r", str(source), str(tmp_path / part)], check=True)
        else:
            (tmp_path / part).write_text(source.read_text())
    ledger = tmp_path / "kamflow" / "ledger.py"
    ledger.write_text(ledger.read_text() + "\nimport flows.runs  # noqa\n")
    checked = subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert checked.returncode != 0
    assert "The domain imports nothing of the flows (only the App does) BROKEN" in checked.stdout
