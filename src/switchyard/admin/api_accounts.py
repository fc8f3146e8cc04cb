"""Admin API for upstream accounts: list, add, import, change (User-Agent), enable/disable, delete, check (which also
refreshes quotas), and the Google sign-in flow for Antigravity in two calls (start, finish)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from switchyard.accounts import login, service
from switchyard.admin import actions
from switchyard.admin.actions import account_json, service_errors
from switchyard.admin.deps import AdminRuntime, StoreDep
from switchyard.admin.schemas import (
    PROXY_PATTERN,
    AccountAdded,
    AccountOut,
    AccountUpdate,
    AntigravityAccountCreate,
    CheckRequest,
    CheckResultOut,
    GeminiWebAccountCreate,
    ImportReportOut,
    LoginFinish,
    LoginFinished,
    LoginStart,
    LoginStarted,
    ProviderName,
    account_out,
    error_responses,
)
from switchyard.store.accounts import AccountPublic

CALLBACK_ROUTE = "admin_oauth_callback"
"""The console page Google sends the browser back to (`pages_accounts`)."""


def _out(account: AccountPublic) -> AccountOut:
    return account_out(account_json(account), service.account_state(account))


def _check_out(result: service.CheckResult | None) -> CheckResultOut | None:
    return CheckResultOut.model_validate(result.to_json()) if result is not None else None


def console_callback_url(request: Request) -> str:
    return str(request.url_for(CALLBACK_ROUTE))


def build_accounts_router() -> APIRouter:
    router = APIRouter(prefix="/accounts", tags=["admin: accounts"])

    @router.get("", response_model=list[AccountOut], summary="Accounts with per-family quota and cooldowns")
    async def list_accounts(store: StoreDep, provider: ProviderName | None = None) -> list[AccountOut]:
        with service_errors():
            wanted = service.provider_id(provider) if provider else None
        return [_out(a) for a in await service.list_accounts(store, wanted)]

    @router.post(
        "/antigravity",
        response_model=AccountAdded,
        status_code=201,
        summary="Add by refresh token",
        responses=error_responses(409),
    )
    async def add_antigravity(
        body: AntigravityAccountCreate, store: StoreDep, runtime: AdminRuntime
    ) -> AccountAdded:
        account, result = await actions.add_antigravity(
            runtime,
            store,
            refresh_token=body.refresh_token,
            project_id=body.project_id,
            name=body.name,
            proxy=body.proxy,
            verify=body.check,
            user_agent=body.user_agent,
        )
        return AccountAdded(account=_out(account), check=_check_out(result))

    @router.post(
        "/gemini-web",
        response_model=AccountAdded,
        status_code=201,
        summary="Add by browser cookies",
        responses=error_responses(409),
    )
    async def add_gemini_web(
        body: GeminiWebAccountCreate, store: StoreDep, runtime: AdminRuntime
    ) -> AccountAdded:
        account = await actions.add_gemini_web(
            runtime, store, psid=body.psid, psidts=body.psidts, name=body.name, proxy=body.proxy
        )
        return AccountAdded(account=_out(account))

    @router.post(
        "/import",
        response_model=ImportReportOut,
        summary="Import an export file (multipart upload)",
        responses=error_responses(413),
    )
    async def import_file(
        store: StoreDep,
        runtime: AdminRuntime,
        file: Annotated[
            UploadFile, File(description="CLIProxyAPI / antigravity2api export, token list, cookies")
        ],
        provider: Annotated[
            ProviderName | Literal[""], Form(description="antigravity or gemini-web, for bare tokens")
        ] = "",
        proxy: Annotated[str, Form(pattern=PROXY_PATTERN)] = "",
    ) -> ImportReportOut:
        report = await actions.import_upload(
            runtime, store, await file.read(), file.filename or "upload.txt", provider or None, proxy or None
        )
        return ImportReportOut.model_validate(report.to_json())

    @router.post(
        "/check",
        response_model=list[CheckResultOut],
        summary="Check accounts now; refreshes quotas",
        responses=error_responses(404),
    )
    async def check(body: CheckRequest, store: StoreDep, runtime: AdminRuntime) -> list[CheckResultOut]:
        return [
            CheckResultOut.model_validate(r.to_json())
            for r in await actions.check(runtime, store, body.names)
        ]

    @router.post(
        "/login/start", response_model=LoginStarted, summary="Start the Google sign-in (Antigravity)"
    )
    async def login_start(
        body: LoginStart, request: Request, store: StoreDep, runtime: AdminRuntime
    ) -> LoginStarted:
        redirect_uri = body.redirect_uri or console_callback_url(request)
        with service_errors():
            hint = await login.login_hint_for(store, body.name)
            started = login.new_login(runtime.settings, redirect_uri, login_hint=hint)
        return LoginStarted(auth_url=started.auth_url, redirect_uri=started.redirect_uri, state=started.state)

    @router.post("/login/finish", response_model=LoginFinished, summary="Finish it with the callback URL")
    async def login_finish(body: LoginFinish, store: StoreDep, runtime: AdminRuntime) -> LoginFinished:
        outcome, result = await actions.finish_sign_in(
            runtime,
            store,
            callback=body.callback_url,
            state=body.state,
            redirect_uri=body.redirect_uri,
            name=body.name,
            proxy=body.proxy,
        )
        return LoginFinished(account=_out(outcome.account), created=outcome.created, check=_check_out(result))

    @router.post(
        "/{name}/enable",
        response_model=AccountOut,
        summary="Enable (also clears dead/forbidden)",
        responses=error_responses(404),
    )
    async def enable(name: str, store: StoreDep, runtime: AdminRuntime) -> AccountOut:
        return _out(await actions.set_account_enabled(runtime, store, name, True))

    @router.post(
        "/{name}/disable",
        response_model=AccountOut,
        summary="Take an account out of rotation",
        responses=error_responses(404),
    )
    async def disable(name: str, store: StoreDep, runtime: AdminRuntime) -> AccountOut:
        return _out(await actions.set_account_enabled(runtime, store, name, False))

    @router.patch(
        "/{name}",
        response_model=AccountOut,
        summary="Change an account's settings (User-Agent)",
        responses=error_responses(404, 409),
    )
    async def update(name: str, body: AccountUpdate, store: StoreDep, runtime: AdminRuntime) -> AccountOut:
        return _out(await actions.set_user_agent(runtime, store, name, body.user_agent))

    @router.delete(
        "/{name}",
        status_code=204,
        response_class=Response,
        summary="Delete an account",
        responses=error_responses(404),
    )
    async def delete(name: str, store: StoreDep, runtime: AdminRuntime) -> Response:
        await actions.delete_account(runtime, store, name)
        return Response(status_code=204)

    return router
