"""The operator console in a real headless Chromium (Debian's, driven by Playwright): log in, create a
key, sign an Antigravity account in through the OAuth emulator's consent page, check it, make a
request with the new key and find it on the Requests page and the dashboard chart. Screenshots of
every page at desktop and phone width land in docs/screenshots/."""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchyard.store.db import Store
from switchyard.store.tables import UsageEvent
from tests.admin.conftest import ADMIN_KEY, admin_client, generate
from tests.conftest import run_with_store
from tests.stack import Stack, antigravity_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing under CI: .ci/run installs Debian's chromium", pytrace=False)
    pytest.skip(
        f"{CHROMIUM} is missing: apt-get install chromium chromium-driver to run the console's browser tests",
        allow_module_level=True,
    )

from playwright.sync_api import BrowserContext, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with antigravity_stack(
        tmp_path_factory.mktemp("console"), accounts_count=0, admin_key=ADMIN_KEY
    ) as running:
        # A consent page with an "Allow" button, like Google's, instead of consenting at once.
        httpx.post(f"{running.oauth}/_control/settings", json={"auto_consent": False}).raise_for_status()
        yield running


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with sync_playwright() as playwright:
        browser_context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=DESKTOP,
        )
        browser_context.set_default_timeout(15_000)
        try:
            yield browser_context
        finally:
            browser_context.close()


@pytest.fixture(scope="module")
def page(context: BrowserContext) -> Page:
    return context.pages[0] if context.pages else context.new_page()


