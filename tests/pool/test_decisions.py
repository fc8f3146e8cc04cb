"""THE decision table, row by row (pure: an error in, a decision out)."""

from __future__ import annotations

import time

import pytest

from switchyard.errors import (
    AccountDead,
    AccountForbidden,
    ErrorClass,
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
        "Antigravity refused the account (verify): [https://v.example/x]",
        reason="VALIDATION_REQUIRED",
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


@pytest.mark.parametrize("error", [UpstreamBadRequest("bad"), UpstreamNotFound("no model")])
def test_client_errors_go_straight_to_the_client(error: Exception) -> None:
    assert isinstance(error, UpstreamBadRequest | UpstreamNotFound)
    decision = decide(error)
    assert decision.action == Action.FAIL and decision.cooldown_s == 0
