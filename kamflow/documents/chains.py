"""Approval chains as data: per document type, ordered stages of parallel steps (`chains.yaml`).

A stage's steps run in parallel and the stage is done when every step has its quorum; the next stage opens
then. A step names who acts, how many of them must agree, its deadline in business days, how often to
remind, and whom to escalate to when the deadline passes. The document policy (`policy.yaml`) gives the
timing a step leaves out, the author's revision turn, and who may record a delegation.

A chain speaks its reader's language through its `labels`: per language, the title, the required sections as a
text in that language names them, and the names shown for the ids of its stages and steps (the ids stay)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, PositiveInt, ValidationError, ValidationInfo, model_validator

from kamflow import i18n, policy
from kamflow.documents import text
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.policy import Strict, Versioned
from kamflow.settings import Language, get_settings

CHAINS_FILE = Path(__file__).with_name("chains.yaml")
POLICY_FILE = Path(__file__).with_name("policy.yaml")

StageKind = Literal["agree", "approve", "acknowledge"]
FieldKind = Literal["department", "position", "customer", "text"]


class Who(Strict):
    """Exactly one way to name the people who act on a step."""

    role: str | None = Field(default=None, description="Every active holder of this role.")
    position: str | None = Field(default=None, description="Every active holder of this named position.")
    superior: Literal["author"] | None = Field(default=None, description="The author's direct superior.")
    department_head: str | None = Field(
        default=None, description="The head of the department named in this document field."
    )
    position_holders: str | None = Field(
        default=None, description="Every active holder of the position named in this document field."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Who:
        given = [name for name, value in self.model_dump().items() if value is not None]
        if len(given) != 1:
            raise ValueError(
                f"name exactly one of role, position, superior, department_head, position_holders; got {given}"
            )
        return self

    def document_field(self) -> str | None:
        """The document field this step reads, if any."""
        return self.department_head or self.position_holders


class Escalation(Strict):
    """Whom a late step goes to: the assignee's superior, the holder of a role, or nobody (remind only)."""

    to: Literal["superior", "role", "none"]
    role: str | None = None

    @model_validator(mode="after")
    def _role_when_needed(self) -> Escalation:
        if (self.to == "role") != (self.role is not None):
            raise ValueError("give a role exactly when escalating to a role")
        return self


class Timing(Strict):
    """How long a step may take, how often its people are reminded, and where it goes when late."""

    deadline_days: PositiveInt = Field(description="Business days to act.")
    remind_every_days: int = Field(ge=0, description="Business days between reminders; 0: never.")
    escalate: Escalation


class Policy(Versioned):
    """The document policy (`policy.yaml`)."""

    audit_name = "documents"

    step: Timing = Field(description="The timing of a chain step, for what the step leaves out.")
    revision: Timing = Field(description="The author's turn after a return, where a chain gives none.")
    records_delegations: tuple[str, ...] = Field(
        description="Roles that may record a delegation for anyone (besides the person and their superiors)."
    )


@functools.cache
def load_policy(path: Path = POLICY_FILE) -> Policy:
    """The policy in `path`, read once (InvalidInput naming the file and the key when it does not fit)."""
    return policy.read(path, Policy)


def _with_policy(data: Any, info: ValidationInfo, defaults: Callable[[Policy], dict[str, Any]]) -> Any:
    """Raw chain data with what it leaves out taken from the policy in the validation context, if any."""
    given = (info.context or {}).get("policy")
    return defaults(given) | data if isinstance(data, dict) and isinstance(given, Policy) else data


class Step(Timing):
    name: str = Field(min_length=1, max_length=40)
    who: Who
    quorum: Literal["all", "any"] | PositiveInt = Field(
        default="all", description="How many of the people named must agree: all, any one, or N."
    )

    def needed(self, people: int) -> int:
        if self.quorum == "all":
            return people
        if self.quorum == "any":
            return 1
        return self.quorum

    @model_validator(mode="before")
    @classmethod
    def _policy_timing(cls, data: Any, info: ValidationInfo) -> Any:
        return _with_policy(data, info, lambda given: given.step.model_dump())


class Stage(Strict):
    name: str = Field(min_length=1, max_length=40)
    kind: StageKind
    may_correct: bool = Field(default=False, description="Whoever approves here may correct the text.")
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_step_names(self) -> Stage:
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names repeat in stage {self.name!r}: {names}")
        return self


