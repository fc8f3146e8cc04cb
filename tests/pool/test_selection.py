"""Selection strategies, stickiness and the all-resting message (pure)."""

from __future__ import annotations

import time

from switchyard.pool.resting import format_delay, unavailable
from switchyard.pool.selection import Candidate, prefer_sticky, rank, session_key
from switchyard.pool.state import Cooldown
from switchyard.providers import UpstreamAccount


def test_round_robin_rotates_through_every_account() -> None:
    candidates = [Candidate(1), Candidate(2), Candidate(3)]
    firsts = [rank("round-robin", candidates, turn)[0] for turn in range(6)]
    assert firsts == [1, 2, 3, 1, 2, 3]


def test_least_used_prefers_fewest_running_then_fewest_recent() -> None:
    candidates = [
        Candidate(1, in_flight=2, recent_uses=0),
        Candidate(2, in_flight=0, recent_uses=9),
        Candidate(3, in_flight=0, recent_uses=3),
    ]
    assert rank("least-used", candidates, 0) == [3, 2, 1]


def test_quota_aware_prefers_the_most_quota_and_shares_within_a_band() -> None:
    candidates = [
        Candidate(1, quota_remaining=0.2),
        Candidate(2, quota_remaining=0.93),
        Candidate(3, quota_remaining=0.97, in_flight=1),
        Candidate(4, quota_remaining=None),  # never read: assumed full
    ]
    assert rank("quota-aware", candidates, 0)[-1] == 1
    # 4 (assumed full) shares the top band with 2: both idle, so they take turns.
    assert {rank("quota-aware", candidates, turn)[0] for turn in range(4)} == {2, 4}
    # 0.93 and 0.97 share the 0.9 band: the idle one goes first.
    assert rank("quota-aware", candidates[:3], 0) == [2, 3, 1]


def test_an_account_at_exactly_full_quota_is_not_alone_in_the_top_band() -> None:
    """Issue 16: a fresh account (100 %) took every request while another had 95 % left."""
    fresh, used = Candidate(1, quota_remaining=1.0), Candidate(2, quota_remaining=0.95)
    assert {rank("quota-aware", [fresh, used], turn)[0] for turn in range(2)} == {1, 2}
    busy_fresh = Candidate(1, quota_remaining=1.0, in_flight=2)
    assert rank("quota-aware", [busy_fresh, used], 0)[0] == 2  # same band: the idle one first
    assert rank("quota-aware", [fresh, Candidate(2, quota_remaining=0.85)], 1)[0] == 1


def test_quota_aware_ties_take_turns() -> None:
    candidates = [Candidate(1, quota_remaining=0.5), Candidate(2, quota_remaining=0.55)]
    assert {rank("quota-aware", candidates, turn)[0] for turn in range(2)} == {1, 2}


def test_sticky_account_goes_first_only_while_ready() -> None:
    assert prefer_sticky([1, 2, 3], 3) == [3, 1, 2]
    assert prefer_sticky([1, 2], 3) == [1, 2]
    assert prefer_sticky([1, 2], None) == [1, 2]


def test_session_key_follows_the_first_user_message_and_the_client_key() -> None:
    turn1 = {"contents": [{"role": "user", "parts": [{"text": "plan my trip"}]}]}
    turn2 = {
        "contents": [
            {"role": "user", "parts": [{"text": "plan my trip"}]},
            {"role": "model", "parts": [{"text": "sure"}]},
            {"role": "user", "parts": [{"text": "and hotels?"}]},
        ]
    }
    openai = {"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "plan my trip"}]}
    assert session_key(turn1, 7) == session_key(turn2, 7) == session_key(openai, 7)
    assert session_key(turn1, 7) != session_key(turn1, 8)
    assert session_key(turn1, 7, explicit="abc") != session_key(turn1, 7)
    assert session_key({"contents": []}, 7) is None


def test_format_delay() -> None:
    assert format_delay(3 * 3600 + 12 * 60 - 5) == "3h12m"
    assert format_delay(245) == "4m05s"
    assert format_delay(0.2) == "1s"
    assert format_delay(108 * 3600) == "4d12h"


def _accounts(n: int) -> list[UpstreamAccount]:
    return [UpstreamAccount(id=i, name=f"a{i}", provider="antigravity", secret={}) for i in range(1, n + 1)]


def test_all_resting_message_counts_reasons_and_retry_after_is_the_earliest_reset() -> None:
    now = time.time()
    cooling = {
        1: Cooldown(now + 3 * 3600 + 12 * 60, "quota exhausted"),
        2: Cooldown(now + 5 * 3600, "quota exhausted"),
        3: Cooldown(now + 40, "rate limited"),
    }
    error = unavailable("antigravity", "claude", _accounts(3), cooling, set(), busy=set(), now=now)
    assert error.status == 429
    assert error.message == (
        "All 3 antigravity accounts for claude models are resting: "
        "2 quota exhausted (next reset in 3h12m), 1 rate limited (next reset in 40s)."
    )
    assert error.headers() == {"Retry-After": "40"}


def test_busy_and_failed_accounts_are_named_and_retry_soon() -> None:
    now = time.time()
    cooling = {1: Cooldown(now + 600, "quota exhausted")}
    error = unavailable("antigravity", "claude", _accounts(3), cooling, {2}, busy={3}, now=now)
    assert "1 quota exhausted" in error.message and "1 failed for this request" in error.message
    assert "1 at the concurrency cap" in error.message
    assert error.headers() == {"Retry-After": "1"}
