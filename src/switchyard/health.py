"""Operational routes: liveness, readiness (store reachable, accounts loaded) and Prometheus metrics.

An unreachable store makes /readyz answer 200 `degraded`, not 503: the gateway still serves from memory."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from starlette.responses import Response

from switchyard.store.tables import Account
from switchyard.surfaces.deps import RuntimeDep
from switchyard.surfaces.responses import json_response


def build_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @router.get("/readyz", include_in_schema=False)
    async def readyz(runtime: RuntimeDep) -> Response:
        if not runtime.ready or runtime.store is None:
            return json_response({"status": "starting"}, status_code=503)
        try:
            async with runtime.store.sessions() as session:
                await session.execute(text("SELECT 1"))
                accounts = await session.scalar(
                    select(func.count(Account.id)).where(Account.enabled.is_(True))
                )
        except Exception as exc:  # the point of readiness: say the store is unreachable, don't crash
            runtime.store.health.failed(exc)
            # Still ready: keys and accounts seen before are served from memory, usage is spooled
            # (README "When a dependency is down"); a load balancer should keep sending traffic.
            body: dict[str, object] = {
                "status": "degraded",
                "store": "unreachable",
                "error": type(exc).__name__,
            }
        else:
            runtime.store.health.ok()
            body = {"status": "ready", "store": "ok", "accounts_enabled": int(accounts or 0)}
        if runtime.redis is not None:  # ready either way: without Redis, limits hold per instance
            body["redis"] = "ok" if runtime.redis.up else "unreachable"
        return json_response(body)

    @router.get("/metrics", include_in_schema=False)
    async def metrics(runtime: RuntimeDep) -> Response:
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
