"""Wire models of the admin API, named by role (`KeyCreate`, `KeyPublicOut`). They document the
OpenAPI schema; none of the `...Out` models has a field that could carry a secret."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from switchyard.keys.limits import parse_expiry, parse_quota
from switchyard.keys.service import KeyLimits

INT32_MAX = 2**31 - 1
"""The largest `rpm` and `max_concurrent` the store's integer columns hold (PostgreSQL `integer`)."""

# The patterns say in the OpenAPI document what the services accept (issue 17 #13: a request the
# schema calls valid must not be refused); blank means "none" where the services take it so.
EXPIRY_PATTERN = r"^(\s*|[0-9]{1,6}[mhdw]|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))$"
QUOTA_PATTERN = r"^([0-9]{1,18}/(day|week|month))?$"
PROXY_PATTERN = r"^((http|https|socks5|socks5h)://[A-Za-z0-9.-]*[A-Za-z0-9-][A-Za-z0-9.-]*(:[0-9]{1,5})?)?$"
USER_AGENT_PATTERN = r"^[ -~]{0,300}$"
CHOSEN_KEY_PATTERN = r"^([!-~]{16,})?$"
"""Printable ASCII without spaces: a key travels in an HTTP header."""
NAME_PATTERN = r"^.*\S.*$"
TOKEN_PATTERN = r"^ *[!-~]+ *$"
"""A credential: printable ASCII without whitespace (the services strip the ends)."""
STATUS_FILTER_PATTERN = r"^(ok|error|[1-5]xx|[1-5][0-9][0-9])$"
PATTERN_HINTS = {
    EXPIRY_PATTERN: "use a duration such as 30d, 12h, 2w or a date such as 2026-12-31",
    QUOTA_PATTERN: "use N/day, N/week or N/month, e.g. 1000/day",
    PROXY_PATTERN: "use http://, https:// or socks5://HOST:PORT",
    USER_AGENT_PATTERN: "use printable ASCII on one line, at most 300 characters",
    CHOSEN_KEY_PATTERN: "a chosen key needs at least 16 characters, printable ASCII and no spaces",
    NAME_PATTERN: "a name needs a character other than whitespace",
    TOKEN_PATTERN: "printable ASCII without whitespace, copied whole",
    STATUS_FILTER_PATTERN: "use ok, error, 2xx, 4xx, 5xx or a code such as 429",
}
"""What the validation error says when a value does not match one of the patterns above."""
ProviderName = Literal["antigravity", "gemini-web", "gemini_web"]


class KeyLimitsIn(BaseModel):
    """Limits in the CLI's syntax: `expires` `30d`/`2026-12-31`, quotas `1000/day`; absent = unlimited."""

    model_config = ConfigDict(extra="forbid")

    expires: str | None = Field(None, examples=["30d"], pattern=EXPIRY_PATTERN)
    models: list[str] | None = Field(None, examples=[["gemini-*"]])
    rpm: int | None = Field(None, ge=1, le=INT32_MAX)
    max_concurrent: int | None = Field(None, ge=1, le=INT32_MAX)
    quota_requests: str | None = Field(None, examples=["1000/day"], pattern=QUOTA_PATTERN)
    quota_tokens: str | None = Field(None, examples=["2000000/month"], pattern=QUOTA_PATTERN)

    def to_limits(self) -> KeyLimits:
        """Raises ValueError with the CLI's wording for an unreadable expiry or quota."""
        return KeyLimits(
            expires_at=parse_expiry(self.expires) if self.expires and self.expires.strip() else None,
            models=[m.strip() for m in self.models if m.strip()] or None if self.models else None,
            rpm=self.rpm,
            max_concurrent=self.max_concurrent,
            quota_requests=parse_quota(self.quota_requests) if self.quota_requests else None,
            quota_tokens=parse_quota(self.quota_tokens) if self.quota_tokens else None,
        )


class KeyCreate(KeyLimitsIn):
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    key: str | None = Field(
        None,
        description="Choose the key yourself (16+ printable ASCII characters, no spaces); generated otherwise.",
        pattern=CHOSEN_KEY_PATTERN,
    )


class KeyLimitsOut(BaseModel):
    expires_at: float | None
    models: list[str] | None
    rpm: int | None
    max_concurrent: int | None
    quota_requests: str | None
    quota_tokens: str | None


class KeyUsageOut(BaseModel):
    requests_total: int
    requests_in_period: int | None
    tokens_total: int
    tokens_in_period: int | None


class KeyPublicOut(BaseModel):
    id: int
    name: str
    fingerprint: str = Field(description="The last four characters, to recognise the key.")
    enabled: bool
    expired: bool
    created_at: float
    last_used_at: float | None
    limits: KeyLimitsOut
    usage: KeyUsageOut


class KeyCreatedOut(KeyPublicOut):
    key: str = Field(description="The key itself: shown this once, only its hash is stored.")


class ModelStateOut(BaseModel):
    model: str = Field(description="The model family (quota and cooldowns are per family).")
    cooldown_until: float | None
    cooldown_reason: str | None
    quota_remaining: float | None = Field(description="Fraction 0..1 of the family's quota left.")
    quota_reset_at: float | None
    last_error: str | None
    requests: int
    tokens: int


