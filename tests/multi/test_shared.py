"""Three instances behind a round-robin client behave as one gateway (issue 16).

What is already shared through PostgreSQL and Redis: keys and accounts (the store), usage events
(the store), cooldowns and sticky sessions (Redis, pool/redis_state.py). Each test would go red if
that piece were per instance: run them with `redis_url=""` in `cluster(...)` to see it.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tests.multi.cluster import Cluster, cluster

pytestmark = pytest.mark.postgres  # and Redis: both skip with a reason when unreachable


def _usage_rows(c: Cluster, expected: int, timeout_s: float = 10.0) -> list[dict[str, object]]:
    """The usage events once `expected` are written (each instance flushes every 0.05 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = c.sql("SELECT account, status, key_name FROM usage_events ORDER BY id")
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_requests_in_rotation_are_served_by_every_instance_and_counted_once(tmp_path: Path) -> None:
    with cluster(tmp_path, instances=3, accounts=2) as c:
        key = c.create_key("rotation")
        client = c.client(key)
        replies = [client.generate() for _ in range(6)]
        assert [reply.status_code for reply in replies] == [200] * 6
        assert Counter(reply.instance for reply in replies) == {0: 2, 1: 2, 2: 2}
        assert len(c.seen()) == 6
        rows = _usage_rows(c, 6)
        assert len(rows) == 6
        assert {row["key_name"] for row in rows} == {"rotation"}
        assert {row["status"] for row in rows} == {200}
        assert sorted(str(row["account"]) for row in rows) == sorted(c.seen())


def test_a_key_created_on_one_instance_works_on_the_others_and_the_cli_sees_it(tmp_path: Path) -> None:
    with cluster(tmp_path, instances=3, accounts=1) as c:
        key = c.create_key("made-on-2", instance=2)
        client = c.client(key)
        assert [client.generate(instance=i).status_code for i in (0, 1, 2)] == [200, 200, 200]
        assert "made-on-2" in c.cli("keys", "list", "--json").stdout


def test_a_cooldown_taken_on_one_instance_keeps_the_others_off_the_account(tmp_path: Path) -> None:
    """Round-robin: quota-aware selection would also avoid the account through the quota of 0
    the store learns from the error, hiding whether the cooldown itself is shared."""
    with cluster(tmp_path, instances=3, accounts=2, pool_strategy="round-robin") as c:
        client = c.client(c.create_key())
        for index in (1, 2):  # they have loaded the store's cooldowns: only Redis can tell them now
            assert client.generate(instance=index).status_code == 200
        c.fault("quota_exhausted", reset_delay_s=600)
        assert client.generate(instance=0).status_code == 200
        spent, served = c.seen()[2:]
        assert spent != served
        for _ in range(2):
            for index in (1, 2):
                assert client.generate(instance=index).status_code == 200
        assert c.seen()[4:] == [served] * 4


def test_a_conversation_sticks_to_its_account_across_instances(tmp_path: Path) -> None:
    """Round-robin, so without shared stickiness each instance would move the conversation on:
    every instance first serves one other conversation (its local rotation's turn 0), then the
    sticky one (turn 1, the other account), which must stay where instance 0 put it."""
    with cluster(tmp_path, instances=3, accounts=2, pool_strategy="round-robin") as c:
        client = c.client(c.create_key())
        assert client.generate("the sticky conversation", instance=0).status_code == 200
        home = c.seen()[-1]
        for index in (1, 2):
            assert client.generate(instance=index).status_code == 200
            assert client.generate("the sticky conversation", instance=index).status_code == 200
            assert c.seen()[-1] == home
