"""THE decision table, row by row (pure: an error in, a decision out)."""

from __future__ import annotations

import time

import pytest

from switchyard.errors import (
    AccountBanned,
    AccountDead,
    AccountForbidden,
    AccountNeedsVerification,
    ClientOutdated,
    ErrorClass,
    ModelRetired,
    ModelVersionGated,
    PromptRefused,
    StreamInterrupted,
    UpstreamBadRequest,
    UpstreamCapacity,
    UpstreamNotFound,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamTransient,
    UpstreamUnauthenticated,
)
from switchyard.pool.decisions import (
    SAME_ACCOUNT_RETRIES,
    SHORT_RETRY_MARGIN_S,
    TABLE,
    Action,
    decide,
)


def test_every_error_class_has_exactly_one_row() -> None:
    assert set(TABLE) == set(ErrorClass)


def test_short_rate_limit_waits_and_retries_the_same_account() -> None:
    decision = decide(UpstreamRateLimited("slow down", retry_after=0.5))
    assert decision.action == Action.RETRY_SAME
    assert decision.wait_s == pytest.approx(0.5 + SHORT_RETRY_MARGIN_S)
    assert decision.cooldown_s == pytest.approx(0.5)  # others stay off it meanwhile
    assert decision.reason == "rate limited"


def test_short_rate_limit_retries_are_bounded_then_the_account_cools() -> None:
    error = UpstreamRateLimited("slow down", retry_after=0.4)
    decision = decide(error, same_account_waits=SAME_ACCOUNT_RETRIES)
    assert decision.action == Action.COOL_AND_SWITCH
    assert decision.cooldown_s == pytest.approx(1.0)


def test_long_rate_limit_cools_for_the_delay_and_switches() -> None:
    decision = decide(UpstreamRateLimited("slow down", retry_after=42.0))
    assert (decision.action, decision.cooldown_s, decision.reason) == (
        Action.COOL_AND_SWITCH,
        42.0,
        "rate limited",
    )


def test_rate_limit_without_delay_cools_briefly() -> None:
    decision = decide(UpstreamRateLimited("Resource has been exhausted"))
    assert decision.action == Action.COOL_AND_SWITCH and decision.cooldown_s == 5.0


def test_quota_exhausted_cools_until_the_parsed_reset_and_asks_for_a_refresh() -> None:
    reset_at = time.time() + 3 * 3600 + 12 * 60
    decision = decide(UpstreamQuotaExhausted("gone", reset_at=reset_at, retry_after=1.0))
    assert decision.action == Action.COOL_AND_SWITCH
    assert decision.cooldown_s == pytest.approx(reset_at - time.time(), abs=2)
    assert decision.reason == "quota exhausted" and decision.refresh_quota


def test_quota_exhausted_without_a_reset_uses_an_hour() -> None:
    decision = decide(UpstreamQuotaExhausted("gone"))
    assert decision.cooldown_s == 3600.0


def test_capacity_switches_with_a_short_capped_cooldown() -> None:
    assert decide(UpstreamCapacity("none")).cooldown_s == 5.0
    assert decide(UpstreamCapacity("none", retry_after=39.0)).cooldown_s == 30.0
    assert decide(UpstreamCapacity("none")).action == Action.COOL_AND_SWITCH


def test_unauthenticated_after_the_providers_refresh_cools_and_switches() -> None:
    decision = decide(UpstreamUnauthenticated("refused"))
    assert (decision.action, decision.cooldown_s, decision.reason) == (
        Action.COOL_AND_SWITCH,
        60.0,
        "token refused",
    )


def test_invalid_grant_disables_the_account_for_relogin() -> None:
    reason = "re-login needed: refresh token revoked or expired (invalid_grant)"
    decision = decide(AccountDead(reason, reason=reason))
    assert (decision.action, decision.status, decision.reason) == (
        Action.DISABLE_AND_SWITCH,
        "dead",
        reason,
    )
    assert decide(AccountDead("no token", reason="no refresh token")).reason == (
        "re-login needed: no refresh token"
    )


def test_forbidden_disables_with_the_upstreams_reason() -> None:
    error = AccountForbidden(
        "Antigravity refused the account's Cloud project: [https://v.example/x]",
        reason="SERVICE_DISABLED",
        url="https://v.example/x",
    )
    decision = decide(error)
    assert decision.action == Action.DISABLE_AND_SWITCH and decision.status == "forbidden"
    assert "https://v.example/x" in decision.reason


@pytest.mark.parametrize("error", [UpstreamTransient("500"), StreamInterrupted("empty")])
def test_transient_switches_with_growing_bounded_backoff_and_no_cooldown(error: Exception) -> None:
    assert isinstance(error, UpstreamTransient | StreamInterrupted)
    waits = [decide(error, failures=n).wait_s for n in (1, 2, 4, 20)]
    assert waits == [0.25, 0.5, 1.0, 2.0]
    assert decide(error).action == Action.SWITCH and decide(error).cooldown_s == 0


@pytest.mark.parametrize(
    "error",
    [
        UpstreamBadRequest("bad"),
        PromptRefused("content filter"),
        ModelRetired("retired", model="claude-sonnet-4-5", replacement_name="Claude Sonnet 4.6"),
    ],
)
def test_client_errors_go_straight_to_the_client(error: Exception) -> None:
    assert isinstance(error, UpstreamBadRequest | ModelRetired)
    decision = decide(error)
    assert decision.action == Action.FAIL and decision.cooldown_s == 0


@pytest.mark.parametrize("error", [UpstreamNotFound("no model"), ModelVersionGated("not on this version")])
def test_a_model_this_account_may_not_serve_is_tried_on_one_other_account(error: Exception) -> None:
    assert isinstance(error, UpstreamNotFound)
    first = decide(error)
    assert first.action == Action.SWITCH and first.cooldown_s == 0 and first.wait_s == 0
    assert decide(error, failures=2, earlier_same=1).action == Action.FAIL


def test_an_outdated_client_rests_the_account_for_long_and_says_how_to_fix_it() -> None:
    decision = decide(ClientOutdated("This version of Antigravity is no longer supported."))
    assert decision.action == Action.COOL_AND_SWITCH and decision.cooldown_s >= 3600
    assert "--user-agent" in decision.reason and "SWITCHYARD_ANTIGRAVITY_USER_AGENT" in decision.reason


def test_verification_rests_the_account_with_the_link_and_does_not_disable_it() -> None:
    url = "https://accounts.google.com/signin/continue?x=1"
    decision = decide(AccountNeedsVerification(f"verify at {url}", reason="VALIDATION_REQUIRED", url=url))
    assert decision.action == Action.COOL_AND_SWITCH and decision.cooldown_s >= 3600
    assert url in decision.reason


def test_a_terms_of_service_ban_marks_the_account_dead_with_the_appeal_url() -> None:
    appeal = "https://support.google.com/appeal"
    decision = decide(AccountBanned(f"ToS. Appeal: {appeal}", reason="TOS_VIOLATION", url=appeal))
    assert decision.action == Action.DISABLE_AND_SWITCH and decision.status == "dead"
    assert appeal in decision.reason and "re-login" not in decision.reason
