"""Text made safe for where it is shown: a terminal, a spreadsheet cell.

People's texts are checked as they come in (kamflow.bounds), but a database filled before those checks, or by
other means, may still hold anything; what leaves for a screen or a spreadsheet is escaped here."""

from __future__ import annotations

import re

_UNSEEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _visible(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """`text` with every control character but newline and tab, ANSI escapes included, and every bidirectional
    override or isolate written as a visible escape (`\\x1b`, `\\u202e`), so that printing it cannot move the
    cursor, recolour the screen or reorder what is read."""
    return _UNSEEN.sub(lambda found: _visible(found.group()), text)


def neutralise_formula(text: str) -> str:
    """A text cell for a CSV or XLSX export that a spreadsheet will not run as a formula: a text starting with
    = + - @, a tab or a carriage return gets a leading apostrophe (`=cmd|' /C calc'!A0` becomes
    `'=cmd|' /C calc'!A0`). For text cells: write numbers as numbers."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text
