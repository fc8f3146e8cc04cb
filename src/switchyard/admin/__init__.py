"""The operator console at `/admin` and its JSON API at `/admin/api/`.

`build_router()` returns one router (API + pages) whose lifespan loads the admin key after the
gateway's own lifespan opened the store; `static_app()` serves the CSS and the small script under
`/admin/static`. Nothing is fetched from the internet: no CDN, no web fonts.

    auth.py           admin key, signed session cookies, CSRF tokens
    deps.py           who is calling (Bearer key or session), shared errors
    actions.py        the steps around the shared account/key services (the CLI calls the same)
    api.py            keys and usage routes; api_accounts.py: accounts and the sign-in flow
    usage_queries.py  aggregations over usage_events (portable SQL)
    pages*.py         server-rendered pages (Jinja2); charts.py draws the SVG charts
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from switchyard.admin.api import build_api_router
from switchyard.admin.auth import load_admin_auth
from switchyard.admin.pages import build_pages_router

STATIC_DIR = Path(__file__).parent / "static"


@asynccontextmanager
async def _admin_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs inside the gateway's lifespan (FastAPI nests included routers' lifespans), so the data
    folder exists and the settings are the app's."""
    app.state.admin_auth = auth = load_admin_auth(app.state.runtime.settings)
    try:
        yield
    finally:
        if auth.shared is not None:
            await auth.shared.aclose()


def build_router() -> APIRouter:
    router = APIRouter(lifespan=_admin_lifespan)
    router.include_router(build_api_router())
    router.include_router(build_pages_router())
    return router


def static_app() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


__all__ = ["build_router", "static_app"]
