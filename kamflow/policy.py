"""Policy data: the business figures a business owner reads and changes (the credit policy, the document
policy), kept as YAML beside the code that applies them and checked with pydantic when read."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from kamflow.errors import InvalidInput
from rules.spec import RuleFileError, read_yaml

Model = TypeVar("Model", bound=BaseModel)


class Strict(BaseModel):
    """The base of a policy's models: frozen, and a key it does not know is an error (a typo never passes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read(path: Path, model: type[Model]) -> Model:
    """The policy in a YAML file (numbers with a point read exactly as Decimal, never through float);
    InvalidInput naming the file and the key when it does not fit."""
    try:
        data, _lines = read_yaml(path.read_text(encoding="utf-8"), str(path))
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "policy"
        raise InvalidInput(f"{path}: {where}: {first['msg']}", field=where) from None
    except (OSError, RuleFileError) as error:
        raise InvalidInput(f"{path}: {error}", field="policy") from None