class AccountOut(BaseModel):
    id: int
    provider: str
    name: str
    state: str = Field(description="active, disabled, dead or forbidden.")
    secret_fingerprint: str
    enabled: bool
    status: str
    status_reason: str | None
    status_url: str | None
    project_id: str | None
    email: str | None
    proxy: str | None = Field(description="The proxy URL with its password masked.")
    user_agent: str | None = Field(
        None, description="Antigravity: the account's own User-Agent; null sends the gateway's setting."
    )
    created_at: float
    last_used_at: float | None
    last_error: str | None
    models: list[ModelStateOut]


class AntigravityAccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, pattern=TOKEN_PATTERN)
    project_id: str | None = None
    name: str | None = None
    proxy: str | None = Field(None, pattern=PROXY_PATTERN)
    user_agent: str | None = Field(
        None, description="The account's own User-Agent (default: the setting).", pattern=USER_AGENT_PATTERN
    )
    check: StrictBool = Field(
        True, description="Verify it upstream right away (finds the project and quotas)."
    )


class AccountUpdate(BaseModel):
    """The account settings an operator may change in place (the credential is not one of them)."""

    model_config = ConfigDict(extra="forbid")

    user_agent: str | None = Field(
        description='Antigravity: the account\'s own User-Agent; null or "" goes back to the setting.',
        pattern=USER_AGENT_PATTERN,
    )


class GeminiWebAccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    psid: str = Field(min_length=1, description="The __Secure-1PSID cookie.", pattern=TOKEN_PATTERN)
    psidts: str | None = Field(
        None, description="The __Secure-1PSIDTS cookie, if the browser has one.", pattern=r"^ *([!-~]+ *)?$"
    )
    name: str | None = None
    proxy: str | None = Field(None, pattern=PROXY_PATTERN)


class FamilyQuotaOut(BaseModel):
    family: str
    remaining_fraction: float
    reset_at: float | None


class CheckResultOut(BaseModel):
    name: str
    provider: str
    outcome: Literal["ok", "error", "dead", "forbidden", "skipped"]
    message: str
    project_id: str | None
    project_discovered: bool
    tier_id: str | None
    token_expires_at: float | None
    quotas: list[FamilyQuotaOut]


class AccountAdded(BaseModel):
    account: AccountOut
    check: CheckResultOut | None = None


class CheckRequest(BaseModel):
    names: list[str] = Field(default_factory=list, description="Accounts to check; empty for all.")


class ImportedOut(BaseModel):
    name: str
    provider: str
    source: str
    secret_fingerprint: str
    email: str | None
    project_id: str | None


class SkippedOut(BaseModel):
    source: str
    reason: str
    email: str | None


class ImportReportOut(BaseModel):
    imported: list[ImportedOut]
    skipped: list[SkippedOut]


class LoginStart(BaseModel):
    redirect_uri: str | None = Field(
        None, description="Where Google sends the browser back; default: this gateway's console callback."
    )
    name: str | None = Field(None, description="Log an existing account in again (its email is preselected).")


class LoginStarted(BaseModel):
    auth_url: str
    redirect_uri: str
    state: str = Field(description="Send it back with the callback; it ties the callback to this start.")


class LoginFinish(BaseModel):
    callback_url: str = Field(description="The address Google redirected to (or just its query string).")
    state: str
    redirect_uri: str
    name: str | None = None
    proxy: str | None = Field(None, pattern=PROXY_PATTERN)


class LoginFinished(BaseModel):
    account: AccountOut
    created: bool
    check: CheckResultOut | None


class TotalsOut(BaseModel):
    requests: int
    errors: int
    tokens: int
    avg_latency_ms: float | None
    avg_ttfb_ms: float | None


class SeriesOut(BaseModel):
    range: str
    by: str
    start: float
    bucket_s: int
    buckets: int
    groups: list[str]
    requests: dict[str, list[int]]
    errors: dict[str, list[int]]
    tokens: dict[str, list[int]]
    ttfb_ms: dict[str, list[float | None]]
    totals: TotalsOut


class RequestRowOut(BaseModel):
    id: int
    created_at: float
    request_id: str
    key_name: str | None
    surface: str
    provider: str
    model: str | None
    account: str | None
    status: int
    error_class: str | None
    stream: bool
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    latency_ms: float
    ttfb_ms: float | None


class RequestLogOut(BaseModel):
    requests: list[RequestRowOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next (older) page.")


def account_out(data: dict[str, Any], state: str) -> AccountOut:
    return AccountOut.model_validate({**data, "state": state})


class ModelAccountOut(BaseModel):
    account: str
    remaining_fraction: float
    reset_at: float | None


class ModelOut(BaseModel):
    """One model of the live Antigravity catalogue (`switchyard models --json` has the same fields)."""

    id: str
    display_name: str
    quota_group: str
    thinking: str
    aliases: list[str]
    accounts: list[ModelAccountOut]
    quota_left: float | None


class ErrorDetailOut(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorOut(BaseModel):
    """Every error of the admin API: the gateway's OpenAI-style error object."""

    error: ErrorDetailOut


ERROR_DESCRIPTIONS = {
    400: "Invalid input; the message names the field.",
    401: "No admin key, a wrong one, or an expired session (also while the address is throttled).",
    403: "A cookie session without its X-CSRF-Token.",
    404: "No key or account by that name.",
    409: "The name, key or credential exists already.",
    413: "The upload is larger than the import limit.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the error object's schema."""
    return {status: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}
