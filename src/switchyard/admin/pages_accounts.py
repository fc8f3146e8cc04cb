"""The Accounts page: per provider, each account's state, per-family quota bars with reset countdowns,
cooldowns and their reasons, the last error; enable/disable/delete/check; and the ways to add
accounts: Google sign-in, a pasted refresh token, pasted Gemini web cookies, an imported file.

The sign-in is the same authorization-code flow as `switchyard accounts login antigravity`
(`accounts.login`), with this gateway's `/admin/accounts/oauth/callback` as the redirect URI. The
`state` rides in a signed, HttpOnly cookie rather than server memory, so the callback may land on
any instance behind a load balancer. Where Google cannot redirect to the gateway (the Antigravity
client only allows loopback addresses), the operator pastes the address the browser ended on.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from switchyard.accounts import login, service
from switchyard.accounts.service import CheckResult
from switchyard.admin import actions
from switchyard.admin.api_accounts import CALLBACK_ROUTE, console_callback_url
from switchyard.admin.deps import admin_auth, runtime_of, store_of
from switchyard.admin.pages_common import (
    CheckedForm,
    PageRoute,
    Session,
    optional,
    redirect,
    render,
    text,
    upload,
)
from switchyard.errors import SwitchyardError
from switchyard.store.accounts import AccountPublic, ModelStatePublic

PAGE = "/admin/accounts"
OAUTH_COOKIE = "switchyard_oauth"
OAUTH_TTL_S = 900


def cooling_families(account: AccountPublic, now: float | None = None) -> list[ModelStatePublic]:
    now = time.time() if now is None else now
    return [m for m in account.models if m.cooldown_until is not None and m.cooldown_until > now]


def quota_level(remaining: float | None) -> str:
    if remaining is None:
        return "unknown"
    return "good" if remaining > 0.5 else "low" if remaining > 0.2 else "critical"


def _check_message(results: list[CheckResult]) -> tuple[str, str]:
    failed = [r for r in results if r.failed]
    if not results:
        return "ok", "No accounts to check."
    if len(results) == 1:
        result = results[0]
        return ("error" if result.failed else "ok"), f"{result.name}: {result.outcome} — {result.message}"
    summary = f"Checked {len(results)} accounts: {len(results) - len(failed)} fine, {len(failed)} failing"
    if failed:
        summary += " (" + ", ".join(f"{r.name}: {r.outcome}" for r in failed[:5]) + ")"
    return ("error" if failed else "ok"), summary + "."


def _encode(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def _decode(payload: str | None) -> dict[str, Any] | None:
    if payload is None:
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def build_accounts_pages() -> APIRouter:
    router = APIRouter(route_class=PageRoute)

    @router.get("/accounts")
    async def accounts_page(request: Request, session: Session) -> Response:
        listed = await service.list_accounts(store_of(request))
        by_provider: dict[str, list[AccountPublic]] = {"antigravity": [], "gemini-web": []}
        for account in listed:
            by_provider.setdefault(service.display_provider(account.provider), []).append(account)
        context = {
            "page": "accounts",
            "by_provider": by_provider,
            "state_of": service.account_state,
            "cooling": cooling_families,
            "level": quota_level,
            "pending_login": _decode(admin_auth(request).unsign("oauth", request.cookies.get(OAUTH_COOKIE))),
        }
        return render(request, "accounts.html", context, session=session)

    @router.post("/accounts/oauth/start")
    async def oauth_start(request: Request, form: CheckedForm, session: Session) -> Response:
        runtime, redirect_uri = runtime_of(request), console_callback_url(request)
        name = optional(form, "name")
        try:
            hint = await login.login_hint_for(store_of(request), name)
            started = login.new_login(runtime.settings, redirect_uri, login_hint=hint)
        except SwitchyardError as exc:
            return redirect(request, PAGE, "error", exc.message)
        pending = {
            "state": started.state,
            "redirect_uri": redirect_uri,
            "name": name,
            "proxy": optional(form, "proxy"),
        }
        response = RedirectResponse(started.auth_url, status_code=303)
        response.set_cookie(
            OAUTH_COOKIE,
            admin_auth(request).sign("oauth", _encode(pending), OAUTH_TTL_S),
            max_age=OAUTH_TTL_S,
            path="/admin/accounts",
            httponly=True,
            samesite="lax",  # sent on Google's cross-site redirect back (a top-level GET)
            secure=request.url.scheme == "https",
        )
        return response

    @router.get("/accounts/oauth/callback", name=CALLBACK_ROUTE)
    async def oauth_callback(request: Request, session: Session) -> Response:
        return await _finish(request, str(request.url))

    @router.post("/accounts/oauth/paste")
    async def oauth_paste(request: Request, form: CheckedForm, session: Session) -> Response:
        return await _finish(request, text(form, "callback_url"))

    @router.post("/accounts/antigravity")
    async def add_antigravity(request: Request, form: CheckedForm, session: Session) -> Response:
        try:
            account, result = await actions.add_antigravity(
                runtime_of(request),
                store_of(request),
                refresh_token=text(form, "refresh_token"),
                project_id=optional(form, "project_id"),
                name=optional(form, "name"),
                proxy=optional(form, "proxy"),
                user_agent=optional(form, "user_agent"),
            )
        except SwitchyardError as exc:
            return redirect(request, PAGE, "error", exc.message)
        kind, message = _check_message([result] if result else [])
        return redirect(request, PAGE, kind, f"Added {account.name}. {message}")

    @router.post("/accounts/gemini-web")
    async def add_gemini_web(request: Request, form: CheckedForm, session: Session) -> Response:
        try:
            account = await actions.add_gemini_web(
                runtime_of(request),
                store_of(request),
                psid=text(form, "psid"),
                psidts=optional(form, "psidts"),
                name=optional(form, "name"),
                proxy=optional(form, "proxy"),
            )
        except SwitchyardError as exc:
            return redirect(request, PAGE, "error", exc.message)
        return redirect(request, PAGE, "ok", f"Added {account.name}.")

    @router.post("/accounts/import")
    async def import_file(request: Request, form: CheckedForm, session: Session) -> Response:
        file = upload(form, "file")
        if file is None:
            return redirect(request, PAGE, "error", "Choose a file to import.")
        try:
            report = await actions.import_upload(
                runtime_of(request),
                store_of(request),
                await file.read(),
                file.filename or "upload.txt",
                optional(form, "provider"),
                optional(form, "proxy"),
            )
        except SwitchyardError as exc:
            return redirect(request, PAGE, "error", exc.message)
        message = f"Imported {len(report.imported)}, skipped {len(report.skipped)}."
        if report.skipped:
            message += " " + "; ".join(f"{s.source}: {s.reason}" for s in report.skipped[:3])
        return redirect(request, PAGE, "ok" if report.imported else "error", message)

    @router.post("/accounts/check")
    async def check_all(request: Request, form: CheckedForm, session: Session) -> Response:
        return await _check(request, [])

    @router.post("/accounts/{name}/check")
    async def check_one(request: Request, name: str, form: CheckedForm, session: Session) -> Response:
        return await _check(request, [name])

    @router.post("/accounts/{name}/user-agent")
    async def set_user_agent(request: Request, name: str, form: CheckedForm, session: Session) -> Response:
        try:
            account = await actions.set_user_agent(
                runtime_of(request), store_of(request), name, optional(form, "user_agent")
            )
        except SwitchyardError as exc:
            return redirect(request, PAGE, "error", exc.message)
        shown = account.user_agent or "the gateway's setting"
        return redirect(request, PAGE, "ok", f"{name} now sends User-Agent: {shown}.")

    @router.post("/accounts/{name}/{action}")
    async def change(
        request: Request, name: str, action: str, form: CheckedForm, session: Session
    ) -> Response:
        if action not in ("enable", "disable", "delete"):
            return redirect(request, PAGE, "error", f"Unknown action {action!r}.")
        runtime, store = runtime_of(request), store_of(request)
        try:
            if action == "delete":
                await actions.delete_account(runtime, store, name)
            else:
                await actions.set_account_enabled(runtime, store, name, action == "enable")
        except SwitchyardError as exc:
            return redirect(request, PAGE, "error", exc.message)
        return redirect(request, PAGE, "ok", f"{action.capitalize()}d {name}.")

    return router


async def _check(request: Request, names: list[str]) -> Response:
    try:
        results = await actions.check(runtime_of(request), store_of(request), names)
    except SwitchyardError as exc:
        return redirect(request, PAGE, "error", exc.message)
    kind, message = _check_message(results)
    return redirect(request, PAGE, kind, message)


async def _finish(request: Request, callback: str) -> Response:
    """Finish a sign-in started by this browser: the state must match the signed cookie's."""
    pending = _decode(admin_auth(request).unsign("oauth", request.cookies.get(OAUTH_COOKIE)))
    if pending is None:
        return redirect(
            request, PAGE, "error", "This sign-in was not started here or has expired; start again."
        )
    try:
        outcome, result = await actions.finish_sign_in(
            runtime_of(request),
            store_of(request),
            callback=callback,
            state=str(pending["state"]),
            redirect_uri=str(pending["redirect_uri"]),
            name=pending.get("name"),
            proxy=pending.get("proxy"),
        )
    except SwitchyardError as exc:
        return redirect(request, PAGE, "error", exc.message)
    verb = "Added" if outcome.created else "Signed in again"
    kind, message = _check_message([result] if result else [])
    response = redirect(
        request,
        PAGE,
        kind,
        f"{verb} {outcome.account.name} ({outcome.account.email or 'no email'}). {message}",
    )
    response.delete_cookie(OAUTH_COOKIE, path="/admin/accounts")
    return response
