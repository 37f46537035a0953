"""Errors users see. Each carries the CLI exit code it maps to and, where it has one, the field at fault."""

from __future__ import annotations


class KamflowError(Exception):
    exit_code = 1
    kind = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"error": self.kind, "field": self.field, "message": self.message}


class InvalidInput(KamflowError):
    """Input breaks a rule: exit 2."""

    exit_code = 2
    kind = "invalid_input"


class ServerOnly(InvalidInput):
    """A command that needs the database run on a client machine: exit 2."""

    kind = "server_only"


class NotPermitted(KamflowError):
    """The acting user may not do this: exit 3. `actor` names who was refused, for the audit trail."""

    exit_code = 3
    kind = "not_permitted"

    def __init__(self, message: str, *, field: str | None = None, actor: str | None = None) -> None:
        super().__init__(message, field=field)
        self.actor = actor


class NotFound(KamflowError):
    """A named thing does not exist: exit 4."""

    exit_code = 4
    kind = "not_found"


class ServiceUnavailable(KamflowError):
    """The service a command needs is not there (Prefect, `kamflow serve`): exit 5."""

    exit_code = 5
    kind = "unavailable"
