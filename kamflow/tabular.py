"""Views that are tables: a statement of account, the ageing of receivables, the decision register. Each says what
it is of (a title and a few lines), its columns with their kind and its rows with typed cells (Decimal money,
dates, counts, text), so the terminal, the exports (`kamflow.export`: CSV, XLSX, PDF) and the Prefect UI's table
artifacts all draw the one table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from kamflow import i18n
from kamflow.i18n import _
from kamflow.reports import amount
from kamflow.views import View

Kind = Literal["text", "money", "date", "count"]
Cell = str | int | Decimal | dt.date | None
WIDEST_TEXT = 60
"""A text cell wider than this is cut short in the terminal (the JSON and the exports keep it whole)."""


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = "text"

    @property
    def right(self) -> bool:
        """Numbers line up on the right."""
        return self.kind in ("money", "count")


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    total: bool = False
    """An opening, closing, subtotal or total line: set apart (bold) where the format can."""


def cell_text(value: Cell) -> str:
    """A cell as the reader reads it: money 1,234.50 / 1.234,50, a date 2026-03-16 / 16/03/2026, nothing for
    None."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return amount(value)
    if isinstance(value, dt.date):
        return i18n.day(value)
    return str(value)


@dataclass(frozen=True)
class Table:
    title: str
    lines: tuple[str, ...]
    """What the table is of: the customer, the period, the filters."""
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    """Said under the table."""

    def text(self) -> str:
        """The table for a terminal: a header, a rule, the rows (numbers on the right), the notes."""
        cells = [[cell_text(value) for value in row.cells] for row in self.rows]
        cells = [[_cut(text) for text in row] for row in cells]
        widths = [
            max([len(column.title), *(len(row[i]) for row in cells)]) for i, column in enumerate(self.columns)
        ]

        def line(texts: list[str]) -> str:
            placed = (
                text.rjust(width) if column.right else text.ljust(width)
                for text, width, column in zip(texts, widths, self.columns, strict=True)
            )
            return "  ".join(placed).rstrip()

        header = line([column.title for column in self.columns])
        rule = "  ".join("-" * width for width in widths)
        body = [line(row) for row in cells] or [_("(nothing)")]
        return "\n".join(
            [self.title, *self.lines, "", header, rule, *body, *(["", *self.notes] if self.notes else [])]
        )

    def records(self) -> list[dict[str, str]]:
        """The rows as people read them, keyed by column title (a Prefect table artifact)."""
        titles = [column.title for column in self.columns]
        return [dict(zip(titles, map(cell_text, row.cells), strict=True)) for row in self.rows]


def _cut(text: str) -> str:
    return text if len(text) <= WIDEST_TEXT else text[: WIDEST_TEXT - 1] + "…"


class Tabular(View):
    """A view that reads as a table: `text()` draws it for the terminal, `kamflow.export` writes it to a file."""

    def table(self) -> Table:
        raise NotImplementedError(f"{type(self).__name__} does not say what its table is")

    def text(self) -> str:
        return self.table().text()
