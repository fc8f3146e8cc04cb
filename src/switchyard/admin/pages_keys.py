"""The Keys page: create with limits (the key is shown once), edit limits, disable, delete, and each
key's usage against its quotas. Every change goes through `keys.service`, like the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from switchyard.admin.actions import service_errors
from switchyard.admin.deps import after_change, runtime_of, store_of
from switchyard.admin.pages_common import (
    CheckedForm,
    PageRoute,
    Session,
    number,
    optional,
    redirect,
    render,
    text,
)
from switchyard.admin.schemas import KeyLimitsIn
from switchyard.errors import SwitchyardError
from switchyard.keys import service as keys
from switchyard.keys.service import KeyPublic

PAGE = "/admin/keys"


def _limits_from(form: FormData) -> KeyLimitsIn:
    models = optional(form, "models")
    return KeyLimitsIn(
        expires=optional(form, "expires"),
        models=[m.strip() for m in models.split(",")] if models else None,
        rpm=number(form, "rpm"),
        max_concurrent=number(form, "max_concurrent"),
        quota_requests=optional(form, "quota_requests"),
        quota_tokens=optional(form, "quota_tokens"),
    )


def quota_view(key: KeyPublic) -> list[dict[str, object]]:
    """Each quota as used / limit and a fraction for its bar."""
    views: list[dict[str, object]] = []
    for label, quota, used in (
        ("requests", key.limits.quota_requests, key.usage.requests_in_period),
        ("tokens", key.limits.quota_tokens, key.usage.tokens_in_period),
    ):
        if quota is None:
            continue
        spent = used or 0
        views.append(
            {
                "label": label,
                "used": spent,
                "limit": quota.limit,
                "period": quota.period,
                "fraction": min(1.0, spent / quota.limit) if quota.limit else 1.0,
            }
        )
    return views


def expiry_input(moment: float | None) -> str:
    """The expiry as the date the edit form shows (the service accepts ISO dates back)."""
    if moment is None:
        return ""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M")


async def _page(request: Request, session: str, created: tuple[KeyPublic, str] | None = None) -> Response:
    listed = await keys.list_keys(store_of(request))
    context = {
        "page": "keys",
        "keys": listed,
        "quotas": {key.name: quota_view(key) for key in listed},
        "expiry_input": expiry_input,
        "created": created,
    }
    return render(request, "keys.html", context, session=session)


def build_keys_pages() -> APIRouter:
    router = APIRouter(route_class=PageRoute)

    @router.get("/keys")
    async def keys_page(request: Request, session: Session) -> Response:
        return await _page(request, session)

    @router.post("/keys")
    async def create(request: Request, form: CheckedForm, session: Session) -> Response:
        try:
            with service_errors():
                created = await keys.create_key(
                    store_of(request), text(form, "name"), _limits_from(form).to_limits()
                )
        except SwitchyardError as exc:
            return redirect(request, PAGE, "error", exc.message)
        await after_change(runtime_of(request), "keys")
        return await _page(request, session, created)

    @router.post("/keys/{name}/limits")
    async def limits(request: Request, name: str, form: CheckedForm, session: Session) -> Response:
        return await _change(request, name, "limits", form)

    @router.post("/keys/{name}/enable")
    async def enable(request: Request, name: str, form: CheckedForm, session: Session) -> Response:
        return await _change(request, name, "enable", form)

    @router.post("/keys/{name}/disable")
    async def disable(request: Request, name: str, form: CheckedForm, session: Session) -> Response:
        return await _change(request, name, "disable", form)

    @router.post("/keys/{name}/delete")
    async def delete(request: Request, name: str, form: CheckedForm, session: Session) -> Response:
        return await _change(request, name, "delete", form)

    return router


async def _change(request: Request, name: str, action: str, form: FormData) -> Response:
    store = store_of(request)
    try:
        with service_errors():
            if action == "limits":
                await keys.update_limits(store, name, _limits_from(form).to_limits())
                message = f"Saved the limits of {name}."
            elif action in ("enable", "disable"):
                await keys.set_enabled(store, name, action == "enable")
                message = f"{'Enabled' if action == 'enable' else 'Disabled'} {name}."
            else:
                await keys.delete_key(store, name)
                message = f"Deleted {name}."
    except SwitchyardError as exc:
        return redirect(request, PAGE, "error", exc.message)
    await after_change(runtime_of(request), "keys")
    return redirect(request, PAGE, "ok", message)
