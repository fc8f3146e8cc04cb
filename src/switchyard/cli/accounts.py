"""`switchyard accounts ...`: add, import, log in, check, list, set, enable/disable, delete upstream accounts.

The work is done by `switchyard.accounts` (shared with the admin API); this module parses options,
shows tables and progress, and turns the service's exceptions into one-line errors that say what to
do. Secrets are read from options and never printed back: output shows fingerprints.
"""

from __future__ import annotations

import asyncio
import time
import webbrowser
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from switchyard.accounts import importers, login, service
from switchyard.accounts.service import CheckResult
from switchyard.cli.common import (
    ConfigOption,
    JsonOption,
    console,
    errors,
    fail,
    print_json,
    settings_from,
    when,
    with_store,
)
from switchyard.config import Settings
from switchyard.errors import SwitchyardError
from switchyard.store.accounts import AccountNotFound, AccountPublic, validate_proxy
from switchyard.store.db import Store

T = TypeVar("T")

app = typer.Typer(help="Add, import, check and manage upstream accounts.", no_args_is_help=True)
add_app = typer.Typer(help="Add one account from a credential you already have.", no_args_is_help=True)
login_app = typer.Typer(help="Sign in with Google and add (or repair) an account.", no_args_is_help=True)
app.add_typer(add_app, name="add")
app.add_typer(login_app, name="login")

NameOption = typer.Option(None, "--name", help="Account name (default: from the email, or provider-N).")
ProxyOption = typer.Option(
    None, "--proxy", help="Per-account proxy: http://, https:// or socks5://HOST:PORT."
)
UserAgentOption = typer.Option(
    None,
    "--user-agent",
    help="This account's own User-Agent (default: SWITCHYARD_ANTIGRAVITY_USER_AGENT), "
    "e.g. 'antigravity/hub/2.11.0 darwin/arm64'.",
)
SECRET_HELP = "see docs/credentials.md"
USER_ERRORS = (ValueError, AccountNotFound, login.LoginFailed, SwitchyardError, FileNotFoundError)
"""What the service raises for a user to act on (AccountExists and DuplicateCredential are ValueErrors)."""


def _run(settings: Settings, work: Callable[[Store], Awaitable[T]], *, changes: bool = True) -> T:
    """Run `work` against the store; service errors become a clean `error: ...` and exit code 1.
    `changes`: `work` may change accounts, so running gateways are told (see `with_store`)."""
    try:
        return with_store(settings, work, changes="accounts" if changes else None)
    except USER_ERRORS as exc:
        fail(_message(exc))
        raise


def _message(exc: BaseException) -> str:
    message = exc.message if isinstance(exc, SwitchyardError) else str(exc)
    if "SWITCHYARD_ANTIGRAVITY_CLIENT" in message:
        message += f" ({SECRET_HELP})"
    return message


def _added(account: AccountPublic, as_json: bool, check_hint: bool) -> None:
    if as_json:
        print_json(_list_json(account))
        return
    provider = service.display_provider(account.provider)
    console.print(f"Added {provider} account [bold]{account.name}[/bold] ({account.secret_fingerprint}).")
    if check_hint:
        console.print(f"Run `switchyard accounts check {account.name}` to verify it and find its project.")


# --- add ----------------------------------------------------------------------------------------


@add_app.command("antigravity")
def add_antigravity(
    refresh_token: str = typer.Option(..., "--refresh-token", help="The Google OAuth refresh token."),
    project_id: str | None = typer.Option(
        None, "--project-id", help="Cloud Code project (default: discovered)."
    ),
    name: str | None = NameOption,
    proxy: str | None = ProxyOption,
    user_agent: str | None = UserAgentOption,
    check: bool = typer.Option(False, "--check/--no-check", help="Verify it against Google right away."),
    as_json: bool = JsonOption,
    config: str | None = ConfigOption,
) -> None:
    """Add an Antigravity account from a refresh token (no network unless --check)."""
    settings = settings_from(config)

    async def work(store: Store) -> tuple[AccountPublic, list[CheckResult]]:
        account = await service.add_antigravity(
            store,
            refresh_token=refresh_token,
            project_id=project_id,
            name=name,
            proxy_url=proxy,
            user_agent=user_agent,
        )
        if not check:
            return account, []
        results = await service.check_accounts(store, settings, [account.name])
        return await service.get_account(store, account.name), results

    account, results = _run(settings, work)
    if results and as_json:
        print_json({**_list_json(account), "check": results[0].to_json()})
    else:
        _added(account, as_json, check_hint=not check)
    if results:
        if not as_json:
            _print_check_table(results)
        if results[0].failed:
            raise typer.Exit(1)


