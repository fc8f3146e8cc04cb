"""The JSON admin API under `/admin/api/`: keys and usage here, accounts in `api_accounts`.

Every route needs the admin key (`Authorization: Bearer ...`) or the console's session cookie with
its CSRF header (`deps.require_admin`). Routes are thin: parse, call the shared service, answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from switchyard.accounts import service as accounts_service
from switchyard.accounts.models import catalogue_rows
from switchyard.admin import usage_queries
from switchyard.admin.actions import service_errors
from switchyard.admin.api_accounts import build_accounts_router
from switchyard.admin.deps import AdminRuntime, StoreDep, after_change, require_admin
from switchyard.admin.schemas import (
    STATUS_FILTER_PATTERN,
    KeyCreate,
    KeyCreatedOut,
    KeyLimitsIn,
    KeyPublicOut,
    ModelOut,
    RequestLogOut,
    RequestRowOut,
    SeriesOut,
    error_responses,
)
from switchyard.admin.usage_queries import RequestFilters
from switchyard.keys import service as keys

EVERY_ROUTE = error_responses(400, 401, 403)
NAMED = error_responses(404)


def build_api_router() -> APIRouter:
    router = APIRouter(prefix="/admin/api", dependencies=[Depends(require_admin)], responses=EVERY_ROUTE)
    router.include_router(_keys_router())
    router.include_router(_usage_router())
    router.include_router(build_accounts_router())
    router.include_router(_models_router())
    return router


def _models_router() -> APIRouter:
    router = APIRouter(prefix="/models", tags=["admin: models"])

    @router.get("", response_model=list[ModelOut], summary="The live Antigravity model catalogue")
    async def list_models(store: StoreDep, runtime: AdminRuntime) -> list[ModelOut]:
        client = runtime.providers.get("antigravity")
        if client is None:
            return []
        names = {a.id: a.name for a in await accounts_service.list_accounts(store) if a.status == "active"}
        return [ModelOut.model_validate(row.to_json()) for row in catalogue_rows(client.catalogue, names)]

    return router


def _keys_router() -> APIRouter:
    router = APIRouter(prefix="/keys", tags=["admin: keys"])

    @router.get("", response_model=list[KeyPublicOut], summary="List keys with usage against their quotas")
    async def list_keys(store: StoreDep) -> list[KeyPublicOut]:
        return [KeyPublicOut.model_validate(key.to_json()) for key in await keys.list_keys(store)]

    @router.post(
        "",
        response_model=KeyCreatedOut,
        status_code=201,
        summary="Create a key (shown once)",
        responses=error_responses(409),
    )
    async def create_key(body: KeyCreate, store: StoreDep, runtime: AdminRuntime) -> KeyCreatedOut:
        with service_errors():
            key, secret = await keys.create_key(store, body.name, body.to_limits(), key=body.key or None)
        await after_change(runtime, "keys", "created")
        return KeyCreatedOut.model_validate({**key.to_json(), "key": secret})

    @router.get("/{name}", response_model=KeyPublicOut, summary="One key with its usage", responses=NAMED)
    async def get_key(name: str, store: StoreDep) -> KeyPublicOut:
        with service_errors():
            return KeyPublicOut.model_validate((await keys.get_key(store, name)).to_json())

    @router.put(
        "/{name}/limits", response_model=KeyPublicOut, summary="Replace a key's limits", responses=NAMED
    )
    async def update_limits(
        name: str, body: KeyLimitsIn, store: StoreDep, runtime: AdminRuntime
    ) -> KeyPublicOut:
        with service_errors():
            await keys.update_limits(store, name, body.to_limits())
            key = await keys.get_key(store, name)
        await after_change(runtime, "keys", "updated")
        return KeyPublicOut.model_validate(key.to_json())

    @router.post("/{name}/enable", response_model=KeyPublicOut, summary="Enable a key", responses=NAMED)
    async def enable(name: str, store: StoreDep, runtime: AdminRuntime) -> KeyPublicOut:
        return await _set_enabled(name, True, store, runtime)

    @router.post(
        "/{name}/disable",
        response_model=KeyPublicOut,
        summary="Disable a key (requests get 403)",
        responses=NAMED,
    )
    async def disable(name: str, store: StoreDep, runtime: AdminRuntime) -> KeyPublicOut:
        return await _set_enabled(name, False, store, runtime)

    @router.delete(
        "/{name}", status_code=204, response_class=Response, summary="Delete a key", responses=NAMED
    )
    async def delete(name: str, store: StoreDep, runtime: AdminRuntime) -> Response:
        with service_errors():
            await keys.delete_key(store, name)
        await after_change(runtime, "keys", "deleted")
        return Response(status_code=204)

    return router


async def _set_enabled(name: str, enabled: bool, store: StoreDep, runtime: AdminRuntime) -> KeyPublicOut:
    with service_errors():
        await keys.set_enabled(store, name, enabled)
        key = await keys.get_key(store, name)
    await after_change(runtime, "keys", "disabled" if not enabled else "enabled")
    return KeyPublicOut.model_validate(key.to_json())


def _usage_router() -> APIRouter:
    router = APIRouter(prefix="/usage", tags=["admin: usage"])

    @router.get("/series", response_model=SeriesOut, summary="Requests, errors, tokens and TTFB over time")
    async def series(
        store: StoreDep,
        range: Annotated[usage_queries.Range, Query(description="hour, day or week")] = "hour",
        by: Annotated[
            usage_queries.Dimension, Query(description="provider, model, key or account")
        ] = "provider",
    ) -> SeriesOut:
        with service_errors():
            return SeriesOut.model_validate((await usage_queries.usage_series(store, range, by)).to_json())

    @router.get("/requests", response_model=RequestLogOut, summary="The recent request log (newest first)")
    async def requests(
        store: StoreDep,
        key: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        status: Annotated[
            str | None, Query(description="ok, error, 2xx, 4xx, 5xx or a code", pattern=STATUS_FILTER_PATTERN)
        ] = None,
        limit: Annotated[int, Query(ge=1, le=usage_queries.RECENT_LIMIT_MAX)] = 100,
        before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    ) -> RequestLogOut:
        filters = RequestFilters(key=key, model=model, provider=provider, status=status)
        with service_errors():
            rows = await usage_queries.recent_requests(store, filters, limit=limit, before_id=before_id)
        return RequestLogOut(
            requests=[RequestRowOut.model_validate(row, from_attributes=True) for row in rows],
            next_before_id=rows[-1].id if len(rows) == limit else None,
        )

    return router
