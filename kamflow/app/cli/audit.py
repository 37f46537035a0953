"""`kamflow audit verify`: walk the audit chain and compare the business rows with their audited decisions
(kamflow.verify). Reads only; exit 0 when all is intact, 2 naming the first event changed, removed or reordered
and the rows that disagree. kamflow.app.cli registers this."""

from __future__ import annotations

import dataclasses
from typing import Any

import typer

from kamflow.app.cli.common import Json, run_report
from kamflow.i18n import _

audit_app = typer.Typer(
    help="The audit trail: verify its hash chain and the rows it audits.", no_args_is_help=True
)


def _verify_text(report: dict[str, Any]) -> str:
    chain = report["chain"]
    lines = [
        _("audit chain: {events} events intact, head seq {seq} hash {hash}").format(
            events=chain["events"], seq=chain["head_seq"], hash=chain["head_hash"]
        ),
        _("BROKEN: {problem}").format(problem=chain["problem"]) if chain["problem"] else _("chain intact"),
    ]
    lines += [_("DISAGREES: {text}").format(text=text) for text in report["texts"]]
    if report["disagreeing"] > len(report["texts"]):
        lines.append(_("… {count} more rows disagree").format(count=report["disagreeing"] - len(report["texts"])))
    if not report["disagreeing"]:
        lines.append(_("every audited row agrees with its last decision"))
    return "\n".join(lines)


@audit_app.command("verify")
def verify(as_json: Json = False) -> None:
    """Check every event's hash in chain order and the business rows against their audited decisions."""

    def body() -> dict[str, Any]:
        from kamflow.db import get_engine
        from kamflow.verify import verify

        with get_engine().connect() as connection:
            found = verify(connection)
        return {
            "ok": found.ok,
            "chain": dataclasses.asdict(found.chain),
            "disagreeing": found.disagreeing,
            "disagreements": [dataclasses.asdict(d) for d in found.disagreements],
            "texts": [d.text() for d in found.disagreements],
        }

    run_report(as_json, body, _verify_text)
