"""Console pages: login and logout, the dashboard and the request log; keys and accounts live in
`pages_keys` and `pages_accounts`. All server-rendered; the one script only copies keys, counts
down reset times and asks before deleting."""

from __future__ import annotations

import math
import secrets
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from switchyard.accounts import service as accounts
from switchyard.accounts.models import catalogue_rows
from switchyard.admin import charts, usage_queries
from switchyard.admin.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_TTL_S
from switchyard.admin.deps import CSRF_FIELD, admin_auth, client_address, store_of
from switchyard.admin.pages_accounts import build_accounts_pages, cooling_families
from switchyard.admin.pages_common import CheckedForm, PageRoute, Session, error_page, render, text
from switchyard.admin.pages_keys import build_keys_pages
from switchyard.admin.usage_queries import RequestFilters

RANGE_LABELS = {"hour": "Last hour", "day": "Last day", "week": "Last week"}
BY_LABELS = {"provider": "Provider", "model": "Model", "key": "Key", "account": "Account"}
ACCOUNT_STATES = ("active", "cooling", "disabled", "dead", "forbidden")


def build_pages_router() -> APIRouter:
    router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)
    _login_routes(router)
    _dashboard_routes(router)
    router.include_router(build_keys_pages())
    router.include_router(build_accounts_pages())
    return router


def _safe_next(target: str) -> str:
    """Only a console path: a `next` pointing elsewhere would make the login an open redirect."""
    if target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin"


def _login_routes(router: APIRouter) -> None:
    @router.get("/login")
    async def login_page(request: Request, next: str = "/admin") -> Response:
        if await admin_auth(request).session_id(request.cookies.get(SESSION_COOKIE)):
            return RedirectResponse(_safe_next(next), status_code=303)
        return _login_form(request, next, None, 200)

    @router.post("/login")
    async def login(request: Request) -> Response:
        auth = admin_auth(request)
        form = await request.form()
        token, cookie = form.get(CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE)
        if not isinstance(token, str) or not cookie or not secrets.compare_digest(token, cookie):
            return error_page(request, 403, "The login form expired. Reload the page and try again.")
        target = _safe_next(text(form, "next") or "/admin")
        client = client_address(request)
        wait_s = await auth.throttled(client)
        if wait_s is not None:  # no key is even looked at (see AdminAuth.throttled)
            page = _login_form(request, target, "Too many wrong keys. Wait a minute and try again.", 401)
            page.headers["Retry-After"] = str(max(1, math.ceil(wait_s)))
            return page
        if not auth.check_key(text(form, "admin_key")):
            await auth.note_failure(client)
            return _login_form(request, target, "That is not the admin key.", 401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            auth.new_session(),
            max_age=SESSION_TTL_S,
            path="/admin",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin/login")
        return response

    @router.post("/logout")
    async def logout(request: Request, form: CheckedForm, session: Session) -> Response:
        await admin_auth(request).revoke(session)
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/admin")
        return response


def _login_form(request: Request, target: str, error: str | None, status_code: int) -> Response:
    """The login page with a fresh double-submit token: a cookie and the same value in the form,
    which a page on another site can neither read nor set (login CSRF)."""
    token = secrets.token_urlsafe(18)
    context = {"page": "login", "next": _safe_next(target), "error": error, "login_token": token}
    response = render(request, "login.html", context, session=None, status_code=status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/admin/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _dashboard_routes(router: APIRouter) -> None:
    @router.get("")
    @router.get("/")
    async def dashboard(
        request: Request,
        session: Session,
        range: Annotated[usage_queries.Range, Query()] = "hour",
        by: Annotated[usage_queries.Dimension, Query()] = "provider",
    ) -> Response:
        store = store_of(request)
        series = await usage_queries.usage_series(store, range, by)
        chart_set = {
            "requests": charts.stacked_bars(
                series.requests,
                series.groups,
                unit="requests",
                label="Requests",
                start=series.start,
                bucket_s=series.bucket_s,
            ),
            "errors": charts.stacked_bars(
                series.errors,
                series.groups,
                unit="errors",
                label="Errors",
                start=series.start,
                bucket_s=series.bucket_s,
            ),
            "tokens": charts.stacked_bars(
                series.tokens,
                series.groups,
                unit="tokens",
                label="Tokens",
                start=series.start,
                bucket_s=series.bucket_s,
            ),
            "ttfb": charts.lines(
                series.ttfb_ms,
                series.groups,
                unit="ms",
                label="Time to first byte",
                start=series.start,
                bucket_s=series.bucket_s,
            ),
        }
        legend = [
            {"name": g, "colour": charts.colour(i), "requests": sum(series.requests[g])}
            for i, g in enumerate(series.groups)
        ]
        context = {
            "page": "dashboard",
            "series": series,
            "charts": chart_set,
            "legend": legend,
            "axis": charts.axis_labels(series.start, series.bucket_s, series.buckets),
            "range": range,
            "by": by,
            "ranges": RANGE_LABELS,
            "dimensions": BY_LABELS,
            "account_states": await _accounts_by_state(request),
            "states": ACCOUNT_STATES,
        }
        return render(request, "dashboard.html", context, session=session)

    @router.get("/models")
    async def models_page(request: Request, session: Session) -> Response:
        runtime = request.app.state.runtime
        client = runtime.providers.get("antigravity")
        names = {
            a.id: a.name for a in await accounts.list_accounts(store_of(request)) if a.status == "active"
        }
        rows = catalogue_rows(client.catalogue, names) if client is not None else []
        context = {
            "page": "models",
            "rows": rows,
            "reported": client is not None and client.catalogue.reported(),
        }
        return render(request, "models.html", context, session=session)

    @router.get("/requests")
    async def requests_page(
        request: Request,
        session: Session,
        key: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        status: str | None = None,
        before_id: int | None = None,
    ) -> Response:
        store = store_of(request)
        filters = RequestFilters(
            key=key or None, model=model or None, provider=provider or None, status=status or None
        )
        try:
            rows = await usage_queries.recent_requests(store, filters, limit=100, before_id=before_id)
        except ValueError as exc:
            return error_page(request, 400, str(exc))
        context = {
            "page": "requests",
            "rows": rows,
            "filters": filters,
            "choices": await usage_queries.filter_choices(store),
            "next_before_id": rows[-1].id if len(rows) == 100 else None,
            "log_prompts": request.app.state.runtime.settings.log_prompts,
        }
        return render(request, "requests.html", context, session=session)


async def _accounts_by_state(request: Request) -> dict[str, Counter[str]]:
    """provider → state → count; `cooling` counts enabled accounts resting on at least one family."""
    result: dict[str, Counter[str]] = {}
    for account in await accounts.list_accounts(store_of(request)):
        state = accounts.account_state(account)
        if state == "active" and cooling_families(account):
            state = "cooling"
        result.setdefault(accounts.display_provider(account.provider), Counter())[state] += 1
    return result
