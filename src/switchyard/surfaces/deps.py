"""`Annotated` dependencies, so route signatures read like prose: `key: ClientKey, rt: RuntimeDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from switchyard.keys.guard import KeyRecord
from switchyard.runtime import Runtime
from switchyard.surfaces.auth import presented_key
from switchyard.surfaces.context import RequestContext, get_context


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_request_context(request: Request) -> RequestContext:
    return get_context(request.scope)


async def authenticate_client(request: Request) -> KeyRecord:
    runtime = get_runtime(request)
    if runtime.guard is None:
        raise RuntimeError("the key guard is not ready")
    record = await runtime.guard.authenticate(presented_key(request))
    get_context(request.scope).key = record
    return record


async def admit(
    request: Request, key: KeyRecord, *, surface: str, provider: str, model: str
) -> RequestContext:
    """Note what the request is for, then check the key's limits for it and hold a slot."""
    ctx = get_context(request.scope)
    ctx.surface, ctx.provider, ctx.model = surface, provider, model
    runtime = get_runtime(request)
    if runtime.guard is None:
        raise RuntimeError("the key guard is not ready")
    ctx.lease = await runtime.guard.admit(key, provider, model)
    return ctx


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ClientKey = Annotated[KeyRecord, Depends(authenticate_client)]
ContextDep = Annotated[RequestContext, Depends(get_request_context)]
