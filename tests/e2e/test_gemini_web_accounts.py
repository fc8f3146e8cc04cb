"""Gemini web accounts under failure: dead cookies, usage limits (1037), IP blocks (1060), and cookie
rotation that survives a gateway restart."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from switchyard.store import accounts
from switchyard.store.tables import Account
from tests.conftest import create_key, make_settings
from tests.web_stack import WebStack, emulator_proxy, serve_gateway, web_stack


def _ask(stack: Any, model: str = "gemini-3-pro", text: str = "hello") -> str:
    answer = stack.client().chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
    return answer.choices[0].message.content or ""


def test_dead_cookies_mark_the_account_dead_and_the_other_serves(tmp_path: Path) -> None:
    with web_stack(tmp_path) as stack:
        stack.control.post("/_control/accounts/gemini-web-1/expire").raise_for_status()
        for index in range(3):
            assert _ask(stack, text=f"question {index}").startswith(f"Echo: question {index}")
        dead = stack.account("gemini-web-1")
        assert dead.status == "dead"
        assert dead.status_reason and "cookies expired" in dead.status_reason
        assert stack.account("gemini-web-2").status == "active"
        served = {r["account"] for r in stack.generate_requests()}
        assert served == {"gemini-web-2"}


def test_usage_limit_1037_cools_that_model_and_fails_over(tmp_path: Path) -> None:
    with web_stack(tmp_path) as stack:
        stack.fault("usage_limit", match={"model": "gemini-pro"}, times=1)
        assert _ask(stack, text="hard question").startswith("Echo: hard question")
        sent = stack.generate_requests()
        assert len(sent) == 2 and sent[0]["account"] != sent[1]["account"]
        limited = stack.account(sent[0]["account"])
        states = {m.model: m for m in limited.models}
        assert states["gemini-pro"].cooldown_until and states["gemini-pro"].cooldown_until > time.time()
        assert limited.status == "active"
        # the other models of the limited account still work
        assert "gemini-flash" not in states or not states["gemini-flash"].cooldown_until


def test_ip_block_1060_rests_the_whole_account(tmp_path: Path) -> None:
    with web_stack(tmp_path) as stack:
        stack.fault("ip_blocked", times=1)
        assert _ask(stack, text="blocked?").startswith("Echo: blocked?")
        blocked = stack.account(stack.generate_requests()[0]["account"])
        cooling = {m.model for m in blocked.models if m.cooldown_until and m.cooldown_until > time.time()}
        assert {"gemini-flash", "gemini-flash-thinking", "gemini-pro"} <= cooling


def _files_holding(folder: Path, secrets: list[str]) -> list[Path]:
    """Files under `folder` whose name or content holds any of `secrets` in clear."""
    found = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        content = path.read_bytes()
        named = ".cached_cookies" in path.name or any(secret in path.name for secret in secrets)
        if named or any(secret.encode() in content for secret in secrets):
            found.append(path)
    return found


def test_rotated_cookie_is_sealed_in_the_store_and_used_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library_cache = tmp_path / "library-cookies"
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(library_cache))
    with emulator_proxy(tmp_path) as (proxy, control):
        settings = make_settings(
            tmp_path,
            gemini_web_ca_bundle=proxy.ca_path,
            accounts_reload_interval_s=0.0,
            gemini_web_refresh_interval_s=0.3,
        )
        stack = WebStack(gateway="", proxy=proxy, control=control, settings=settings)
        cookies = stack.add_account("gemini-web-1")
        original = cookies["psidts"]
        stack.key = create_key(settings)

        def stored() -> str:
            return str(
                stack.run(lambda store: accounts.upstream_account(store, "gemini-web-1")).secret["psidts"]
            )

        with serve_gateway(settings) as gateway:
            stack.gateway = gateway
            _ask(stack, model="gemini-2.5-flash-free")
            deadline = time.monotonic() + 15
            while stored() == original:
                assert time.monotonic() < deadline, "the cookies were never rotated"
                time.sleep(0.2)
        stack.close_clients()
        rotated = stored()
        assert any(r["path"] == "/RotateCookies" for r in stack.requests("gemini-web-1"))

        async def raw_secret(store: Any) -> str:
            async with store.sessions() as session:
                return str(await session.scalar(select(Account.secret).where(Account.name == "gemini-web-1")))

        sealed = stack.run(raw_secret)
        assert rotated not in sealed and original not in sealed  # encrypted at rest
        # nothing else on disk holds them either: the library's cookie cache was never written,
        # not after the rotation, not at shutdown (issue 17 #5)
        assert _files_holding(tmp_path, [cookies["psid"], original, rotated]) == []
        assert not library_cache.exists() or not any(library_cache.iterdir())

        # restart: same store, no trace of the library's own cookie cache, no more rotation
        shutil.rmtree(library_cache, ignore_errors=True)
        stack.reset()
        restarted = settings.model_copy(update={"gemini_web_refresh_interval_s": 3600.0})
        with serve_gateway(restarted) as gateway:
            stack.gateway = gateway
            assert _ask(stack, model="gemini-2.5-flash-free", text="after restart").startswith(
                "Echo: after restart"
            )
        stack.close_clients()
        first = stack.requests("gemini-web-1")[0]
        assert first["path"] == "/app" and first["logged_in"]
        assert f"__Secure-1PSIDTS=…{rotated[-4:]}" in first["headers"]["cookie"]
