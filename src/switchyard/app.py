"""`create_app(settings)`: the gateway as an ASGI app. Nothing is built at import time.

The lifespan opens the store (running migrations), starts the usage writer and the providers;
on shutdown — after uvicorn has let open streams finish within the grace period — it flushes the
remaining usage events and closes everything.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from switchyard import admin, health
from switchyard.admin import openapi as admin_openapi
from switchyard.admin.schemas import PATTERN_HINTS
from switchyard.config import Settings
from switchyard.errors import (
    STORE_DOWN_MESSAGE,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    StoreUnavailable,
    SwitchyardError,
)
from switchyard.fetch import create_media_client
from switchyard.keys.guard import KeyGuard
from switchyard.metrics import create_metrics
from switchyard.pool import open_pool
from switchyard.pool.quota import QuotaRefresher, antigravity_quotas
from switchyard.providers.antigravity import AntigravityClient
from switchyard.providers.gemini_web.client import GeminiWebProvider
from switchyard.providers.gemini_web.files import MediaFiles
from switchyard.providers.gemini_web.hooks import PoolHooks
from switchyard.redis_link import open_redis_link
from switchyard.runtime import Runtime
from switchyard.shared.changes import ChangeFeed
from switchyard.shared.flight import SharedFlight
from switchyard.store.db import open_store
from switchyard.store.reachable import store_unreachable
from switchyard.store.thought_signatures import open_signature_backing
from switchyard.surfaces import models
from switchyard.surfaces.anthropic import routes as anthropic_routes
from switchyard.surfaces.context import GatewayMiddleware, get_context
from switchyard.surfaces.gemini import routes as gemini_routes
from switchyard.surfaces.images import routes as images_routes
from switchyard.surfaces.openai import routes as openai_routes
from switchyard.surfaces.openai_responses import routes as responses_routes
from switchyard.surfaces.render import dialect_for, error_response
from switchyard.surfaces.webchat import routes as webchat_routes
from switchyard.usage.open import open_usage

log = logging.getLogger("switchyard.app")


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


def _render(request: Request, error: SwitchyardError) -> Response:
    dialect = dialect_for(request.url.path, dict(request.headers), request.url.query)
    ctx = request.scope.get("state", {}).get("ctx")
    if ctx is not None and isinstance(error, SwitchyardError) and hasattr(error, "error_class"):
        ctx.error_class = str(error.error_class)
    return error_response(error, dialect, ctx.request_id if ctx else None)


ROUTE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route of the app takes on this path. Routes are one per method, and the
    405 Starlette raises names only the first whose path matched; so each method is tried against
    the routes (`matches` is the one interface plain and included routers share)."""
    allowed = []
    for method in ROUTE_METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def _install_error_handlers(app: Starlette) -> None:
    async def on_switchyard_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SwitchyardError)
        return _render(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error: SwitchyardError
        if exc.status_code == 404:
            error = NotFound(f"Unknown route: {request.method} {request.url.path}", code="unknown_route")
        elif exc.status_code == 405:
            error = MethodNotAllowed(f"Method {request.method} is not allowed on {request.url.path}.")
        else:
            error = InvalidRequest(str(exc.detail))
        response = _render(request, error)
        if exc.status_code == 405:  # RFC 9110: a 405 lists what is allowed
            response.headers["Allow"] = _allowed_methods(request) or (exc.headers or {}).get("Allow", "")
        return response

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
        param = ".".join(location) or None
        message = first.get("msg", "invalid request")
        if first.get("type") == "string_pattern_mismatch":  # the pattern's meaning, not its regex
            message = PATTERN_HINTS.get(first.get("ctx", {}).get("pattern", ""), message)
        return _render(request, InvalidRequest(f"Invalid value for '{param}': {message}", param=param))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        ctx = get_context(request.scope) if "state" in request.scope else None
        runtime = request.app.state.runtime
        if store_unreachable(exc):  # not a bug: what memory could not answer waits for the store
            if runtime.store is not None:
                runtime.store.health.failed(exc)
            retry_after = runtime.settings.store_retry_after_s
            return _render(request, StoreUnavailable(STORE_DOWN_MESSAGE, retry_after=retry_after))
        log.exception("unhandled error (request %s)", ctx.request_id if ctx else "?")
        return _render(
            request,
            InternalError(
                f"Internal error; the operator can find it in the logs under request id "
                f"{ctx.request_id if ctx else 'unknown'}."
            ),
        )

    app.add_exception_handler(SwitchyardError, on_switchyard_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)


def create_app(
    settings: Settings,
    *,
    mounts: Mapping[str, ASGIApp] | None = None,
    extra_lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> GatewayApp:
    """Build the gateway. `mounts` adds ASGI apps by path and `extra_lifespan` runs around the
    gateway's own startup and shutdown (both for the demo's emulators)."""
    runtime = Runtime(settings=settings, metrics=create_metrics())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with extra_lifespan(app) if extra_lifespan is not None else _nothing(), _gateway_lifespan():
            yield

    @asynccontextmanager
    async def _gateway_lifespan() -> AsyncIterator[None]:
        store = await open_store(settings)
        runtime.store = store
        runtime.redis = link = open_redis_link(settings, runtime.metrics)
        if link is not None:
            await link.check()  # unreachable: start on the process's own state, readiness says so
            link.start()
        runtime.guard = KeyGuard(
            store,
            cache_ttl_s=settings.key_cache_ttl_s,
            default_max_concurrent=settings.key_default_max_concurrent,
            link=link,
        )
        runtime.usage, usage_redis = open_usage(store, settings, link)
        runtime.usage.start()
        runtime.metrics.store_up.set_function(lambda: 1.0 if store.health.up else 0.0)
        runtime.pool = pool = await open_pool(store, settings, link)
        signature_backing, signature_redis = open_signature_backing(store, settings)
        runtime.signatures.attach(signature_backing)
        shared_flight = (
            SharedFlight(
                Redis.from_url(settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0),
                settings.redis_prefix,
                store.secrets,
            )
            if settings.redis_url
            else None
        )
        runtime.providers["antigravity"] = antigravity = AntigravityClient(settings, shared_flight)
        web_files = MediaFiles(
            settings.data_dir / "gemini_web_media", store.secrets, settings.gemini_web_media_ttl_s
        )
        runtime.providers["gemini_web"] = gemini_web = GeminiWebProvider(
            settings, PoolHooks(store, pool), web_files
        )
        gemini_web.start()
        quotas = QuotaRefresher(
            pool, {"antigravity": antigravity_quotas(antigravity)}, settings.quota_refresh_interval_s
        )
        for provider_name in runtime.providers:  # in memory from the start: served if the store goes
            await pool.accounts(provider_name)
        pool.start()
        quotas.start()
        runtime.media_client = media_client = create_media_client(settings.media_fetch_timeout_s)
        runtime.changes = changes = ChangeFeed(settings.redis_url, settings.redis_prefix)
        changes.listen(runtime.apply_change)
        await changes.start()
        runtime.ready = True
        try:
            yield
        finally:
            runtime.ready = False
            await changes.aclose()
            await quotas.aclose()
            try:
                await pool.aclose()
            except Exception:  # an unreachable store: the counters are lost, the rest still closes
                log.warning("could not write the account counters at shutdown", exc_info=True)
            await runtime.usage.close()
            if usage_redis is not None:
                await usage_redis.aclose()
            if link is not None:
                await link.aclose()
            for provider in runtime.providers.values():
                close = getattr(provider, "aclose", None)
                if close is not None:
                    await close()
            await media_client.aclose()
            if shared_flight is not None:
                await shared_flight.aclose()
            runtime.signatures.attach(None)
            close_signatures = getattr(signature_backing, "aclose", None)
            if close_signatures is not None:
                try:
                    await close_signatures()
                except Exception:
                    log.warning("could not write the last thought signatures to the store", exc_info=True)
            if signature_redis is not None:
                await signature_redis.aclose()
            await store.close()

    app = FastAPI(
        title="Switchyard",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.include_router(health.build_router())
    app.include_router(admin.build_router())
    admin_openapi.install(app)
    app.mount("/admin/static", admin.static_app(), name="admin-static")
    for path, mounted in (mounts or {}).items():
        app.mount(path, mounted)
    client_routes = [
        route
        for surface in (
            models,
            gemini_routes,
            openai_routes,
            responses_routes,
            webchat_routes,
            images_routes,
            anthropic_routes,
        )
        for route in surface.build_routes()
    ]
    clients = Starlette(routes=client_routes)
    for part in (app, clients):
        part.state.runtime = runtime
        _install_error_handlers(part)
        part.add_middleware(GatewayMiddleware, runtime=runtime)
    return GatewayApp(clients, app)


CLIENT_PREFIXES = ("/antigravity/", "/gemini_official/")


class GatewayApp:
    """The gateway's ASGI entry point: the client APIs' paths go to a plain Starlette app holding
    only the client routes, everything else (admin API and console, health, metrics, docs, the
    lifespan, the demo's emulators) to the FastAPI app.

    A client request is the hot path. FastAPI wraps every request in three more middleware layers
    and matches it against the admin routes too, which cost about 9 µs a request (docs/benchmarks.md);
    its dependency injection and OpenAPI models serve the admin API, not OpenAI's and Google's APIs.
    """

    def __init__(self, clients: Starlette, rest: FastAPI) -> None:
        self.clients, self.rest = clients, rest
        self.state = rest.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CLIENT_PREFIXES):
            await self.clients(scope, receive, send)
        else:
            await self.rest(scope, receive, send)
