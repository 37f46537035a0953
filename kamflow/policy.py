"""Policy data: the business figures a business owner reads and changes (the credit policy, the dunning policy,
the document policy and chains), kept as YAML beside the code that applies them and checked with pydantic when
read. A policy read from a file knows its version, the sha256 of the file's bytes, as a rule set does; the
audit events of the decisions that used it carry it (`versions`)."""

from __future__ import annotations

from hashlib import sha256
from pathlib import Path
from typing import ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from kamflow.errors import InvalidInput
from rules.spec import RuleFileError, read_yaml

Model = TypeVar("Model", bound="Versioned")


class Strict(BaseModel):
    """The base of a policy's models: frozen, and a key it does not know is an error (a typo never passes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Versioned(Strict):
    """A whole policy file's model: its `name` in the audit trail and, once read, its `version`."""

    audit_name: ClassVar[str]  # its key in an audit event's "policies"
    _version: str = PrivateAttr(default="")

    @property
    def version(self) -> str:
        """The sha256 of the text it was read from ("" if it was not read from a file)."""
        return self._version

    def read_from(self, text: str) -> Self:
        """Itself, stamped with the version of `text`, the file's text it was read from."""
        self._version = sha256(text.encode("utf-8")).hexdigest()
        return self


def versions(*used: Versioned) -> dict[str, str]:
    """What a decision's audit event keeps of the policies it used: {"credit": "<sha256>", …}."""
    return {policy.audit_name: policy.version for policy in used}


def read_text(path: Path) -> str:
    """A policy file's text, its bytes exactly (no newline translation), so its version is the file's sha256."""
    return path.read_bytes().decode("utf-8")


def read(path: Path, model: type[Model]) -> Model:
    """The policy in a YAML file (numbers with a point read exactly as Decimal, never through float), with its
    version; InvalidInput naming the file and the key when it does not fit."""
    try:
        text = read_text(path)
        data, _lines = read_yaml(text, str(path))
        return model.model_validate(data).read_from(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "policy"
        raise InvalidInput(f"{path}: {where}: {first['msg']}", field=where) from None
    except (OSError, RuleFileError) as error:
        raise InvalidInput(f"{path}: {error}", field="policy") from None
