"""`kamflow mail send`: one pass over the outbox (kamflow.notify), for cron in the production shape; `kamflow
serve` makes such a pass every KAMFLOW_MAIL_SEND_SECONDS itself. kamflow.app.cli registers this."""

from __future__ import annotations

from typing import Any

import typer

from kamflow.app.cli.common import Json, run_command
from kamflow.i18n import _
from kamflow.settings import get_settings

mail_app = typer.Typer(help="Notifications by mail: send what waits in the outbox.", no_args_is_help=True)


@mail_app.command("send")
def send(as_json: Json = False) -> None:
    """Send every message that is due (SMTP at KAMFLOW_SMTP_URL, else .eml files under the data folder's mail/);
    exit 5 when some could not be sent (they are tried again at the next pass)."""

    def body() -> dict[str, Any]:
        from kamflow.errors import ServiceUnavailable
        from kamflow.notify.delivery import send_waiting

        delivered = send_waiting(get_settings())
        if delivered.failed:
            raise ServiceUnavailable(
                _(
                    "mail: {sent} sent, {failed} not sent (tried again at the next pass; the reason is in the log "
                    "and the outbox)"
                ).format(sent=delivered.sent, failed=delivered.failed),
                field="smtp_url",
            )
        return {"sent": delivered.sent, "failed": delivered.failed}

    run_command(as_json, body, lambda result: _("mail: {sent} sent").format(sent=result["sent"]))
