"""A statement of account exported in the reader's language: its headings, title and notes in Spanish or English,
and its numbers and dates as that reader writes them — a Spanish CSV separates fields with ";" and writes 1234,50
and 16/03/2026, an English one "," 1234.50 and 2026-03-16; the XLSX keeps real numbers with a number format; the
PDF prints 1.234,50 and "página 1 de 1"."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.orm import Session

from kamflow import export, i18n
from kamflow.statements import StatementView, statement
from tests.conftest import TODAY, customer

HEADINGS = {
    "en": ["date", "document", "description", "due", "debit", "credit", "balance", "interest and fees"],
    "es": ["fecha", "documento", "descripción", "vencimiento", "debe", "haber", "saldo", "intereses y comisiones"],
}
CLOSING = {"en": "closing balance", "es": "saldo final"}


@pytest.fixture
def view(session: Session) -> StatementView:
    return statement(session, customer(session, "C0002"), start=None, end=TODAY)


@pytest.mark.parametrize(
    ("language", "delimiter", "mark", "today"),
    [("en", ",", ".", TODAY.isoformat()), ("es", ";", ",", TODAY.strftime("%d/%m/%Y"))],
)
def test_the_csv_export_is_in_the_reader_s_words_and_numbers(
    view: StatementView, tmp_path: Path, language: i18n.Language, delimiter: str, mark: str, today: str
) -> None:
    with i18n.reading(language):
        table = view.table()
        export.write(table, "csv", tmp_path / "s.csv")
    with (tmp_path / "s.csv").open(encoding="utf-8", newline="") as stream:
        header, *rows = list(csv.reader(stream, delimiter=delimiter))
    assert header == HEADINGS[language]
    closing = rows[-1]
    assert closing[0] == today and closing[2] == CLOSING[language]
    assert closing[6] == f"{view.closing_balance:f}".replace(".", mark)
    assert not any("{" in text for text in (table.title, *table.lines, *table.notes))


def test_the_xlsx_and_pdf_exports_in_spanish(view: StatementView, tmp_path: Path) -> None:
    with i18n.reading("es"):
        table = view.table()
        export.write(table, "xlsx", tmp_path / "s.xlsx")
        export.write(table, "pdf", tmp_path / "s.pdf")
        closing = i18n.number(view.closing_balance, 2)
    assert closing.replace(".", "").replace(",", ".") == f"{view.closing_balance:f}" and "," in closing

    sheet = load_workbook(tmp_path / "s.xlsx").active
    assert sheet is not None
    assert [cell.value for cell in sheet[1]] == HEADINGS["es"]
    last = list(sheet.iter_rows(min_row=2, max_row=len(table.rows) + 1))[-1]
    assert last[2].value == "saldo final" and Decimal(str(last[6].value)) == view.closing_balance
    assert last[6].number_format == export.MONEY_FORMAT and last[0].number_format == "dd/mm/yyyy"
    assert sheet.title.startswith("Extracto de cuenta")

    text = "\n".join(page.extract_text() for page in PdfReader(tmp_path / "s.pdf").pages)
    assert "Extracto de cuenta: C0002" in text and "importes en EUR" in text and "saldo final" in text
    assert closing in text and "página 1 de" in text
    assert "{" not in text and "closing balance" not in text
