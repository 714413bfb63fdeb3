"""Settings from `EISO_` environment variables; a bad value stops start-up with one clear line."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from eiso.infra.redis_client import cluster_seeds, is_cluster_url

DEV_SECRET = "dev-only-secret-change-me"
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")
REDIS_SCHEMES = ("memory", "redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


class SettingsError(ValueError):
    """A setting is invalid; the message is one line naming the variable."""


# A window of office time, local time (UTC+7): (opening, closing).
OfficeWindow = tuple[dt.time, dt.time]


def office_windows(text: str) -> tuple[OfficeWindow, ...]:
    """`EISO_OFFICE_HOURS` ("07:30-11:30,13:30-17:00") as its windows. The working calendar
    (core/workdays) runs on them; the settings check them at start-up."""
    windows = []
    for part in text.split(","):
        try:
            start, end = (dt.time.fromisoformat(p.strip()) for p in part.split("-"))
        except ValueError:
            raise ValueError(f"bad office hours window {part.strip()!r}: use HH:MM-HH:MM") from None
        windows.append((start, end))
    check_office_windows(windows)
    return tuple(windows)


def check_office_windows(windows: Sequence[OfficeWindow]) -> None:
    """Increasing, non-overlapping windows, at least one."""
    previous = dt.time(0)
    for start, end in windows:
        if not (previous <= start < end):
            raise ValueError("office hours must be increasing, non-overlapping windows")
        previous = end
    if not windows:
        raise ValueError("office hours need at least one window")


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EISO_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    database_url: str = "sqlite:///./var/eiso.db"
    # Migrations run as the owner of the tables; the app may connect as a role that is not.
    migration_database_url: str | None = None
    # `eiso db backup` connects as this role, which bypasses row-level security (docs/operating.md).
    backup_database_url: str | None = None
    redis_url: str = "memory://"
    # Every key eiso writes starts with this, so several deployments (or test runs) can share
    # one Redis without touching each other's keys.
    redis_prefix: str = "eiso:"
    # Where attachments (QMS document files, dossiers' attachments) are stored, content-addressed
    # by sha256 (infra/storage.py).
    storage_dir: str = "./var/files"
    # A dossier filed online (core/dossiers/attachments.py): at most this many files, each at
    # most this many bytes, of these types (checked on the content, not the name).
    attachment_max_count: int = Field(default=10, ge=1, le=50)
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    attachment_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["application/pdf", "image/jpeg", "image/png"]
    )
    # The DejaVu TrueType fonts the PDF slips embed (Debian's fonts-dejavu-core puts them here).
    slip_font_dir: str = "/usr/share/fonts/truetype/dejavu"
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    # The `iss` of tokens and the base of the discovery URLs. Unset (dev and test only), eiso
    # takes it from each request: the scheme, host and port it is served on (core/auth/issuer.py).
    issuer: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Which discovered plugins load: None means every installed one.
    plugins: Annotated[list[str] | None, NoDecode] = None
    # GraphiQL at /graphql for browsers (served offline, see docs/graphql.md); None: in dev only.
    graphiql: bool | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    db_pool_size: int = Field(default=10, ge=1, le=500)
    # Read-only sessions' own pool (infra/pg_read.py); 0: reads run in transactions on the main
    # pool (required behind PgBouncer in transaction mode: the scope is a session setting).
    db_read_pool_size: int = Field(default=10, ge=0, le=500)
    graphql_max_depth: int = Field(default=12, ge=1, le=100)
    # Only registered (trusted) documents run: every other operation is refused (docs/graphql.md).
    graphql_trusted_only: bool = False
    # Office windows of a working day (local time, UTC+7); working-hour limits run only inside.
    office_hours: str = "07:30-11:30,13:30-17:00"
    # (No receipt cut-off here: only a procedure that declares one has it; issue 17.)
    # The outbox relay runs inside each app worker; None means on, except with EISO_ENV=test,
    # where tests drive the relay themselves.
    events_relay: bool | None = None
    events_relay_interval: float = Field(default=1.0, gt=0, le=60)
    # How often the worker running a module's event hook calls its `eiso_sweep` per province.
    events_sweep_seconds: float = Field(default=60.0, gt=0, le=3600)
    # The modules' eiso_on_dossier_event hooks run inside each app worker (one worker at a time
    # per module, under a Redis lease); None means on, except with EISO_ENV=test. Switch it off
    # to run them apart with `eiso events hooks`.
    events_hooks: bool | None = None

    @property
    def graphiql_enabled(self) -> bool:
        return self.env == "dev" if self.graphiql is None else self.graphiql

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, value: str) -> str:
        office_windows(value)
        return value

    # Auth: tokens are short-lived JWTs for `audience`; see docs/auth.md.
    audience: str = "eiso"
    access_token_lifetime: int = Field(default=900, ge=30, le=86400)
    refresh_token_lifetime: int = Field(default=30 * 86400, ge=60)
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_seconds: int = Field(default=900, ge=1)
    token_rate_limit: int = Field(
        default=60,
        ge=1,
        description="token requests a minute per integration client, address or person",
    )

    @field_validator("cors_origins", "plugins", "attachment_types", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("database_url", "migration_database_url", "backup_database_url")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return value
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if scheme not in DATABASE_SCHEMES or "://" not in value:
            raise ValueError("must be a sqlite:///path or postgresql://... URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value.split("://", 1)[0] not in REDIS_SCHEMES or "://" not in value:
            raise ValueError(
                "must be memory://, a redis://host:port/db URL"
                " or redis+cluster://host:port,host:port/"
            )
        if is_cluster_url(value):
            cluster_seeds(value)  # raises ValueError naming what is wrong
        return value

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _prod_refuses_dev_defaults(self) -> Settings:
        if self.env == "prod" and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError("EISO_SECRET_KEY must be set to a real secret when EISO_ENV=prod")
        if self.env == "prod" and self.issuer is None:
            # Behind a proxy the Host header is the client's to choose: prod names its issuer.
            raise ValueError("EISO_ISSUER must be set (the public https URL) when EISO_ENV=prod")
        return self

    @property
    def is_memory_redis(self) -> bool:
        return self.redis_url.startswith("memory://")

    @property
    def is_redis_cluster(self) -> bool:
        return is_cluster_url(self.redis_url)

    @property
    def relay_enabled(self) -> bool:
        return self.env != "test" if self.events_relay is None else self.events_relay

    @property
    def hooks_enabled(self) -> bool:
        return self.env != "test" if self.events_hooks is None else self.events_hooks

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first.get("loc", ()) if part != "__root__"]
    message = first.get("msg", "invalid value").removeprefix("Value error, ")
    if not loc:
        return message
    return f"EISO_{loc[0].upper()}: {message}"


def load_settings(**overrides: Any) -> Settings:
    """Read the environment; raise `SettingsError` naming the first bad variable. `overrides`:
    values of the fields (any of their types) that win over the environment."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
