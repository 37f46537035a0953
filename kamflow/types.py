"""Field types the requests of every process share."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

Login = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
CustomerCode = Annotated[str, StringConstraints(pattern=r"^C\d{4,}$", strip_whitespace=True)]
