"""Pure helpers on document text and people's names: sections, content hash, diff, signatures, business days.

No database and no Prefect here: plain values in, plain values out."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from zoneinfo import ZoneInfo

_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_NUMBERING = re.compile(r"^[\d.\s]+")


def normalise(content: str) -> str:
    """The canonical form of a text: Unix line ends, no trailing blanks, one final newline."""
    lines = [line.rstrip() for line in content.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def content_hash(content: str) -> str:
    """SHA-256 of the canonical text: the version's identity on every signature."""
    return hashlib.sha256(normalise(content).encode("utf-8")).hexdigest()


def _plain_heading(text: str) -> str:
    return _NUMBERING.sub("", text).strip().rstrip(".:").casefold()


def _heading_texts(content: str) -> list[str]:
    """The text of every Markdown heading, in order."""
    found = (_HEADING.match(line) for line in normalise(content).split("\n"))
    return [match.group(1).strip() for match in found if match]


def headings(content: str) -> list[str]:
    """Markdown headings, without their numbering, lower-cased."""
    return [_plain_heading(heading) for heading in _heading_texts(content)]


def missing_sections(content: str, required: list[str]) -> list[str]:
    """The required sections no heading starts with ("2. Duties of the KAM" counts as "Duties")."""
    present = headings(content)
    return [name for name in required if not any(h.startswith(_plain_heading(name)) for h in present)]


def first_heading(content: str) -> str | None:
    return next(iter(_heading_texts(content)), None)


def diff(old: str, new: str, *, old_label: str, new_label: str) -> str:
    """A unified diff between two versions; empty when they are the same."""
    lines = difflib.unified_diff(
        normalise(old).splitlines(), normalise(new).splitlines(), old_label, new_label, lineterm="", n=1
    )
    return "\n".join(lines)


def signature_name(full_name: str) -> str:
    """ "García López, Ana María" -> "García López A.M." (surname, then the initials of the given names)."""
    surname, _, given = full_name.partition(",")
    initials = "".join(f"{part[0]}." for part in given.split() if part)
    return f"{surname.strip()} {initials}".strip()


def add_business_days(start: dt.datetime, days: int, tz: ZoneInfo) -> dt.datetime:
    """`days` working days (Monday to Friday, in the company's timezone) after `start`, same time of day."""
    local = start.astimezone(tz)
    counted = 0
    while counted < days:
        local = local + dt.timedelta(days=1)
        if local.weekday() < 5:
            counted += 1
    return local.astimezone(dt.UTC)
