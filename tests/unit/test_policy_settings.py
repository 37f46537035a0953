"""KAMFLOW_DUNNING_POLICY, KAMFLOW_DOCUMENT_POLICY and KAMFLOW_DOCUMENT_CHAINS point kamflow at other files, as
KAMFLOW_CREDIT_POLICY does: read from the environment, used by the commands, and refused with the file named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kamflow.documents import chains
from kamflow.errors import InvalidInput
from kamflow.review import dunning
from kamflow.settings import Settings, use_settings

Kamflow = Callable[..., tuple[int, Any]]


def test_the_settings_read_the_three_files_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("DUNNING_POLICY", "DOCUMENT_POLICY", "DOCUMENT_CHAINS"):
        monkeypatch.setenv(f"KAMFLOW_{name}", str(tmp_path / f"{name.lower()}.yaml"))
    read = Settings(data_dir=tmp_path)
    assert (read.dunning_policy, read.document_policy, read.document_chains) == (
        tmp_path / "dunning_policy.yaml",
        tmp_path / "document_policy.yaml",
        tmp_path / "document_chains.yaml",
    )


def test_the_ageing_report_uses_the_dunning_policy_the_setting_names(
    kamflow: Kamflow, settings: Settings, tmp_path: Path
) -> None:
    own = tmp_path / "dunning.yaml"
    own.write_text(
        dunning.POLICY_FILE.read_text().replace(
            "ageing_bounds_days: [30, 60, 90]", "ageing_bounds_days: [15, 45, 60]"
        )
    )
    use_settings(settings.model_copy(update={"dunning_policy": own}))
    code, view = kamflow("report", "ageing", "--as-of", "2026-03-16", "--as", "credit")
    assert code == 0 and view["bucket_labels"] == ["1-15", "16-45", "46-60", "over 60"], view
    own.write_text("levels: nonsense\n")
    code, refused = kamflow("report", "ageing", "--as-of", "2026-03-16", "--as", "credit")
    assert code == 2 and "dunning.yaml" in refused["message"], refused


def test_the_document_policy_and_chains_come_from_the_files_the_settings_name(
    settings: Settings, tmp_path: Path
) -> None:
    policy = tmp_path / "document-policy.yaml"
    policy.write_text(
        chains.POLICY_FILE.read_text().replace(
            "records_delegations: [hr, director]", "records_delegations: [credit_controller]"
        )
    )
    only_acts = tmp_path / "chains.yaml"
    text = chains.CHAINS_FILE.read_text()
    only_acts.write_text(
        text[: text.index("job_description:")]
        + text[text.index("shortage_act:") : text.index("discount_agreement:")]
    )
    use_settings(settings.model_copy(update={"document_policy": policy, "document_chains": only_acts}))
    assert chains.current_policy().records_delegations == ("credit_controller",)
    assert set(chains.current().types) == {"shortage_act"}
    with pytest.raises(InvalidInput, match="unknown document type 'job_description'"):
        chains.current().get("job_description")
