"""`switchyard serve`, `migrate`, `emulate` and `demo`."""

from __future__ import annotations

import asyncio

import typer
import uvicorn

from switchyard.cli.common import ConfigOption, console, settings_from
from switchyard.config import Settings
from switchyard.http_protocol import server_options
from switchyard.logs import configure_logging
from switchyard.store.db import wait_for_store
from switchyard.tuning import tune_process

EMULATOR_NAMES = ("oauth", "antigravity", "gemini-web")


def run_uvicorn(app: object, settings: Settings) -> None:
    """uvicorn with uvloop and httptools (with the gateway's connection deadlines, http_protocol.py);
    on SIGTERM it stops accepting and lets streams finish."""
    grace_s = settings.shutdown_grace_s
    uvicorn.run(
        app,  # type: ignore[arg-type]
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=int(grace_s) if grace_s else None,
        server_header=False,
        log_config=None,
        **server_options(settings),
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str | None = typer.Option(None, "--host", help="Address to listen on (SWITCHYARD_HOST)."),
        port: int | None = typer.Option(None, "--port", help="Port to listen on (SWITCHYARD_PORT)."),
        config: str | None = ConfigOption,
    ) -> None:
        """Serve the gateway."""
        from switchyard.app import create_app

        settings = settings_from(config)
        if host:
            settings.host = host
        if port:
            settings.port = port
        configure_logging(settings.log_level, settings.log_format)
        if not asyncio.run(wait_for_store(settings)):
            console.print(
                f"[red]The database stayed unreachable for {settings.store_wait_s:.0f} s "
                "(SWITCHYARD_STORE_WAIT_S); not starting.[/red]"
            )
            raise typer.Exit(1)
        console.print(
            f"Switchyard listening on http://{settings.host}:{settings.port} (store: {_store_name(settings)})"
        )
        app = create_app(settings)
        tune_process()  # after the imports and the app are built: they are what the collector should skip
        run_uvicorn(app, settings)

    @app.command()
    def migrate(config: str | None = ConfigOption) -> None:
        """Apply the store's migrations and exit."""
        from switchyard.store.db import create_engine
        from switchyard.store.db import migrate as run_migrations

        settings = settings_from(config)

        async def work() -> None:
            engine = create_engine(settings.effective_database_url)
            try:
                await run_migrations(engine)
            finally:
                await engine.dispose()

        asyncio.run(work())
        console.print(f"Store migrated: {_store_name(settings)}")

    @app.command()
    def demo(
        host: str = typer.Option("127.0.0.1", "--host"),
        port: int = typer.Option(8080, "--port"),
        api_key: str | None = typer.Option(
            None, "--api-key", help="The client key to accept (default: generated)."
        ),
    ) -> None:
        """Serve the whole gateway on the built-in emulators, with a throw-away store."""
        from switchyard.demo import run_demo

        configure_logging("warning")
        run_demo(host, port, api_key)

    @app.command()
    def emulate(
        name: str = typer.Argument(..., help=f"Which emulator: {', '.join(EMULATOR_NAMES)}."),
        host: str = typer.Option("127.0.0.1", "--host"),
        port: int = typer.Option(..., "--port"),
    ) -> None:
        """Run one emulator of a Google upstream on its own (for tests and your own CI)."""
        from switchyard.emulators.registry import build_emulator

        try:
            emulator = build_emulator(name)
        except KeyError:
            console.print(
                f"[red]error:[/red] unknown emulator {name!r}; choose one of {', '.join(EMULATOR_NAMES)}"
            )
            raise typer.Exit(2) from None
        configure_logging("warning")
        console.print(f"{name} emulator on http://{host}:{port} (control API: /_control/)")
        emulator.run(host, port)


def _store_name(settings: object) -> str:
    url = getattr(settings, "effective_database_url", "")
    if "@" in url:  # hide credentials in a PostgreSQL URL
        scheme, _, rest = url.partition("://")
        url = f"{scheme}://…@{rest.split('@', 1)[1]}"
    return str(url)