@add_app.command("gemini-web")
def add_gemini_web(
    psid: str = typer.Option(..., "--psid", help="The __Secure-1PSID cookie of gemini.google.com."),
    psidts: str | None = typer.Option(
        None, "--psidts", help="The __Secure-1PSIDTS cookie, if the browser has one."
    ),
    name: str | None = NameOption,
    proxy: str | None = ProxyOption,
    as_json: bool = JsonOption,
    config: str | None = ConfigOption,
) -> None:
    """Add a Gemini web account from its browser cookies."""
    account = _run(
        settings_from(config),
        lambda store: service.add_gemini_web(store, psid=psid, psidts=psidts, name=name, proxy_url=proxy),
    )
    _added(account, as_json, check_hint=False)


# --- list -----------------------------------------------------------------------------------------


def _state_cell(account: AccountPublic) -> str:
    state = service.account_state(account)
    lines = [state + (" (disabled)" if state not in ("active", "disabled") and not account.enabled else "")]
    if account.status_reason:
        lines.append(account.status_reason)
    if account.status_url:
        lines.append(account.status_url)
    return "\n".join(lines)


def _models_cell(account: AccountPublic, now: float) -> str:
    lines = []
    for state in account.models:
        parts = [state.model + ":"]
        if state.quota_remaining is not None:
            parts.append(f"{state.quota_remaining * 100:.0f}% left")
        if state.quota_reset_at is not None:
            parts.append(f"resets {when(state.quota_reset_at)}")
        if state.cooldown_until and state.cooldown_until > now:
            parts.append(f"cooling until {when(state.cooldown_until)} ({state.cooldown_reason or 'resting'})")
        lines.append(" ".join(parts))
    return "\n".join(lines) or "-"


def _picker_cell(account: AccountPublic) -> str:
    """A Gemini web account's own model picker, as last read (sign-in, a request, or `check`)."""
    return "\n".join(service.describe_picker_entry(entry) for entry in account.web_picker) or "-"


def _list_json(account: AccountPublic) -> dict[str, Any]:
    return {
        **account.to_json(),
        "provider": service.display_provider(account.provider),
        "state": service.account_state(account),
    }


@app.command("list")
def list_accounts(as_json: bool = JsonOption, config: str | None = ConfigOption) -> None:
    """List accounts: state (and why), fingerprint, project, proxy, last use, quota and cooldowns."""
    accounts: list[AccountPublic] = _run(settings_from(config), service.list_accounts, changes=False)
    if as_json:
        print_json([_list_json(account) for account in accounts])
        return
    if not accounts:
        console.print(
            "No accounts yet: `switchyard accounts login antigravity`, `add` or `import` (see --help)."
        )
        return
    now = time.time()
    table = Table(
        "provider",
        "name",
        "state",
        "secret",
        "project / web picker",
        "proxy / own UA",
        "last used",
        "model families",
    )
    for account in accounts:
        table.add_row(
            service.display_provider(account.provider),
            account.name + (f"\n{account.email}" if account.email else ""),
            _state_cell(account),
            account.secret_fingerprint,
            account.project_id or _picker_cell(account),
            (account.proxy or "-") + (f"\nUA {account.user_agent}" if account.user_agent else ""),
            when(account.last_used_at),
            _models_cell(account, now),
        )
    console.print(table)


# --- check ----------------------------------------------------------------------------------------


def _quota_cell(result: CheckResult) -> str:
    return "\n".join(f"{q.family}: {q.remaining_fraction * 100:.0f}%" for q in result.quotas) or "-"


def _print_check_table(results: list[CheckResult]) -> None:
    table = Table("name", "provider", "result", "project", "quota left", "detail")
    colours = {"ok": "green", "skipped": "yellow"}
    for result in results:
        colour = colours.get(result.outcome, "red")
        table.add_row(
            result.name,
            service.display_provider(result.provider),
            f"[{colour}]{result.outcome}[/{colour}]",
            result.project_id or "-",
            _quota_cell(result),
            "\n".join([result.message, *(f"[yellow]drift:[/yellow] {note}" for note in result.drift)]),
        )
    console.print(table)


