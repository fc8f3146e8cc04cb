"""The few steps the API and the pages both take around the shared service functions.

`keys.service`, `accounts.service`, `accounts.importers` and `accounts.login` do the work (the CLI
calls the same functions); this module adds what a running gateway needs on top: reuse the live
Antigravity client (its token cache), make the pool and key cache see a change at once, turn the
services' exceptions into the gateway's error hierarchy, and run an upload through the importer.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from switchyard.accounts import importers, login, service
from switchyard.accounts.service import CheckResult
from switchyard.admin.deps import Conflict, after_change
from switchyard.errors import InvalidRequest, NotFound, PayloadTooLarge, SwitchyardError
from switchyard.keys.service import KeyExists, KeyNotFound
from switchyard.providers.antigravity import AntigravityClient
from switchyard.runtime import Runtime
from switchyard.store.accounts import AccountExists, AccountNotFound, AccountPublic
from switchyard.store.db import Store

MAX_IMPORT_BYTES = 20 * 1024 * 1024
"""An export of a few thousand accounts is a few megabytes; more is a mistake, not an import."""


@contextlib.contextmanager
def service_errors() -> Iterator[None]:
    """Translate the services' exceptions (shared with the CLI) into the gateway's errors."""
    try:
        yield
    except SwitchyardError:
        raise
    except (KeyNotFound, AccountNotFound) as exc:
        raise NotFound(str(exc).strip("'\"")) from None
    except (KeyExists, AccountExists, service.DuplicateCredential, service.WrongProvider) as exc:
        raise Conflict(str(exc)) from None
    except (login.LoginFailed, ValueError, FileNotFoundError) as exc:
        raise InvalidRequest(str(exc)) from None


def account_json(account: AccountPublic) -> dict[str, Any]:
    return {**account.to_json(), "provider": service.display_provider(account.provider)}


def _client(runtime: Runtime) -> AntigravityClient | None:
    client = runtime.providers.get("antigravity")
    return client if isinstance(client, AntigravityClient) else None


async def check(runtime: Runtime, store: Store, names: Sequence[str] = ()) -> list[CheckResult]:
    """`switchyard accounts check`, through the gateway's own client; also refreshes quotas."""
    with service_errors():
        results = await service.check_accounts(store, runtime.settings, names, client=_client(runtime))
    await after_change(runtime, "accounts")
    return results


async def add_antigravity(
    runtime: Runtime,
    store: Store,
    *,
    refresh_token: str,
    project_id: str | None = None,
    name: str | None = None,
    proxy: str | None = None,
    verify: bool = True,
    user_agent: str | None = None,
) -> tuple[AccountPublic, CheckResult | None]:
    with service_errors():
        account = await service.add_antigravity(
            store,
            refresh_token=refresh_token,
            project_id=project_id,
            name=name or None,
            proxy_url=proxy or None,
            user_agent=user_agent or None,
        )
    await after_change(runtime, "accounts")
    if not verify:
        return account, None
    results = await check(runtime, store, [account.name])
    return await service.get_account(store, account.name), results[0]


async def add_gemini_web(
    runtime: Runtime, store: Store, *, psid: str, psidts: str | None, name: str | None, proxy: str | None
) -> AccountPublic:
    with service_errors():
        account = await service.add_gemini_web(
            store, psid=psid, psidts=psidts, name=name or None, proxy_url=proxy or None
        )
    await after_change(runtime, "accounts")
    return account


async def set_account_enabled(runtime: Runtime, store: Store, name: str, enabled: bool) -> AccountPublic:
    with service_errors():
        account = await service.set_enabled(store, name, enabled)
    await after_change(runtime, "accounts", "enabled" if enabled else "disabled")
    return account


async def set_user_agent(runtime: Runtime, store: Store, name: str, user_agent: str | None) -> AccountPublic:
    with service_errors():
        account = await service.set_user_agent(store, name, user_agent)
    await after_change(runtime, "accounts")
    return account


async def delete_account(runtime: Runtime, store: Store, name: str) -> None:
    with service_errors():
        await service.delete_account(store, name)
    await after_change(runtime, "accounts", "deleted")


async def import_upload(
    runtime: Runtime, store: Store, content: bytes, filename: str, provider: str | None, proxy: str | None
) -> importers.ImportReport:
    """Run an uploaded export through `import_accounts`, which reads files: a private temporary
    directory holds it for the duration (its name keeps the extension the format sniffing likes)."""
    if len(content) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"the file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    safe_name = Path(filename or "upload.txt").name
    if safe_name in ("", ".", ".."):  # `..` would name the temporary folder's parent
        safe_name = "upload.txt"
    with tempfile.TemporaryDirectory(prefix="switchyard-import-") as folder:
        path = Path(folder) / safe_name
        path.write_bytes(content)
        with service_errors():
            report = await importers.import_accounts(
                store, path, provider=provider or None, proxy_url=proxy or None
            )
    await after_change(runtime, "accounts")
    return report


async def finish_sign_in(
    runtime: Runtime,
    store: Store,
    *,
    callback: str,
    state: str,
    redirect_uri: str,
    name: str | None,
    proxy: str | None,
) -> tuple[login.LoginOutcome, CheckResult | None]:
    """Verify the callback's state, trade the code, store the account, then check it like the CLI."""
    with service_errors():
        code = login.code_from_callback(callback, state)
        outcome = await login.finish_login(
            store,
            runtime.settings,
            code=code,
            redirect_uri=redirect_uri,
            name=name or None,
            proxy_url=proxy or None,
        )
    await after_change(runtime, "accounts")
    results = await check(runtime, store, [outcome.account.name])
    outcome.account = await service.get_account(store, outcome.account.name)
    return outcome, results[0] if results else None
