"""Pure helpers: sections, hashes, diffs, signature names, business days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from kamflow.documents import text
from kamflow.documents.submission import DEMO_JOB_DESCRIPTION

MADRID = ZoneInfo("Europe/Madrid")
REQUIRED = ["General provisions", "Duties", "Rights", "Responsibility"]


def test_the_demo_job_description_has_every_required_section() -> None:
    assert text.missing_sections(DEMO_JOB_DESCRIPTION.read_text(encoding="utf-8"), REQUIRED) == []


def test_missing_sections_are_named_and_numbering_is_ignored() -> None:
    draft = "# Title\n\n## 1. General provisions\n\ntext\n\n## 2. Duties of the KAM\n"
    assert text.missing_sections(draft, REQUIRED) == ["Rights", "Responsibility"]
    assert text.missing_sections("Rights and duties in prose, no headings", ["Rights"]) == ["Rights"]


def test_the_first_heading_is_the_default_title_as_written() -> None:
    assert text.first_heading("intro\n\n## 1. Job description of the KAM ##  \n\n# Later\n") == (
        "1. Job description of the KAM"
    )
    assert text.first_heading("no headings here\n") is None


def test_the_hash_ignores_line_ends_and_trailing_blanks_but_not_words() -> None:
    base = text.content_hash("# A\n\nline one\n")
    assert text.content_hash("# A  \r\n\r\nline one") == base
    assert text.content_hash("# A\n\nline 1\n") != base


def test_the_diff_shows_the_changed_lines_only() -> None:
    changes = text.diff("a\nb\nc\nd\ne\n", "a\nb\nC\nd\ne\n", old_label="version 1", new_label="version 2")
    lines = changes.splitlines()
    assert {"-c", "+C", " d", "--- version 1", "+++ version 2"} <= set(lines) and " e" not in lines
    assert text.diff("same\n", "same", old_label="1", new_label="2") == ""


def test_signatures_read_surname_then_initials() -> None:
    assert text.signature_name("García López, Ana María") == "García López A.M."
    assert text.signature_name("Martínez Ruiz, Carmen") == "Martínez Ruiz C."
    assert text.signature_name("Sánchez Romero, Miguel Ángel") == "Sánchez Romero M.Á."


def test_business_days_skip_the_weekend_and_keep_the_local_time() -> None:
    friday = dt.datetime(2026, 3, 13, 9, 30, tzinfo=dt.UTC)  # 10:30 in Madrid
    monday = text.add_business_days(friday, 1, MADRID)
    assert monday == dt.datetime(2026, 3, 16, 9, 30, tzinfo=dt.UTC)
    assert text.add_business_days(friday, 5, MADRID) == dt.datetime(2026, 3, 20, 9, 30, tzinfo=dt.UTC)
    saturday = dt.datetime(2026, 3, 14, 12, 0, tzinfo=dt.UTC)
    assert text.add_business_days(saturday, 1, MADRID).date() == dt.date(2026, 3, 16)


def test_business_days_across_the_clock_change_keep_the_wall_time() -> None:
    friday = dt.datetime(2026, 3, 27, 8, 0, tzinfo=dt.UTC)  # 09:00 CET; clocks go forward on Sunday 29
    monday = text.add_business_days(friday, 1, MADRID)
    assert monday.astimezone(MADRID).hour == 9 and monday == dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)
