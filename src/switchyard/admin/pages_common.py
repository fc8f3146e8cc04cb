"""What every console page shares: the template engine, the session guard, CSRF-checked forms,
one-shot flash messages, and the headers that keep the pages out of frames and caches.

Page routes use `PageRoute`, which turns "not logged in" into a redirect to the login page and a
failed CSRF check into a 403 page, so handlers only deal with their own work.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import Depends
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from switchyard.admin.auth import SESSION_COOKIE
from switchyard.admin.deps import CSRF_FIELD, admin_auth

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
FLASH_COOKIE = "switchyard_flash"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No valid session: the route answers with a redirect to the login page."""


class CsrfRefused(Exception):
    """A form post without the session's CSRF token: the route answers 403."""


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)
            except CsrfRefused:
                return error_page(
                    request,
                    403,
                    "This form has expired or did not come from the console. "
                    "Go back, reload the page and try again.",
                )

        return guarded


# --- sessions and forms ---------------------------------------------------------------------


async def page_session(request: Request) -> str:
    session = await admin_auth(request).session_id(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise LoginRequired
    return session


async def checked_form(request: Request) -> FormData:
    """The posted form, once the session and its CSRF token are verified."""
    session = await page_session(request)
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not admin_auth(request).check_csrf(session, token):
        raise CsrfRefused
    return form


Session = Annotated[str, Depends(page_session)]
CheckedForm = Annotated[FormData, Depends(checked_form)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    return text(form, name) or None


def number(form: FormData, name: str) -> int | None:
    value = text(form, name)
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name.replace('_', ' ')} must be a whole number of at least 1")
    return int(value)


def upload(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


# --- flash messages -------------------------------------------------------------------------


def with_flash(response: Response, request: Request, kind: str, message: str) -> Response:
    """Carry a one-line message to the next page (signed, short-lived, HttpOnly; never a secret)."""
    payload = base64.urlsafe_b64encode(orjson.dumps({"kind": kind, "text": message})).decode().rstrip("=")
    signed = admin_auth(request).sign("flash", payload, 120)
    response.set_cookie(
        FLASH_COOKIE,
        signed,
        max_age=120,
        path="/admin",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def redirect(request: Request, path: str, kind: str | None = None, message: str | None = None) -> Response:
    response = RedirectResponse(path, status_code=303)
    if kind and message:
        with_flash(response, request, kind, message)
    return response


def _take_flash(request: Request) -> dict[str, str] | None:
    payload = admin_auth(request).unsign("flash", request.cookies.get(FLASH_COOKIE))
    if payload is None:
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return {"kind": str(data.get("kind", "info")), "text": str(data.get("text", ""))}


# --- rendering ------------------------------------------------------------------------------


def render(
    request: Request, template: str, context: dict[str, Any], *, session: str | None, status_code: int = 200
) -> Response:
    flash = _take_flash(request)
    values = {
        "csrf_token": admin_auth(request).csrf_token(session) if session else "",
        "flash": flash,
        "logged_in": session is not None,
        "now": time.time(),
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/admin")
    return response


def error_page(request: Request, status_code: int, message: str) -> Response:
    session = admin_auth(request).local_session_id(request.cookies.get(SESSION_COOKIE))
    return render(
        request,
        "error.html",
        {"status": status_code, "message": message, "page": ""},
        session=session,
        status_code=status_code,
    )


# --- formatting for templates ---------------------------------------------------------------


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def until(moment: float | None) -> str:
    if moment is None:
        return "-"
    left = moment - time.time()
    return "now" if left <= 0 else "in " + _duration(left)


def ago(moment: float | None) -> str:
    if moment is None:
        return "never"
    return _duration(time.time() - moment) + " ago"


def utc(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def milliseconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.2f} s" if value >= 10_000 else f"{value:,.0f} ms"


def thousands(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


TEMPLATES.env.filters.update(until=until, ago=ago, utc=utc, ms=milliseconds, num=thousands)
