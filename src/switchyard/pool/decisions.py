"""THE decision table: what an upstream failure does to the account that met it, and to the request.

Every upstream error class maps to exactly one row of `TABLE`; `decide` reads the row and fills in
the numbers that come from the error itself (the upstream's retry delay, the parsed reset time).
Nothing else in the gateway decides what an error means for an account, so the rows below are the
whole behaviour, and `tests/pool/test_decisions.py` checks them one by one.

Providers have already done the per-connection part before an error reaches here: the Antigravity
transport moved to the next base URL on a 429 that is not a spent quota and on a 503 capacity
error, and the client refreshed the access token once after a 401 (protocols/antigravity.md §7).
Since §12 the client also retried a bare 429 on a system prompt once with the prompt cloaked (a
second one arrives here as `PromptRefused`, a bad request) and rediscovered a refused project once
(a second refusal arrives as FORBIDDEN); refusal texts in 200 answers arrive as errors like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from switchyard.errors import ErrorClass, ModelRetired, UpstreamError


class Action(StrEnum):
    """What the request does next."""

    RETRY_SAME = "retry the same account after the delay"
    COOL_AND_SWITCH = "cool the (account, family) and switch"
    DISABLE_AND_SWITCH = "disable the account and switch"
    SWITCH = "switch after a backoff, no cooldown"
    SWITCH_ONCE = "try one other account, then answer the client with the error"
    FAIL = "answer the client with the error"


@dataclass(frozen=True)
class Rule:
    """One row: the action, the reason operators see, and the cooldown when the upstream gives none."""

    action: Action
    reason: str
    default_cooldown_s: float = 0.0
    max_cooldown_s: float | None = None
    status: str | None = None
    refresh_quota: bool = False
    reason_from_error: bool = False
    """Append the error's own message (its link, the upstream's words) to what operators see."""


SHORT_RATE_LIMIT_S = 3.0
"""Below this retry delay, waiting is cheaper than switching (CPA `decideAntigravity429`)."""
SAME_ACCOUNT_RETRIES = 2
"""At most this many waits on one account per request; then the short limit is treated as long."""
SHORT_RETRY_MARGIN_S = 0.1
"""Added to the upstream's delay so the retry lands after the window, not on its edge."""
BACKOFF_STEP_S = 0.25
BACKOFF_CAP_S = 2.0
RELOGIN = "re-login needed"
CLIENT_OUTDATED_REASON = (
    "the User-Agent's Antigravity version is below the upstream's floor; set a current one with "
    "SWITCHYARD_ANTIGRAVITY_USER_AGENT (all accounts) or `switchyard accounts set NAME --user-agent UA`"
)

TABLE: dict[ErrorClass, Rule] = {
    # A 429 RATE_LIMIT_EXCEEDED; a short delay is rewritten to RETRY_SAME by `decide`.
    ErrorClass.RATE_LIMITED: Rule(Action.COOL_AND_SWITCH, "rate limited", default_cooldown_s=5.0),
    # Cool until the parsed reset (quotaResetTimeStamp / quotaResetDelay / RetryInfo), then refresh
    # the quota numbers so `accounts list` and quota-aware selection see it.
    ErrorClass.QUOTA_EXHAUSTED: Rule(
        Action.COOL_AND_SWITCH, "quota exhausted", default_cooldown_s=3600.0, refresh_quota=True
    ),
    # Every base URL already said "no capacity"; another account may be served elsewhere. Short.
    ErrorClass.CAPACITY: Rule(
        Action.COOL_AND_SWITCH, "no capacity", default_cooldown_s=5.0, max_cooldown_s=30.0
    ),
    # The token was refreshed once and still refused.
    ErrorClass.UNAUTHENTICATED: Rule(Action.COOL_AND_SWITCH, "token refused", default_cooldown_s=60.0),
    # invalid_grant: terminal, never transient (field-notes 8).
    ErrorClass.ACCOUNT_DEAD: Rule(Action.DISABLE_AND_SWITCH, RELOGIN, status="dead"),
    # Licence, a project that stayed foreign after one rediscovery: the operator must act; keep the
    # upstream's reason and URL (the activation link for SERVICE_DISABLED).
    ErrorClass.FORBIDDEN: Rule(Action.DISABLE_AND_SWITCH, "forbidden", status="forbidden"),
    # VALIDATION_REQUIRED: the owner verifies (the link is in the reason); banning would lose a good
    # account (§12.6), so it only rests, and long: it will not pass by itself in minutes.
    ErrorClass.VERIFICATION_REQUIRED: Rule(
        Action.COOL_AND_SWITCH, "verification required", default_cooldown_s=3600.0, reason_from_error=True
    ),
    # A Terms of Service ban: dead until an appeal succeeds (24-72 h); the appeal URL is kept.
    ErrorClass.BANNED: Rule(Action.DISABLE_AND_SWITCH, "banned", status="dead"),
    # The upstream refused our client version (a 200 text or a 503): every request on this account
    # with this User-Agent would meet it, so the account rests for long and another one is tried.
    ErrorClass.CLIENT_OUTDATED: Rule(
        Action.COOL_AND_SWITCH, CLIENT_OUTDATED_REASON, default_cooldown_s=3600.0, reason_from_error=True
    ),
    # 5xx, network errors, an empty stream: another account, after a short backoff; the account
    # is not cooled, so one hiccup does not take a live account away (field-notes 13).
    ErrorClass.TRANSIENT: Rule(Action.SWITCH, "upstream error"),
    ErrorClass.INTERRUPTED: Rule(Action.SWITCH, "stream interrupted"),
    # The client's request is at fault: another account would answer the same.
    ErrorClass.BAD_REQUEST: Rule(Action.FAIL, "bad request"),
    # A 404 on generate, or "not available on this version": this account (its tier, its
    # User-Agent) may not serve the model while another does (§12.3); one other account, then the 404.
    ErrorClass.NOT_FOUND: Rule(Action.SWITCH_ONCE, "model not served to this account"),
    # The model is retired: every account says the same. When the provider learned a replacement
    # (`ModelRetired.replacement`), the request is sent again at once, now to the replacement;
    # either way the account's catalogue is read again (refresh_quota).
    ErrorClass.MODEL_RETIRED: Rule(Action.FAIL, "model retired", refresh_quota=True),
}


