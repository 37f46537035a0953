"""rules.reasons: every fact type printed in reasons."""

from __future__ import annotations

from typing import get_args

from rules import reasons
from rules.spec import PYTHON_TYPES, FactType


def test_every_fact_type_has_its_python_types_and_its_printing() -> None:
    assert set(get_args(FactType)) == set(PYTHON_TYPES) == set(reasons.SHOW)
