"""Admin authentication over HTTP: the generated key, the login page, session cookies, CSRF, logout."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import httpx
import pytest

from switchyard.admin.auth import KEY_HASH_FILE, SESSION_COOKIE, hash_admin_key
from switchyard.app import create_app
from tests.admin.conftest import ADMIN_KEY
from tests.conftest import make_settings
from tests.servers import serve
from tests.stack import Stack


def _log_in(client: httpx.Client, key: str, next_page: str = "/admin") -> httpx.Response:
    form = client.get("/admin/login", params={"next": next_page})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    return client.post(
        "/admin/login", data={"admin_key": key, "csrf_token": token.group(1), "next": next_page}
    )


def _csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_a_generated_admin_key_is_printed_once_and_only_its_hash_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path)
    with serve(create_app(settings)) as url:
        printed = capsys.readouterr().out
        key = re.search(r"admin key \(shown once.*\): (\S+)", printed)
        assert key, printed
        hash_file = settings.data_dir / KEY_HASH_FILE
        assert stat.S_IMODE(hash_file.stat().st_mode) == 0o600
        assert hash_file.read_text().strip() == hash_admin_key(key.group(1))
        assert key.group(1) not in "".join(
            p.read_text(errors="ignore") for p in settings.data_dir.glob("admin*")
        )
        headers = {"Authorization": f"Bearer {key.group(1)}"}
        assert httpx.get(f"{url}/admin/api/keys", headers=headers).status_code == 200
    with serve(create_app(settings)) as url:
        assert "admin key" not in capsys.readouterr().out
        assert httpx.get(f"{url}/admin/api/keys", headers=headers).status_code == 200


def test_a_configured_admin_key_writes_no_key_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, admin_key=ADMIN_KEY)
    with serve(create_app(settings)) as url:
        assert (
            httpx.get(f"{url}/admin/api/keys", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code
            == 200
        )
    assert not (settings.data_dir / KEY_HASH_FILE).exists()
    assert "admin key" not in capsys.readouterr().out


def test_login_sets_a_locked_down_session_cookie_and_logout_ends_it(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway) as browser:
        assert browser.get("/admin/keys").headers["location"] == "/admin/login?next=/admin/keys"
        wrong = _log_in(browser, "nope")
        assert wrong.status_code == 401 and "not the admin key" in wrong.text
        assert SESSION_COOKIE not in browser.cookies

        response = _log_in(browser, ADMIN_KEY, "/admin/keys")
        assert response.status_code == 303 and response.headers["location"] == "/admin/keys"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie
        assert ADMIN_KEY not in cookie

        page = browser.get("/admin/keys")
        assert page.status_code == 200 and ADMIN_KEY not in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        session = browser.cookies[SESSION_COOKIE]

        assert browser.post("/admin/logout", data={"csrf_token": _csrf(page)}).status_code == 303
        browser.cookies.set(SESSION_COOKIE, session, path="/admin")  # a copied cookie is dead too
        assert browser.get("/admin/keys").status_code == 303


def test_login_refuses_a_form_without_its_token_and_never_redirects_off_site(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway) as browser:
        forged = browser.post("/admin/login", data={"admin_key": ADMIN_KEY})
        assert forged.status_code == 403 and SESSION_COOKIE not in browser.cookies
        response = _log_in(browser, ADMIN_KEY, "https://evil.example/admin")
        assert response.headers["location"] == "/admin"


def test_session_cookie_api_calls_need_the_csrf_header_to_change_anything(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway) as browser:
        _log_in(browser, ADMIN_KEY)
        token = _csrf(browser.get("/admin/keys"))
        assert browser.get("/admin/api/keys").status_code == 200
        refused = browser.post("/admin/api/keys", json={"name": "via-cookie"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
        created = browser.post(
            "/admin/api/keys", json={"name": "via-cookie"}, headers={"X-CSRF-Token": token}
        )
        assert created.status_code == 201


def test_form_posts_without_the_csrf_token_are_refused(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway) as browser:
        _log_in(browser, ADMIN_KEY)
        for path, data in (
            ("/admin/keys", {"name": "forged"}),
            ("/admin/accounts/antigravity-1/delete", {}),
            ("/admin/accounts/gemini-web", {"psid": "forged-cookie"}),
            ("/admin/logout", {}),
        ):
            response = browser.post(path, data={**data, "csrf_token": "wrong"})
            assert response.status_code == 403, path
            assert browser.post(path, data=data).status_code == 403, path
        assert browser.get("/admin/api/keys").json() == []
        assert [a["name"] for a in browser.get("/admin/api/accounts").json()] == ["antigravity-1"]


def test_wrong_admin_keys_are_braked_per_address_with_401(stack: Stack) -> None:
    """After ten wrong keys in a minute no key from that address is even evaluated (the right one
    included), each answer a documented 401 with Retry-After; a session cookie keeps working."""
    with httpx.Client(base_url=stack.gateway) as browser:
        assert _log_in(browser, ADMIN_KEY).status_code == 303  # a session, before the flood
        for _ in range(10):
            wrong = httpx.get(f"{stack.gateway}/admin/api/keys", headers={"Authorization": "Bearer guess"})
            assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_admin_key"
        for key in ("another-guess", ADMIN_KEY):
            braked = httpx.get(f"{stack.gateway}/admin/api/keys", headers={"Authorization": f"Bearer {key}"})
            assert braked.status_code == 401, braked.text
            assert braked.json()["error"]["code"] == "admin_key_throttled"
            assert 1 <= int(braked.headers["retry-after"]) <= 60
        with httpx.Client(base_url=stack.gateway) as other_browser:
            login = _log_in(other_browser, ADMIN_KEY)
        assert login.status_code == 401 and "Too many wrong keys" in login.text
        assert 1 <= int(login.headers["retry-after"]) <= 60
        assert browser.get("/admin/api/keys").status_code == 200  # the earlier session still works
