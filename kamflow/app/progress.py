"""Long work shows itself while it runs, on stderr (stdout keeps the command's answer, `--json` included).

On a terminal a rich progress line (what, bar or spinner, how far, time elapsed) redraws itself; otherwise a plain
line when the work starts, one when it moves on or is quiet `PLAIN_EVERY` seconds after the last (never more
often), and one when it ends — so a log or a pipe is never silent for long either."""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from kamflow import i18n, reports
from kamflow.i18n import _

if TYPE_CHECKING:
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

PLAIN_EVERY = 4.0


def say(text: str) -> None:
    """A line about what has just happened, on stderr."""
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()


class Progress:
    """`with Progress("importing invoices", unit="rows") as shown: shown.update(done, total)`; `total` may stay
    unknown. Without `unit`, `done` of `total` reads as a percentage."""

    def __init__(
        self, what: str, *, unit: str = "", total: float | None = None, stream: TextIO | None = None
    ) -> None:
        self.what, self.unit = what, unit
        self.done: float = 0
        self.total = total
        self.stream = stream or sys.stderr
        self._started = self._last = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._bar: Bar | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Progress:
        if self.stream.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                SpinnerColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as Bar

            count = f"{{task.completed:,.0f}} {self.unit}" if self.unit else ""
            self._bar = Bar(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn() if not self.unit else TextColumn(count),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
            )
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total)
        else:
            print(f"{self.what} …", file=self.stream, flush=True)
            # the ticker writes in the reader's language too: it runs in a copy of this context
            self._ticker = threading.Thread(target=contextvars.copy_context().run, args=(self._tick,), daemon=True)
            self._ticker.start()
        return self

    def update(self, done: float, total: float | None = None) -> None:
        with self._lock:
            self.done = done
            self.total = self.total if total is None else total
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, total=self.total)
        elif time.monotonic() - self._last >= PLAIN_EVERY:
            self._line(self._seconds())

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            return
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        ended = _("failed in {seconds} s") if error is not None else _("done in {seconds} s")
        self._line(ended.format(seconds=i18n.number(Decimal(time.monotonic() - self._started), 1)))

    def _seconds(self) -> str:
        return _("{seconds} s").format(seconds=i18n.number(Decimal(time.monotonic() - self._started), 0))

    def _tick(self) -> None:
        while not self._stop.wait(max(PLAIN_EVERY, 0.1)):
            if time.monotonic() - self._last >= PLAIN_EVERY:
                self._line(self._seconds())

    def _line(self, when: str) -> None:
        with self._lock:
            done, total = self.done, self.total
            self._last = time.monotonic()
        if self.unit:
            count = i18n.number(round(done))
            if total is not None:
                count = _("{done} of {total}").format(done=count, total=i18n.number(round(total)))
            how_far = f"{count} {self.unit}, "
        else:
            how_far = f"{reports.pct(Decimal(round(100 * done / total)))}, " if total else ""
        print(f"{self.what}: {how_far}{when}", file=self.stream, flush=True)
