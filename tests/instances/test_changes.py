"""Key and account changes reach every instance at once (Redis pub/sub, `shared/changes.py`).

The instances' caches live 600 s here, so nothing but a change notice explains an instance seeing
a change within the half second the tests allow. The delays measured are printed (`-s`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from switchyard.config import Settings
from tests.instances.cluster import admin_headers, instances, shared_settings, wait_until
from tests.stack import antigravity_stack

MODELS = "/antigravity/v1/models"


def _status(base_url: str, key: str) -> int:
    return httpx.get(base_url + MODELS, headers={"authorization": f"Bearer {key}"}).status_code


def _create_key(base_url: str, name: str, key: str | None = None) -> str:
    body = {"name": name} | ({"key": key} if key else {})
    reply = httpx.post(f"{base_url}/admin/api/keys", json=body, headers=admin_headers())
    assert reply.status_code == 201, reply.text
    return str(reply.json()["key"])


def test_a_key_disabled_or_deleted_on_one_instance_is_refused_on_the_others(store_settings: Settings) -> None:
    settings = shared_settings(store_settings)
    with instances(settings, 3) as (a, b, c):
        key = _create_key(a, "shared")
        assert [_status(url, key) for url in (a, b, c)] == [200, 200, 200]  # cached everywhere now

        httpx.post(f"{a}/admin/api/keys/shared/disable", headers=admin_headers()).raise_for_status()
        delays = [wait_until(lambda url=url: _status(url, key) == 403) for url in (b, c)]
        print(f"disable seen after {[round(d * 1000, 1) for d in delays]} ms")

        httpx.post(f"{b}/admin/api/keys/shared/enable", headers=admin_headers()).raise_for_status()
        wait_until(lambda: _status(a, key) == 200 and _status(c, key) == 200)

        httpx.delete(f"{c}/admin/api/keys/shared", headers=admin_headers()).raise_for_status()
        delays = [wait_until(lambda url=url: _status(url, key) == 401) for url in (a, b)]
        print(f"delete seen after {[round(d * 1000, 1) for d in delays]} ms")


def test_a_key_created_on_one_instance_works_on_another_at_once(store_settings: Settings) -> None:
    """Even one presented (and refused) there just before it existed: unknown keys are not cached."""
    settings = shared_settings(store_settings)
    chosen = "sk-chosen-key-0123456789abcdef"
    with instances(settings, 2) as (a, b):
        assert _status(b, chosen) == 401
        _create_key(a, "chosen", chosen)
        assert _status(b, chosen) == 200


def test_an_account_disabled_on_one_instance_is_not_chosen_on_another(tmp_path: Path) -> None:
    with antigravity_stack(tmp_path, accounts_count=1) as stack:
        settings = shared_settings(stack.settings)
        key = stack.create_key()
        body = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}

        def chat(url: str) -> int:
            return httpx.post(
                f"{url}/antigravity/v1/chat/completions",
                json=body,
                headers={"authorization": f"Bearer {key}"},
                timeout=30,
            ).status_code

        with instances(settings, 2) as (a, b):
            assert chat(b) == 200  # b has loaded its account list (kept 600 s)
            reply = httpx.post(f"{a}/admin/api/accounts/antigravity-1/disable", headers=admin_headers())
            reply.raise_for_status()
            delay = wait_until(lambda: chat(b) == 503, within_s=2.0)
            print(f"account disable seen after {delay * 1000:.1f} ms")
            served_before = len(stack.upstream_requests("generateContent"))
            assert chat(b) == 503
            assert len(stack.upstream_requests("generateContent")) == served_before


def _cli(settings: Settings, *args: str) -> str:
    env = {
        **os.environ,
        "SWITCHYARD_DATA_DIR": str(settings.data_dir),
        "SWITCHYARD_REDIS_URL": str(settings.redis_url),
        "SWITCHYARD_REDIS_PREFIX": settings.redis_prefix,
    }
    if settings.database_url:
        env["SWITCHYARD_DATABASE_URL"] = settings.database_url
    done = subprocess.run(
        [sys.executable, "-m", "switchyard", *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_changes_reach_running_instances(settings: Settings) -> None:
    """On SQLite only: the CLI starts in seconds, not milliseconds, and the notice is the same."""
    settings = shared_settings(settings)
    with instances(settings, 2) as (a, b):
        key = _cli(settings, "keys", "create", "--name", "from-cli").strip().splitlines()[-1]
        assert [_status(url, key) for url in (a, b)] == [200, 200]
        _cli(settings, "keys", "disable", "from-cli")
        delays = [wait_until(lambda url=url: _status(url, key) == 403) for url in (a, b)]
        print(f"CLI disable seen after {[round(d * 1000, 1) for d in delays]} ms")


def test_without_redis_one_instance_applies_its_own_admin_changes_at_once(settings: Settings) -> None:
    """No Redis: the notice goes to this process's caches only, at once (they live 600 s here)."""
    settings = shared_settings(settings, redis_url=None)
    with instances(settings, 1) as (gateway,):
        key = _create_key(gateway, "alone")
        assert _status(gateway, key) == 200
        httpx.post(f"{gateway}/admin/api/keys/alone/disable", headers=admin_headers()).raise_for_status()
        assert _status(gateway, key) == 403
