"""`switchyard emulate NAME`: run one emulator on its own port."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from switchyard.emulators import cloudcode, gemini_web, google_oauth, tls_proxy


@dataclass
class RunnableEmulator:
    name: str
    run: Callable[[str, int], None]


def _serve_app(factory: Callable[[], object]) -> Callable[[str, int], None]:
    def run(host: str, port: int) -> None:
        uvicorn.run(factory(), host=host, port=port, log_level="warning")  # type: ignore[arg-type]

    return run


def _run_gemini_web(host: str, port: int) -> None:
    ca_dir = Path(tempfile.gettempdir()) / "switchyard-gemini-web-ca"
    print(f"CA certificate for clients to trust: {ca_dir / 'ca.pem'} (use this port as the HTTPS proxy)")
    tls_proxy.run_gemini_web(gemini_web.create_app(), host, port, ca_dir)


EMULATORS: dict[str, RunnableEmulator] = {
    "oauth": RunnableEmulator("oauth", _serve_app(google_oauth.create_app)),
    "antigravity": RunnableEmulator("antigravity", _serve_app(cloudcode.create_app)),
    "gemini-web": RunnableEmulator("gemini-web", _run_gemini_web),
}


def build_emulator(name: str) -> RunnableEmulator:
    return EMULATORS[name]
