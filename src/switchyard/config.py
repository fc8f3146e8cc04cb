"""Settings: environment variables `SWITCHYARD_*`, an optional TOML file, then defaults.

The TOML file uses the same names in lower case without the prefix (`port = 9000`). Its path comes
from `SWITCHYARD_CONFIG` or the CLI's `--config`. Environment variables win over the file, so an
operator can override one setting for one run without editing the file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

ANTIGRAVITY_CLIENT_ID = "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com"
"""The public Antigravity OAuth client id (it is public; the secret is not shipped here)."""

ANTIGRAVITY_DEFAULT_BASE_URLS = (
    "https://daily-cloudcode-pa.googleapis.com",
    "https://cloudcode-pa.googleapis.com",
)
"""Generate calls try these in order (protocols/antigravity.md §1; the sandbox host is no longer
tried, §12.3)."""

ANTIGRAVITY_DEFAULT_DISCOVERY_URL = "https://cloudcode-pa.googleapis.com"

ANTIGRAVITY_SENSITIVE_WORDS = (
    "RFC 2119",
    "MUST",
    "REQUIRED",
    "SHOULD",
    "RECOMMENDED",
    "MAY",
    "OPTIONAL",
    "system-conventions",
)
"""The known triggers of Cloud Code's system-prompt content filter (protocols §12.6): the RFC 2119
line it was bisected to, and the `<system-conventions>` block."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything an operator can configure. Defaults serve on SQLite in `./data/`."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_", extra="ignore", env_ignore_empty=True)

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    admin_key: SecretStr | None = None
    log_level: str = "info"
    log_format: Literal["json", "text"] = "text"
    log_prompts: bool = False
    shutdown_grace_s: float = 30.0
    keepalive_interval_s: float = 15.0
    usage_flush_interval_s: float = 1.0
    usage_claim_idle_s: float = 30.0
    """With Redis: usage events another instance read but did not write for this long (it died)
    are taken over by the next instance that drains the stream."""
    store_wait_s: float = 120.0
    """At start, how long `serve` waits for an unreachable database before it gives up (0: no wait)."""
    store_retry_after_s: int = 5
    """The Retry-After of a 503 answered because the store is unreachable."""
    key_cache_ttl_s: float = 2.0
    key_default_max_concurrent: int = 16
    """Requests in flight per client key that has no `max_concurrent` of its own, so one key cannot
    take every account slot; 0 = no cap."""
    accounts_reload_interval_s: float = 5.0

    antigravity_base_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(ANTIGRAVITY_DEFAULT_BASE_URLS)
    )
    antigravity_discovery_url: str = ANTIGRAVITY_DEFAULT_DISCOVERY_URL
    antigravity_oauth_token_url: str = "https://oauth2.googleapis.com/token"
    antigravity_oauth_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    antigravity_userinfo_url: str = "https://www.googleapis.com/oauth2/v2/userinfo"
    antigravity_client_id: str = ANTIGRAVITY_CLIENT_ID
    antigravity_client_secret: SecretStr | None = None
    antigravity_user_agent: str = "antigravity/hub/2.11.0 darwin/arm64"
    """The client fingerprint; the newest models need a Hub version of 2.9 or 2.11 (protocols §12.3).
    An account's own `user_agent` (`switchyard accounts set NAME --user-agent UA`) wins over it."""
    antigravity_client_version: str = "2.11.0"
    antigravity_sensitive_words: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(ANTIGRAVITY_SENSITIVE_WORDS)
    )
    """Words cloaked in a system prompt when Cloud Code's content filter answers it with a bare 429
    (comma-separated; protocols §12.6). Matched case-insensitively, as whole words."""
    antigravity_request_timeout_s: float = 600.0
    models_file: str | None = None
    """An operator's TOML file of model metadata and aliases (the tables of `catalogue.toml`)."""
    model_aliases: str = ""
    """Extra aliases, `alias=model,other=model`; they win over the shipped and upstream forwarding."""

    gemini_web_ca_bundle: Path | None = None
    gemini_web_media_delivery: Literal["url", "data"] = "url"
    """How generated images/videos reach chat clients: gateway-served signed URLs, or data URLs."""
    gemini_web_media_ttl_s: float = 3600.0
    gemini_web_refresh_interval_s: float = 540.0
    gemini_web_request_timeout_s: float = 450.0
    gemini_web_conversation_ttl_s: float = 6 * 3600.0
    responses_store_ttl_s: float = 30 * 24 * 3600.0
    """How long a stored OpenAI Responses `response` lives (OpenAI keeps them 30 days)."""
    responses_store_max_rows: int = 10_000
    """At most this many stored responses; the oldest go first."""
    gemini_web_conversation_max: int = 20_000
    signature_ttl_s: float = 7 * 86400.0
    """How long a thought signature is kept for replay in the store / Redis (issue 13)."""
    signature_max: int = 200_000
    """Most signatures the store keeps; the soonest to expire go first."""
    gemini_web_video_timeout_s: float = 600.0
    """How long a -video or -deepsearch turn may wait for Veo / Deep Research to finish."""
    gemini_web_poll_interval_s: float = 10.0
    gemini_web_picker_file: Path | None = None
    """A JSON file mapping the contract's Gemini web models to picker categories (the shipped
    `providers/gemini_web/picker.json` when unset)."""
    gemini_web_picker_recheck_s: float = 300.0
    """How long an account's picker is trusted to refuse a model it lacks; older, it is read again
    first (models are rolled out per account, §13.2)."""
    gemini_web_request_cap_bytes: int = 120_000
    """Most UTF-8 bytes of prompt sent in one web turn: the web app keeps about 130,000 and cuts
    the rest from the end, where the newest message is (protocols/gemini-web.md §13.2)."""
    media_allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    media_max_bytes: int = 50 * 1024 * 1024
    max_request_bytes: int = 100 * 1024 * 1024
    """Largest request body accepted (base64 media included); larger ones get 413."""
    media_fetch_timeout_s: float = 30.0
    http_header_timeout_s: float = 10.0
    """A connection must complete its request headers this soon after opening (or after the
    request's first byte); slower ones are closed (slowloris)."""
    http_body_idle_timeout_s: float = 30.0
    """A request body may pause this long between chunks before the connection is closed."""
    http_write_timeout_s: float = 60.0
    """A response (a stream above all) whose client reads nothing for this long is cut and its key's
    and account's concurrency slots freed; 0 waits for ever."""
    http_keep_alive_timeout_s: int = 5
    """How long an idle connection is kept open between requests."""

    pool_strategy: Literal["round-robin", "least-used", "quota-aware"] = "quota-aware"
    pool_sticky_sessions: bool = True
    pool_account_max_concurrency: int = 8
    quota_refresh_interval_s: float = 300.0
    """0 turns the background quota refresh off (quota errors still trigger one)."""
    pool_flush_interval_s: float = 1.0
    """How often request and token counters per (account, family) are written to the store."""
    pool_sticky_ttl_s: float = 3600.0
    """How long a conversation stays on its account after its last request."""
    pool_busy_wait_s: float = 30.0
    """When every ready account is at `pool_account_max_concurrency`, how long a request queues
    for a slot before it gets a 429 (an account at its cap is skipped while another is free). The
    waiting requests are served key after key, first come first served within a key (`pool/waiting.py`)."""
    redis_prefix: str = "switchyard"
    """Prefix of every Redis key, so several deployments (or tests) can share one Redis."""
    redis_timeout_s: float = 2.0
    """A Redis command not answered this soon marks Redis unreachable: limits and slots fall back
    to this process until a probe (every second) sees it answer again. Not much lower: a gateway
    whose event loop lags under load would take its own lag for a Redis outage, and limits would
    hold per instance meanwhile (a loaded 2-core CI machine lagged past 1 s)."""
    slot_lease_s: float = 30.0
    """With Redis, an in-flight slot (an account's or a key's) is a lease renewed every third of
    this by the instance holding it: a crashed instance's slots free themselves within it."""
    redis_snapshot_interval_s: float = 0.075
    """How often an instance reads the pool's shared cooldowns, in-flight counts and recent uses
    (for ranking accounts) from Redis in the background."""

    @field_validator(
        "antigravity_base_urls", "media_allow_hosts", "antigravity_sensitive_words", mode="before"
    )
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy async URL; SQLite in the data folder unless one was given."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'switchyard.db').as_posix()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the optional TOML file named by `SWITCHYARD_CONFIG`."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("SWITCHYARD_CONFIG")
        if not path:
            return {}
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
        known = set(self.settings_cls.model_fields)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown settings {', '.join(unknown)}")
        return data


def normalise_database_url(url: str) -> str:
    """Accept the URLs operators write (`postgres://`, `sqlite:///x.db`) and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


def load_settings(config_path: str | None = None, **overrides: Any) -> Settings:
    """Build settings; `config_path` (the CLI's `--config`) takes the place of `SWITCHYARD_CONFIG`."""
    if config_path:
        os.environ["SWITCHYARD_CONFIG"] = config_path
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