def shoot(page: Page, name: str) -> None:
    """The page at desktop and phone width; the viewport is left at desktop width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def log_in(page: Page, stack: Stack, key: str) -> Any:
    page.context.clear_cookies()
    page.goto(f"{stack.gateway}/admin")
    page.fill("#admin-key", key)
    with page.expect_navigation() as navigation:
        page.click("#login-submit")
    return navigation.value


def test_a_wrong_admin_key_is_refused(page: Page, stack: Stack) -> None:
    response = log_in(page, stack, "not-the-admin-key")
    assert response.status == 401
    expect(page.locator("#login-error")).to_contain_text("not the admin key")
    page.fill("#admin-key", "")
    shoot(page, "login")
    page.goto(f"{stack.gateway}/admin/keys")
    assert page.url.startswith(f"{stack.gateway}/admin/login")


def test_the_console_from_login_to_a_request_on_the_dashboard(page: Page, stack: Stack) -> None:
    log_in(page, stack, ADMIN_KEY)
    assert page.url.rstrip("/") == f"{stack.gateway}/admin"
    expect(page.locator("h1")).to_have_text("Dashboard")

    # Keys: create one with a quota; it is shown once, then listed by name.
    page.click("nav >> text=Keys")
    page.fill("#create-key input[name=name]", "browser-key")
    page.fill("#create-key input[name=quota_requests]", "100/day")
    page.fill("#create-key input[name=rpm]", "60")
    page.click("#create-key button[type=submit]")
    key = page.locator("#new-key").inner_text().strip()
    assert key.startswith("sk-sy-")
    expect(page.locator("#key-list tr[data-key='browser-key']")).to_contain_text("100/day requests")

    # Accounts: sign in with Google (the emulator's consent page), back to the console.
    page.click("nav >> text=Accounts")
    page.click("#google-sign-in")
    expect(page.locator("#allow")).to_be_visible()
    assert page.url.startswith(stack.oauth)
    page.click("#allow")
    page.wait_for_url(f"{stack.gateway}/admin/accounts")
    expect(page.locator("#flash")).to_contain_text("Added")
    card = page.locator("#provider-antigravity article.account").first
    expect(card).to_be_visible()
    account = card.get_attribute("data-account")
    assert account

    # "Check now" reads the quota from the emulator: every family has a filled bar.
    page.click("#check-all")
    expect(page.locator("#flash")).to_contain_text("ok")
    fills = page.locator(f"article[data-account='{account}'] .quota .fill")
    assert fills.count() >= 2
    widths = [
        fills.nth(i).evaluate("node => node.getBoundingClientRect().width") for i in range(fills.count())
    ]
    assert all(width > 0 for width in widths)
    expect(page.locator(f"article[data-account='{account}'] time[data-countdown]").first).to_contain_text(
        "in "
    )

    # A request with the new key, plus a little traffic so the screenshots have something to show.
    assert generate(stack, key).status_code == 200
    # (Through the admin API: Playwright's sync API owns this thread's event loop.)
    with admin_client(stack) as api:
        other = api.post("/admin/api/keys", json={"name": "ci-runner"}).json()["key"]
    for model in ("gemini-2.5-pro", "gemini-3-flash", "claude-sonnet-4-5", "gemini-2.5-flash"):
        generate(stack, other, model=model)
    generate(stack, other, model="no-such-model")
    shoot(page, "accounts")

    page.click("nav >> text=Requests")
    row = page.locator("#request-log tbody tr", has_text="browser-key")
    _reload_until(page, row)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(account)
    expect(row).to_contain_text("gemini-2.5-flash")
    expect(row).to_contain_text("200")
    page.select_option("#request-filters select[name=key]", "browser-key")
    page.click("#request-filters button[type=submit]")
    expect(page.locator("#request-log tbody tr")).to_have_count(1)
    page.goto(f"{stack.gateway}/admin/requests")
    shoot(page, "requests")

    page.click("nav >> text=Dashboard")
    page.click(".segmented[aria-label='Group by'] >> text=Key")
    expect(page.locator("#legend")).to_contain_text("browser-key")
    expect(page.locator("#chart-requests rect.seg[data-group='browser-key']")).to_have_count(1)
    expect(page.locator("#account-states")).to_contain_text("antigravity")
    seed_history(stack)
    page.goto(f"{stack.gateway}/admin?range=hour&by=model")
    shoot(page, "dashboard")

    page.goto(f"{stack.gateway}/admin/keys")
    shoot(page, "keys")

    page.click("nav >> text=Models")
    expect(page.locator("#models")).to_contain_text("claude-sonnet-4-6")
    expect(page.locator("#models")).to_contain_text("claude-sonnet-4-5-thinking")
    shoot(page, "models")


def seed_history(stack: Stack) -> None:
    """An hour of plausible traffic under other key names, so the dashboard screenshot shows
    charts rather than one bar. Written from a thread: Playwright owns this thread's event loop."""
    rng = random.Random(7)
    now = time.time()
    models = ["gemini-2.5-flash", "gemini-2.5-flash", "gemini-3-flash", "claude-sonnet-4-5", "gemini-2.5-pro"]
    events = []
    for index in range(240):
        ago = rng.uniform(60, 3540)
        status = rng.choices([200, 429, 502], weights=[92, 6, 2])[0]
        ttfb = rng.lognormvariate(6.2, 0.4) * (1 + 0.6 * math.sin(ago / 600))
        events.append(
            UsageEvent(
                created_at=now - ago,
                request_id=f"seed-{index}",
                key_name=rng.choice(["mobile-app", "batch-jobs", "ci-runner"]),
                surface="openai",
                provider="antigravity",
                model=rng.choice(models),
                account=rng.choice(["antigravity-1", "antigravity-2"]),
                status=status,
                error_class=None if status == 200 else "rate_limited" if status == 429 else "transient",
                prompt_tokens=rng.randint(200, 3000) if status == 200 else 0,
                completion_tokens=rng.randint(50, 1500) if status == 200 else 0,
                latency_ms=ttfb * rng.uniform(2, 8),
                ttfb_ms=ttfb,
            )
        )

    async def insert(store: Store) -> None:
        async with store.sessions() as session:
            session.add_all(events)
            await session.commit()

    worker = threading.Thread(target=run_with_store, args=(stack.settings, insert))
    worker.start()
    worker.join()


def _reload_until(page: Page, locator: Any, timeout_s: float = 5.0) -> None:
    """Usage events are written in batches: reload until the row is there."""
    deadline = time.monotonic() + timeout_s
    while locator.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        page.reload()


def test_a_form_post_without_the_csrf_token_is_refused(
    page: Page, stack: Stack, context: BrowserContext
) -> None:
    log_in(page, stack, ADMIN_KEY)
    refused = context.request.post(f"{stack.gateway}/admin/keys", form={"name": "forged"})
    assert refused.status == 403
    assert "did not come from the console" in refused.text()
    forged = context.request.post(
        f"{stack.gateway}/admin/keys", form={"name": "forged", "csrf_token": "guessed"}
    )
    assert forged.status == 403
    page.goto(f"{stack.gateway}/admin/keys")
    expect(page.locator("#key-list tr[data-key='forged']")).to_have_count(0)
