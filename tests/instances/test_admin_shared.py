"""Console logouts and the wrong-admin-key brake hold across instances (Redis, `admin/auth_redis.py`)."""

from __future__ import annotations

import re

import httpx

from switchyard.admin.auth import SESSION_COOKIE
from switchyard.config import Settings
from tests.instances.cluster import ADMIN_KEY, instances, shared_settings


def _csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:200]
    return match.group(1)


def _log_in(browser: httpx.Client) -> str:
    form = browser.get("/admin/login")
    reply = browser.post("/admin/login", data={"admin_key": ADMIN_KEY, "csrf_token": _csrf(form)})
    assert reply.status_code == 303, reply.text
    return str(browser.cookies[SESSION_COOKIE])


def test_a_console_logout_on_one_instance_ends_the_session_on_the_others(settings: Settings) -> None:
    settings = shared_settings(settings)
    with (
        instances(settings, 2) as (a, b),
        httpx.Client(base_url=a) as browser,
        httpx.Client(base_url=b) as on_b,
    ):
        cookie = _log_in(browser)
        csrf = _csrf(browser.get("/admin/keys"))
        on_b.cookies.set(SESSION_COOKIE, cookie)
        assert on_b.get("/admin/api/keys").status_code == 200  # the same cookie works on b

        assert browser.post("/admin/logout", data={"csrf_token": csrf}).status_code == 303
        refused = on_b.get("/admin/api/keys")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "missing_admin_key"
        create = on_b.post("/admin/api/keys", json={"name": "after-logout"}, headers={"x-csrf-token": csrf})
        assert create.status_code == 401
        assert on_b.get("/admin/keys").status_code == 303  # the console sends it to the login page


def test_wrong_admin_keys_count_on_every_instance(settings: Settings) -> None:
    """Ten wrong keys a minute per address in all: six on one instance and four on another brake
    the third, which has seen none (each alone would allow ten)."""
    settings = shared_settings(settings)
    with instances(settings, 3) as (a, b, c):
        for url, guesses in ((a, 6), (b, 4)):
            for _ in range(guesses):
                wrong = httpx.get(f"{url}/admin/api/keys", headers={"authorization": "Bearer guess"})
                assert wrong.json()["error"]["code"] == "invalid_admin_key"
        braked = httpx.get(f"{c}/admin/api/keys", headers={"authorization": f"Bearer {ADMIN_KEY}"})
        assert braked.status_code == 401 and braked.json()["error"]["code"] == "admin_key_throttled"
        assert 1 <= int(braked.headers["retry-after"]) <= 60
