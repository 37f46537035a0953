"""Any table view (`kamflow.tabular.Table`) written as a file people take away: CSV (the csv module; text cells
that a spreadsheet would run as a formula are neutralised), XLSX (openpyxl: a header row, money as numbers with a
number format, dates as dates) or PDF (WeasyPrint, from the Jinja2 template `templates/table.html`), each in the
words and the number and date writing of the reader the table was built for (`kamflow.i18n`): a Spanish CSV
writes 1234,50 and 16/03/2026 and separates its fields with ";", as a spreadsheet in Spanish reads it.

A file is written beside its destination and moved into place once whole, so a failed export leaves no file."""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args

from kamflow import i18n
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.tabular import Cell, Column, Table, cell_text

Format = Literal["csv", "xlsx", "pdf"]
FORMATS: tuple[str, ...] = get_args(Format)
TEMPLATES = Path(__file__).with_name("templates")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "#,##0.00"
"""A spreadsheet shows it with its reader's marks: 1,234.50 / 1.234,50."""
DATE_FORMATS: dict[i18n.Language, str] = {"en": "yyyy-mm-dd", "es": "dd/mm/yyyy"}


def neutralise_formula(text: str) -> str:
    """Text a spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage return), quoted so it
    reads as text. A stand-in until the input-bounds work brings the project's own helper."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def format_of(name: str) -> Format:
    """The export format named; InvalidInput on `format` otherwise."""
    if name not in FORMATS:
        raise InvalidInput(f"format: {name!r} is not one of {', '.join(FORMATS)}", field="format")
    return name  # type: ignore[return-value]


def check_output(path: Path) -> None:
    """An export can be written there: a file name in a folder that exists; InvalidInput on `output` otherwise."""
    if path.is_dir() or not path.parent.is_dir():
        raise InvalidInput(f"output: {str(path)!r} is not a file in an existing folder", field="output")


def write(table: Table, fmt: Format, path: Path) -> None:
    """Write the table as `fmt` to `path` (replacing it), whole or not at all."""
    check_output(path)
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        WRITERS[fmt](table, Path(partial))
        os.replace(partial, path)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(partial)


def _csv_cell(value: Cell) -> str:
    """Numbers plainly with the reader's decimal mark (1234.50 / 1234,50: no thousands separator), dates as the
    reader writes them, text neutralised."""
    if isinstance(value, str):
        return neutralise_formula(value)
    if isinstance(value, dt.date):
        return i18n.day(value)
    if isinstance(value, Decimal):
        return str(value).replace(".", i18n.marks()[0])
    return "" if value is None else str(value)


def csv_delimiter() -> str:
    """The field separator a spreadsheet in the reader's language expects: "," beside a decimal dot, ";" beside a
    decimal comma."""
    return ";" if i18n.marks()[0] == "," else ","


def to_csv(table: Table, path: Path) -> None:
    """A header row of the column titles, then the rows (totals too)."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        out = csv.writer(stream, delimiter=csv_delimiter())
        out.writerow([neutralise_formula(column.title) for column in table.columns])
        out.writerows([_csv_cell(value) for value in row.cells] for row in table.rows)


def to_xlsx(table: Table, path: Path) -> None:
    """One sheet: the header row (bold, frozen, filterable), the rows (totals bold), then what the table is of and
    its notes below it. Text is always stored as text, never as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "".join(c for c in table.title if c not in "[]:*?/\\")[:31]
    book.properties.title = table.title
    bold = Font(bold=True)
    sheet.append([column.title for column in table.columns])
    for cell in sheet[1]:
        cell.font = bold
    for row in table.rows:
        sheet.append(list(row.cells))
        for cell, column in zip(sheet[sheet.max_row], table.columns, strict=True):
            _style(cell, column)
            if row.total:
                cell.font = bold
    last = get_column_letter(len(table.columns))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{last}{sheet.max_row}"
    sheet.append([])
    for line in (table.title, *table.lines, *table.notes):
        sheet.append([line])
        sheet.cell(sheet.max_row, 1).data_type = "s"
    for index, column in enumerate(table.columns, start=1):
        widest = max([len(column.title), *(len(cell_text(row.cells[index - 1])) for row in table.rows)])
        sheet.column_dimensions[get_column_letter(index)].width = min(widest + 2, 60)
    book.save(path)


def _style(cell: Any, column: Column) -> None:
    if column.kind == "money":
        cell.number_format = MONEY_FORMAT
    elif column.kind == "date":
        cell.number_format = DATE_FORMATS[i18n.current()]
    elif isinstance(cell.value, str):
        cell.data_type = "s"  # openpyxl takes a string starting with = for a formula


def to_pdf(table: Table, path: Path) -> None:
    """The table as a printed page: A4 landscape, its title, what it is of, the table (amounts aligned on the
    right, the header repeated on every page) and its notes; page numbers at the foot."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from markupsafe import Markup
    from weasyprint import HTML

    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    i18n.install(environment)
    counters = {"page": '" counter(page) "', "pages": '" counter(pages) "'}
    footer = Markup('"{}"').format(Markup(_("page {page} of {pages}").format(**counters)))
    html = environment.get_template("table.html").render(table=table, text=cell_text, footer=footer)
    HTML(string=html, base_url=str(TEMPLATES)).write_pdf(path)


WRITERS: dict[str, Callable[[Table, Path], None]] = {"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}
