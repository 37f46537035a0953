"""The company's rule sets, read from the settings' rules folder (`KAMFLOW_RULES_DIR`) and hot-reloaded."""

from __future__ import annotations

from kamflow.settings import get_settings
from rules.engine import RuleSet, get_ruleset


def load(name: str) -> RuleSet:
    return get_ruleset(name, get_settings().rules_dir)
