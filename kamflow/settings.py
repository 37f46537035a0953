"""Settings: one place, read from the environment (`KAMFLOW_` prefix) or given to the constructor."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_SHARDS = 64
"""The most slices a credit review may be cut into (each a run on a worker)."""
Language = Literal["en", "es"]
"""The languages kamflow speaks (kamflow.i18n): English, the language of the code, and Spanish."""


class Settings(BaseSettings):
    """Everything kamflow reads from its environment. Tests build their own instance."""

    model_config = SettingsConfigDict(env_prefix="KAMFLOW_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / "data", description="Folder for the embedded databases.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the domain database; default: SQLite in data_dir."
    )
    prefect_home: Path | None = Field(default=None, description="PREFECT_HOME; default: data_dir/prefect.")
    prefect_api_url: str | None = Field(
        default=None,
        description="Prefect API the CLI and flows talk to; default: the local server `kamflow serve` starts.",
    )
    prefect_port: int = Field(default=4200, ge=1, le=65535, description="Port of the local Prefect server.")
    web_port: int = Field(
        default=8040,
        ge=1,
        le=65535,
        description="Port of kamflow's own server (workspace, HTTP API) on loopback.",
    )
    web_host: str = Field(
        default="127.0.0.1",
        description="Address `kamflow server` listens on (loopback unless a proxy or other machines reach it).",
    )
    server_url: str | None = Field(
        default=None,
        description="kamflow's server as people reach it (links in mail). Set without a database URL, it makes "
        "this a client machine: people's commands go to that server over HTTP. Default: http://127.0.0.1:web_port.",
    )
    timezone: str = Field(default="Europe/Madrid", description="Company timezone (IANA name).")
    language: Language = Field(
        default="en",
        description="The company's language (en, es): what kamflow writes in for a reader with no preferred "
        "language of their own, and how it writes numbers, money and dates.",
    )
    currency: str = Field(default="EUR", min_length=3, max_length=3, description="Company currency (ISO 4217).")
    rules_dir: Path = Field(default=PROJECT_ROOT / "rules", description="Folder of the rule files.")
    approval_deadline_hours: int = Field(
        default=48, ge=1, description="Hours an approver has before a task escalates to the next level."
    )
    warm_wait_seconds: int = Field(
        default=120,
        ge=0,
        description="Seconds a flow run that has just started waiting for a person keeps its process and watches "
        "for the answer (going on at once when it comes) before giving the process back; 0: give it back at once.",
    )
    deadline_sweep_seconds: int = Field(
        default=60,
        ge=5,
        description="How often `kamflow serve` escalates approval tasks past their deadline.",
    )
    recovery_grace_seconds: int = Field(
        default=30,
        ge=5,
        description="How long a waiting task's flow run may stand Pending or Running with nobody to take it on "
        "before the recovery sweep (under `kamflow serve` every 10 s; with the deadlines sweep) starts it again.",
    )
    recovery_reruns: int = Field(
        default=3,
        ge=0,
        description="How many times the recovery sweep starts a crashed or failed run of a task again (a deleted "
        "one: a fresh run in its place) before it leaves the task to a person (audited once).",
    )
    credit_policy: Path | None = Field(
        default=None,
        description="The credit policy's figures (grace days, proposed-limit formula, ...), a YAML file; "
        "default: kamflow/credit/policy.yaml.",
    )
    dunning_policy: Path | None = Field(
        default=None,
        description="The dunning policy (levels, their modes and days, fees, interest, ageing buckets), a YAML "
        "file; default: kamflow/review/dunning.yaml.",
    )
    document_policy: Path | None = Field(
        default=None,
        description="The document policy (step and revision timings, who records delegations), a YAML file; "
        "default: kamflow/documents/policy.yaml.",
    )
    document_chains: Path | None = Field(
        default=None,
        description="The approval chain of each document type, a YAML file; "
        "default: kamflow/documents/chains.yaml.",
    )
    access_policy: Path | None = Field(
        default=None,
        description="Who may see and act on what (kamflow/access.yaml's format), a YAML file; "
        "default: kamflow/access.yaml.",
    )
    review_cron: str = Field(
        default="0 2 * * *",
        description="When the nightly credit review runs (cron, in the company timezone).",
    )
    review_shards: int = Field(
        default=1,
        ge=1,
        le=MAX_SHARDS,
        description="Slices of the customers the scheduled nightly review reviews in parallel, each a run any "
        "worker may take (`kamflow review --shards` chooses its own).",
    )
    secret_key: str | None = Field(
        default=None,
        min_length=16,
        description="Secret behind the approvers' one-time codes; every process must share it. "
        "Default: a random key kept in data_dir/secret.key.",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="Mail server for notifications: smtp://[user:password@]host[:port][?starttls=true] or "
        "smtps://...; default: each message is written as an .eml file under data_dir/mail/.",
    )
    mail_from: str | None = Field(
        default=None, max_length=254, description="Sender of notifications; default: kamflow@mail_domain."
    )
    mail_domain: str = Field(
        default="kamflow.invalid",
        min_length=1,
        max_length=200,
        description="Domain of the addresses of people with no e-mail of their own (login@mail_domain); the demo "
        "company's addresses.",
    )
    mail_send_seconds: int = Field(
        default=10, ge=1, description="How often `kamflow serve` sends the mail waiting in the outbox."
    )
    user: str | None = Field(default=None, description="Acting user's login when `--as` is not given.")
    auth: Literal["demo", "required"] = Field(
        default="demo",
        description="demo: commands act as `--as`/KAMFLOW_USER without sign-in (the embedded demo); required: "
        "every command that acts as a person needs a valid token from `kamflow login`.",
    )
    token: SecretStr | None = Field(
        default=None, description="A personal API token for scripts (instead of the token file)."
    )
    token_file: Path | None = Field(
        default=None,
        description="Where `kamflow login` keeps the token; default: $XDG_CONFIG_HOME/kamflow/token, "
        "else ~/.config/kamflow/token.",
    )
    token_hours: int = Field(default=12, ge=1, le=24 * 90, description="Lifetime of a token from `kamflow login`.")
    sign_in_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per login within the window after which sign-in is refused."
    )
    sign_in_window_minutes: int = Field(default=15, ge=1, description="The window failed sign-ins count in.")
    max_document_bytes: int = Field(
        default=1_048_576,
        ge=1,
        description="Largest document file that `doc submit`, `doc revise` or `decide --file` reads.",
    )
    max_csv_bytes: int = Field(
        default=64 * 1_048_576, ge=1, description="Largest CSV file `kamflow import` reads."
    )
    max_rule_file_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest rule file `kamflow rules` reads (lint, replay --candidate)."
    )
    max_facts_bytes: int = Field(default=65_536, ge=1, description="Largest `--facts @FILE` of `rules explain`.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            url = urlsplit(value.get_secret_value())
            if url.scheme not in ("smtp", "smtps") or not url.hostname:
                raise ValueError("an SMTP URL looks like smtp://[user:password@]host[:port][?starttls=true]")
        return value

    @property
    def approval_secret(self) -> bytes:
        """`secret_key`, else the key in data_dir/secret.key, made once: written whole to a private file, then
        linked into place, so that processes starting together all read the same key, never an empty file."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, fresh = tempfile.mkstemp(dir=path.parent, prefix="secret.key.")  # mode 600
            try:
                with os.fdopen(handle, "w") as out:
                    out.write(secrets.token_hex(32))
                with contextlib.suppress(FileExistsError):  # another process made it first: theirs holds
                    os.link(fresh, path)
            finally:
                os.unlink(fresh)
        return path.read_text().strip().encode()

    @property
    def approval_deadline(self) -> timedelta:
        return timedelta(hours=self.approval_deadline_hours)

    @property
    def token_lifetime(self) -> timedelta:
        return timedelta(hours=self.token_hours)

    @property
    def sign_in_window(self) -> timedelta:
        return timedelta(minutes=self.sign_in_window_minutes)

    @property
    def token_path(self) -> Path:
        if self.token_file is not None:
            return self.token_file
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(config) / "kamflow" / "token"

    @property
    def sender(self) -> str:
        return self.mail_from or f"kamflow@{self.mail_domain}"

    @property
    def mail_dir(self) -> Path:
        """Where the embedded default (no SMTP URL) writes each message as an .eml file."""
        return self.data_dir / "mail"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def client_mode(self) -> bool:
        """A client machine: people's commands go to kamflow's server (`server_url`); it holds no database URL."""
        return self.server_url is not None and self.database_url is None

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kamflow.db'}"

    @property
    def prefect_home_dir(self) -> Path:
        return self.prefect_home or self.data_dir / "prefect"

    @property
    def api_url(self) -> str:
        return self.prefect_api_url or f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def web_url(self) -> str:
        return (self.server_url or f"http://127.0.0.1:{self.web_port}").rstrip("/")


def private_file(path: Path) -> Path:
    """A file only its owner reads and writes (600), made empty if missing, in a folder only its owner opens (700)
    when made here; one made before by a looser umask is tightened. For what holds people's data or secrets: the
    databases, the logs."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    return path


_current: list[Settings] = []


def get_settings() -> Settings:
    """The process's settings: read from the environment once, unless `use_settings` gave others."""
    if not _current:
        _current.append(Settings())
    return _current[0]


def use_settings(settings: Settings) -> None:
    """Make `settings` the process's settings (tests and embedding programs)."""
    _current[:] = [settings]
