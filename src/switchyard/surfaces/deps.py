"""What every client route needs from a request: the runtime, the authenticated key, admission.

Client routes are plain Starlette routes calling these functions: a client request is the hot
path, and FastAPI's dependency solving (introspection per call, and a worker-thread hop for every
synchronous dependency) cost a fifth of the gateway's CPU per request (docs/benchmarks.md). The
admin API keeps FastAPI for its OpenAPI models, with `RuntimeDep`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from switchyard.keys.guard import KeyRecord
from switchyard.runtime import Runtime
from switchyard.surfaces.auth import presented_key
from switchyard.surfaces.context import RequestContext, get_context


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


async def authenticate(request: Request) -> KeyRecord:
    """The client key the request presents (401/403 otherwise), noted on the request's context."""
    runtime = runtime_of(request)
    if runtime.guard is None:
        raise RuntimeError("the key guard is not ready")
    record = await runtime.guard.authenticate(presented_key(request))
    get_context(request.scope).key = record
    return record


async def admit(
    request: Request,
    key: KeyRecord,
    *,
    surface: str,
    provider: str,
    model: str,
    model_known: bool = False,
    takes_account: bool = True,
) -> RequestContext:
    """Note what the request is for, then check the key's limits for it and hold a slot.
    `model_known`: the surface already resolved `model` to one it serves. `takes_account`: the
    request goes on to the pool, so a check on Redis rides with the account's take
    (`KeyGuard.admit`); a request answered without an account is checked here. Media downloads
    confirm the admission first (`media.fetch_urls`)."""
    ctx = get_context(request.scope)
    ctx.surface, ctx.provider, ctx.model, ctx.model_known = surface, provider, model, model_known
    runtime = runtime_of(request)
    if runtime.guard is None:
        raise RuntimeError("the key guard is not ready")
    ctx.lease = await runtime.guard.admit(key, provider, model, ride=takes_account)
    return ctx


async def _runtime_dependency(request: Request) -> Runtime:
    # async: FastAPI runs a synchronous dependency in a worker thread
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(_runtime_dependency)]
