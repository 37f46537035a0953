"""Every message kamflow writes is in every language's catalog: extracted from the code and the templates as
`./dev i18n` does (kamflow/locale/babel.cfg), each must have a translation that is not fuzzy and names the same
placeholders — a message missing from a catalog fails here."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from kamflow import i18n

ROOT = Path(i18n.__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_0-9]*)[^{}]*\}")
_parse_mapping_cfg: Callable[[IO[str]], tuple[list[tuple[str, str]], dict[str, dict[str, Any]]]] = (
    parse_mapping_cfg
)
"""Babel's reader of babel.cfg, which Babel leaves unannotated: its (pattern, method) pairs and each pattern's
options."""


def _messages() -> dict[str, tuple[str, ...]]:
    """Each message in the code: its msgid (the singular) and its forms."""
    with (i18n.CATALOGS / "babel.cfg").open() as config:
        method_map, options_map = _parse_mapping_cfg(config)
    found: dict[str, tuple[str, ...]] = {}
    for _path, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map):
        forms = (message,) if isinstance(message, str) else tuple(message)
        found[forms[0]] = forms
    return found


MESSAGES = _messages()


def test_the_code_has_messages_to_translate() -> None:
    assert len(MESSAGES) >= 2 and all(forms[0] for forms in MESSAGES.values())


@pytest.mark.parametrize("language", [language for language in i18n.LANGUAGES if language != i18n.SOURCE])
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    with (i18n.CATALOGS / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as po:
        catalog = read_po(po)
    missing, fuzzy, unlike = [], [], []
    for msgid, forms in MESSAGES.items():
        entry = catalog.get(forms if len(forms) > 1 else msgid)
        translated = () if entry is None else (entry.string,) if isinstance(entry.string, str) else entry.string
        if not translated or not all(translated):
            missing.append(msgid)
        elif entry is not None and entry.fuzzy:
            fuzzy.append(msgid)
        elif any(set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(forms[-1])) for text in translated):
            unlike.append(msgid)
    assert not missing, f"{len(missing)} messages lack a {language} translation (./dev i18n): {missing[:10]}"
    assert not fuzzy, f"fuzzy {language} translations: {fuzzy[:10]}"
    assert not unlike, f"{language} translations whose placeholders differ: {unlike[:10]}"