async def _check_with_progress(
    store: Store, settings: Settings, names: list[str], show: bool, concurrency: int
) -> list[CheckResult]:
    total = len(await service.list_accounts(store)) if not names else len(names)
    with Progress(
        TextColumn("checking accounts"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not show or total < 2,
    ) as progress:
        task = progress.add_task("check", total=total)

        def advance(result: CheckResult) -> None:
            progress.advance(task)
            if result.failed:
                progress.console.print(
                    f"{result.name}: [red]{result.outcome}[/red] {result.message}", highlight=False
                )

        return await service.check_accounts(
            store, settings, names, concurrency=concurrency, on_result=advance
        )


@app.command("check")
def check(
    names: list[str] = typer.Argument(None, help="Accounts to check (default: all)."),
    concurrency: int = typer.Option(
        service.CHECK_CONCURRENCY, "--concurrency", min=1, help="Checks at once."
    ),
    as_json: bool = JsonOption,
    config: str | None = ConfigOption,
) -> None:
    """Refresh each account's token, find its project and read its quota; exit 1 if any failed.

    A revoked token marks the account dead (log in again); a 403 marks it forbidden with Google's
    reason and link.
    """
    settings = settings_from(config)
    wanted = list(names or [])
    results: list[CheckResult] = _run(
        settings,
        lambda store: _check_with_progress(
            store, settings, wanted, errors.is_terminal and not as_json, concurrency
        ),
    )
    if as_json:
        print_json([result.to_json() for result in results])
    elif results:
        _print_check_table(results)
    else:
        console.print("No accounts to check.")
    if any(result.failed for result in results):
        raise typer.Exit(1)


# --- import ---------------------------------------------------------------------------------------


@app.command("import")
def import_accounts(
    path: Path = typer.Argument(..., help="An export file, or a directory of CLIProxyAPI auth files."),
    provider: str | None = typer.Option(
        None, "--provider", help="antigravity or gemini-web (for bare tokens)."
    ),
    proxy: str | None = ProxyOption,
    as_json: bool = JsonOption,
    config: str | None = ConfigOption,
) -> None:
    """Import from CLIProxyAPI / antigravity2api exports, token lists or browser cookie exports."""
    report: importers.ImportReport = _run(
        settings_from(config),
        lambda store: importers.import_accounts(store, path, provider=provider, proxy_url=proxy),
    )
    if as_json:
        print_json(report.to_json())
        return
    if report.imported:
        table = Table("imported", "provider", "email", "project", "secret", "from", title="Imported")
        for item in report.imported:
            table.add_row(
                item.name,
                item.provider,
                item.email or "-",
                item.project_id or "-",
                item.secret_fingerprint,
                item.source,
            )
        console.print(table)
    if report.skipped:
        table = Table("skipped", "why", title="Skipped")
        for entry in report.skipped:
            table.add_row(entry.source + (f"\n{entry.email}" if entry.email else ""), entry.reason)
        console.print(table)
    console.print(f"{len(report.imported)} imported, {len(report.skipped)} skipped.")
    if report.imported:
        console.print("Run `switchyard accounts check` to verify them and find their projects.")


# --- login ----------------------------------------------------------------------------------------


@login_app.command("antigravity")
def login_antigravity(
    name: str | None = typer.Option(None, "--name", help="Account name; an existing one gets the new token."),
    proxy: str | None = ProxyOption,
    port: int = typer.Option(login.DEFAULT_CALLBACK_PORT, "--port", help="Local port of the OAuth callback."),
    bind: str = typer.Option(
        "127.0.0.1", "--bind", help="Address the callback server listens on (0.0.0.0 inside a container)."
    ),
    no_browser: bool = typer.Option(False, "--no-browser", help="Only print the sign-in URL."),
    timeout: float = typer.Option(
        login.DEFAULT_TIMEOUT_S, "--timeout", min=1, help="Seconds to wait for the sign-in."
    ),
    as_json: bool = JsonOption,
    config: str | None = ConfigOption,
) -> None:
    """Sign in with Google in a browser; the account is stored and checked.

    Listens on http://localhost:PORT/oauth-callback for Google's redirect. On a remote server, forward
    the port first: ssh -L 51121:localhost:51121 server (docs/credentials.md).
    """
    settings = settings_from(config)

    async def work(store: Store) -> tuple[login.LoginOutcome, list[CheckResult]]:
        outcome = await _login_flow(store, settings, name, proxy, (bind, port), not no_browser, timeout)
        results = await service.check_accounts(store, settings, [outcome.account.name])
        return outcome, results

    outcome, results = _run(settings, work)
    account = outcome.account
    if as_json:
        print_json({**_list_json(account), "created": outcome.created, "check": results[0].to_json()})
    else:
        verb = "Added" if outcome.created else "Updated"
        console.print(
            f"{verb} antigravity account [bold]{account.name}[/bold] ({account.email or 'no email'})."
        )
        _print_check_table(results)
    if results[0].failed:
        raise typer.Exit(1)


async def _login_flow(
    store: Store,
    settings: Settings,
    name: str | None,
    proxy: str | None,
    listen: tuple[str, int],
    browser: bool,
    timeout: float,
) -> login.LoginOutcome:
    """Listen first (a busy port fails before the user signs in), print the URL, wait, store."""
    bind, port = listen
    validate_proxy(proxy)
    request = login.new_login(
        settings, login.redirect_uri_for(port), login_hint=await login.login_hint_for(store, name)
    )
    server = login.CallbackServer(request.state)
    await server.listen(port, bind)
    try:
        errors.print(
            f"Open this URL in a browser and sign in (waiting up to {timeout:.0f} s on port {port}):"
        )
        # Unwrapped, on stderr: people copy it whole, and stdout stays the result (--json).
        typer.echo(request.auth_url, err=True)
        if browser:
            await asyncio.to_thread(webbrowser.open, request.auth_url)
        code = await server.wait(timeout)
    finally:
        await server.close()
    return await login.finish_login(
        store, settings, code=code, redirect_uri=request.redirect_uri, name=name, proxy_url=proxy
    )


# --- set, enable, disable, delete -----------------------------------------------------------------


@app.command("set")
def set_fields(
    name: str,
    user_agent: str | None = typer.Option(
        None,
        "--user-agent",
        help="Antigravity: this account's own User-Agent; '' goes back to SWITCHYARD_ANTIGRAVITY_USER_AGENT.",
    ),
    as_json: bool = JsonOption,
    config: str | None = ConfigOption,
) -> None:
    """Change an account's settings (for now its User-Agent; the credential stays as it is)."""
    if user_agent is None:
        fail("nothing to change: give --user-agent UA (or --user-agent '' to use the gateway's setting)")
    account: AccountPublic = _run(
        settings_from(config), lambda store: service.set_user_agent(store, name, user_agent)
    )
    if as_json:
        print_json(_list_json(account))
    elif account.user_agent:
        console.print(f"Account {name} now sends User-Agent: {account.user_agent}")
    else:
        console.print(
            f"Account {name} now sends the gateway's User-Agent (SWITCHYARD_ANTIGRAVITY_USER_AGENT)."
        )


@app.command("enable")
def enable(name: str, config: str | None = ConfigOption) -> None:
    """Put an account back in rotation (also clears a dead/forbidden mark)."""

    async def work(store: Store) -> AccountPublic:
        before = await service.get_account(store, name)
        await service.set_enabled(store, name, True)
        return before

    before = _run(settings_from(config), work)
    console.print(f"Account {name} enabled.")
    if before.status != "active":
        console.print(
            f"It was {before.status}: {before.status_reason or 'no reason recorded'}. If that is not fixed, the next request marks it again."
        )


@app.command("disable")
def disable(name: str, config: str | None = ConfigOption) -> None:
    """Take an account out of rotation (it keeps its credential)."""
    _run(settings_from(config), lambda store: service.set_enabled(store, name, False))
    console.print(f"Account {name} disabled.")


@app.command("delete")
def delete(name: str, config: str | None = ConfigOption) -> None:
    """Delete an account and its credential for good."""
    _run(settings_from(config), lambda store: service.delete_account(store, name))
    console.print(f"Account {name} deleted.")