@dataclass(frozen=True)
class Decision:
    """The filled-in row for one failure."""

    action: Action
    reason: str
    cooldown_s: float = 0.0
    """How long the (account, family) rests; 0 for none."""
    wait_s: float = 0.0
    """How long the request sleeps before its next attempt (the short wait, or the backoff)."""
    status: str | None = None
    """For DISABLE_AND_SWITCH: the account's new status."""
    refresh_quota: bool = False


def decide(
    error: UpstreamError, *, same_account_waits: int = 0, failures: int = 1, earlier_same: int = 0
) -> Decision:
    """The decision for `error`, given how many times this request already waited on this account
    (`same_account_waits`), how many failures it met so far, this one included (`failures`), and
    how many of them were of this error's class before this one (`earlier_same`)."""
    rule = TABLE[error.error_class]
    if isinstance(error, ModelRetired) and error.replacement and earlier_same == 0:
        return Decision(Action.RETRY_SAME, rule.reason, refresh_quota=True)
    if rule.action == Action.SWITCH_ONCE:
        return Decision(Action.SWITCH if earlier_same == 0 else Action.FAIL, rule.reason)
    delay = error.seconds_until_reset()
    if error.error_class == ErrorClass.RATE_LIMITED and delay is not None and delay < SHORT_RATE_LIMIT_S:
        if same_account_waits < SAME_ACCOUNT_RETRIES:
            # The brief cooldown keeps other requests off the account while this one waits for it.
            return Decision(
                Action.RETRY_SAME, rule.reason, cooldown_s=delay, wait_s=delay + SHORT_RETRY_MARGIN_S
            )
        delay = max(delay, 1.0)
    if rule.action == Action.COOL_AND_SWITCH:
        cooldown = delay if delay is not None and delay > 0 else rule.default_cooldown_s
        if rule.max_cooldown_s is not None:
            cooldown = min(cooldown, rule.max_cooldown_s)
        reason = f"{rule.reason}: {error.message}" if rule.reason_from_error else rule.reason
        return Decision(rule.action, reason, cooldown_s=cooldown, refresh_quota=rule.refresh_quota)
    if rule.action == Action.DISABLE_AND_SWITCH:
        return Decision(rule.action, _disable_reason(error, rule), status=rule.status)
    if rule.action == Action.SWITCH:
        return Decision(rule.action, rule.reason, wait_s=min(BACKOFF_STEP_S * failures, BACKOFF_CAP_S))
    return Decision(rule.action, rule.reason)


def _disable_reason(error: UpstreamError, rule: Rule) -> str:
    """What `accounts list` shows: "re-login needed…" for a dead token, the upstream's words for a 403."""
    if error.error_class == ErrorClass.ACCOUNT_DEAD:
        detail = error.reason or ""
        if detail.startswith(RELOGIN):
            return detail
        return f"{RELOGIN}: {detail}" if detail else RELOGIN
    return error.message or error.reason or rule.reason