class Labels(Strict):
    """A chain's words in one language; what it leaves out reads as the chain gives it."""

    title: str | None = Field(default=None, min_length=1, max_length=80)
    required_sections: list[str] | None = Field(
        default=None, description="The required sections in this language, in the chain's order."
    )
    names: dict[str, str] = Field(default_factory=dict, description="Shown names of stage and step ids.")


class Chain(Strict):
    title: str
    required_sections: list[str] = Field(min_length=1)
    fields: dict[str, FieldKind] = Field(default_factory=dict, description="Document fields the author gives.")
    revision: Timing = Field(description="The author's turn after a return: deadline and reminders.")
    stages: list[Stage] = Field(min_length=1)
    labels: dict[Language, Labels] = Field(default_factory=dict, description="The chain's words per language.")

    @model_validator(mode="before")
    @classmethod
    def _policy_revision(cls, data: Any, info: ValidationInfo) -> Any:
        return _with_policy(data, info, lambda given: {"revision": given.revision.model_dump()})

    @model_validator(mode="after")
    def _shape(self) -> Chain:
        kinds = [stage.kind for stage in self.stages]
        reviewing = [kind for kind in kinds if kind != "acknowledge"]
        if not reviewing or reviewing[-1] != "approve" or kinds[: len(reviewing)] != reviewing:
            raise ValueError("stages: agreement stages, then an approval stage, then only acknowledgment")
        for stage in self.stages:
            for step in stage.steps:
                named = step.who.document_field()
                if named is not None and named not in self.fields:
                    raise ValueError(f"step {step.name!r} reads field {named!r}, which the chain does not declare")
        ids = {stage.name for stage in self.stages} | {step.name for stage in self.stages for step in stage.steps}
        for language, labels in self.labels.items():
            if labels.required_sections is not None and len(labels.required_sections) != len(
                self.required_sections
            ):
                raise ValueError(f"labels.{language}.required_sections: one for each of {self.required_sections}")
            if unknown := sorted(set(labels.names) - ids):
                raise ValueError(f"labels.{language}.names: {unknown} are no stage or step of the chain")
        return self

    def _labels(self) -> Labels:
        return self.labels.get(i18n.current()) or Labels()

    def shown_title(self) -> str:
        """The chain's title in the reader's language."""
        return self._labels().title or self.title

    def shown_name(self, name: str) -> str:
        """A stage's or step's name in the reader's language (its id where the chain gives none)."""
        return self._labels().names.get(name, name)

    def sections(self, language: Language) -> list[str]:
        """The required sections as a text in `language` names them."""
        given = self.labels.get(language)
        return (given.required_sections if given else None) or self.required_sections

    def missing_sections(self, content: str) -> list[str]:
        """The required sections a text lacks, in the reader's language; none when the text has all of them as
        one of the chain's languages names them (a document is written in one language)."""
        languages = dict.fromkeys([i18n.current(), i18n.SOURCE, *self.labels])
        missing = [text.missing_sections(content, self.sections(language)) for language in languages]
        return [] if any(not names for names in missing) else missing[0]

    def reviewing_stages(self) -> int:
        """How many stages come before acknowledgment."""
        return sum(1 for stage in self.stages if stage.kind != "acknowledge")


class Chains(Versioned):
    audit_name = "chains"

    types: dict[str, Chain]

    def get(self, document_type: str) -> Chain:
        if document_type not in self.types:
            raise InvalidInput(
                _("unknown document type {type} (types: {types})").format(
                    type=repr(document_type), types=", ".join(sorted(self.types))
                ),
                field="type",
            )
        return self.types[document_type]


def parse(text: str, *, source: str) -> Chains:
    """Chains from YAML text, with what the steps leave out from the document policy; a malformed file fails
    here, naming the place."""
    try:
        chains = Chains.model_validate({"types": yaml.safe_load(text)}, context={"policy": current_policy()})
        return chains.read_from(text)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{source}: {exc}") from exc


@functools.cache
def load(path: Path = CHAINS_FILE) -> Chains:
    return parse(policy.read_text(path), source=str(path))


def current_policy() -> Policy:
    """The policy of the settings' `document_policy` file, else the shipped one."""
    return load_policy(get_settings().document_policy or POLICY_FILE)


def current() -> Chains:
    """The chains of the settings' `document_chains` file, else the shipped ones."""
    return load(get_settings().document_chains or CHAINS_FILE)
