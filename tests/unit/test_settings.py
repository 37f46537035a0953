"""Settings: the approvers' secret key file is made whole or not at all."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from kamflow.settings import Settings


def test_a_secret_key_that_cannot_be_linked_into_place_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filesystem without hard links (some network and FAT mounts) refuses os.link with EPERM: the error
    reaches the caller, and neither the key nor its temporary file is left in data_dir."""

    def no_hard_links(source: str, target: Path) -> None:
        assert Path(source).is_file()  # the key was written before the link was tried
        raise PermissionError(errno.EPERM, "hard links not supported", str(target))

    monkeypatch.setattr(os, "link", no_hard_links)
    with pytest.raises(PermissionError, match="hard links not supported"):
        _ = Settings(data_dir=tmp_path).approval_secret
    assert list(tmp_path.iterdir()) == []

    monkeypatch.undo()
    assert len(Settings(data_dir=tmp_path).approval_secret) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]
