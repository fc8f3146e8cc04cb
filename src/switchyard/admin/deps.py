"""Dependencies shared by the admin API and pages: who is calling, and is the form genuine.

The API takes the admin key as `Authorization: Bearer <key>` (scripts) or the console's session
cookie (its own JavaScript); pages take only the cookie and send people to the login page without it.
Errors are the gateway's own (`errors.py`), so the API answers `{"error": {...}}` like every route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from switchyard.admin.auth import SESSION_COOKIE, AdminAuth
from switchyard.errors import AuthenticationFailed, PermissionDenied, SwitchyardError
from switchyard.runtime import Runtime
from switchyard.shared.changes import Change, Scope
from switchyard.store.db import Store

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class AdminAuthRequired(AuthenticationFailed):
    """401: no admin key, a wrong one, or an expired session."""

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "WWW-Authenticate": 'Bearer realm="switchyard-admin"'}


class Conflict(SwitchyardError):
    """409: the name (or credential) exists already."""

    status = 409
    openai_type = "invalid_request_error"
    google_status = "ALREADY_EXISTS"


class AdminNotReady(SwitchyardError):
    """503: a request arrived before the lifespan built the admin auth and the store."""

    status = 503
    google_status = "UNAVAILABLE"


@dataclass(frozen=True)
class Admin:
    """An authenticated admin caller; `session` is None when the Bearer key was used."""

    session: str | None


def admin_auth(request: Request) -> AdminAuth:
    auth = getattr(request.app.state, "admin_auth", None)
    if auth is None:
        raise AdminNotReady("the gateway is still starting")
    return auth


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


_bearer = HTTPBearer(
    auto_error=False, description="The admin key (SWITCHYARD_ADMIN_KEY, or the one printed at first start)."
)


async def require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> Admin:
    """The Bearer admin key, or a session cookie plus `X-CSRF-Token` on anything but a read."""
    auth = admin_auth(request)
    if credentials is not None:
        client = client_address(request)
        wait_s = await auth.throttled(client)
        if wait_s is not None:  # no key is even looked at (see AdminAuth.throttled)
            raise AdminAuthRequired(
                "too many wrong admin keys from this address; try again later",
                code="admin_key_throttled",
                retry_after=wait_s,
            )
        if auth.check_key(credentials.credentials):
            return Admin(session=None)
        await auth.note_failure(client)
        raise AdminAuthRequired("wrong admin key", code="invalid_admin_key")
    session = await auth.session_id(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise AdminAuthRequired(
            "admin key required: send Authorization: Bearer <admin key>", code="missing_admin_key"
        )
    if request.method not in SAFE_METHODS and not auth.check_csrf(session, request.headers.get(CSRF_HEADER)):
        raise PermissionDenied("missing or wrong X-CSRF-Token for a cookie session", code="csrf")
    return Admin(session=session)


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def store_of(request: Request) -> Store:
    store = runtime_of(request).store
    if store is None:
        raise AdminNotReady("the store is not open yet")
    return store


AdminDep = Annotated[Admin, Depends(require_admin)]
StoreDep = Annotated[Store, Depends(store_of)]
AdminRuntime = Annotated[Runtime, Depends(runtime_of)]


async def after_change(runtime: Runtime, scope: Scope, action: str = "changed") -> None:
    """Make every instance see a committed change now rather than after its caches expire: this one
    at once, the others through the change feed (Redis pub/sub, `shared/changes.py`)."""
    change = Change(scope, action)
    if runtime.changes is not None:
        await runtime.changes.publish(change)
    else:  # the lifespan has not built the feed (tests that drive the app without it)
        runtime.apply_change(change)
