"""The Cloud Code emulator's state and its control API beyond base.py's faults/requests/reset.

    POST /_control/accounts       {"name": "antigravity-1", "project_style": "string"|"object"|"onboard",
                                   "onboard_polls": 2, "tier": "free-tier", "project_id": "...",
                                   "quota_requests": 200, "quota_window_s": 18000,
                                   "weekly_quota_requests": 2000, "weekly_window_s": 604800,
                                   "pool": "gemini"|"3p" (optional: only that pool), "reset_quota": true}
    GET  /_control/accounts
    POST /_control/settings       {"events_per_stream": N, "bytes_per_event": B, "event_delay_ms": D,
                                   "split_usage": true|false|null}
    GET  /_control/settings
    POST /_control/versions       {"floor": "1.22.0", "cli_floor": "1.0.0",
                                   "model_floors": {"gemini-3.8-flash-high": "2.11.0", "id": null},
                                   "cli_model_floors": {...}}
    GET  /_control/versions
    POST /_control/retire         {"model": "gemini-3-flash", "replacement": "gemini-3.8-flash-high",
                                   "deprecated": false, "latest_version": false}
    GET  /_control/retire         the retirements in force
    POST /_control/content_filter {"phrases": ["RFC 2119: MUST, …"]}
    GET  /_control/content_filter
    POST /_control/script         {"match": {"account": .., "model": ..}, "replies": [{"text": ".."},
                                   {"function_call": {"name": "..", "args": {..}}}]}   (cloudcode_scripts.py)
    GET  /_control/script         the replies still queued

`POST /_control/reset` restores all of it (accounts, quota, settings, catalogue, floors, phrases, scripts).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from switchyard.emulators.base import EmulatorState
from switchyard.emulators.cloudcode_accounts import (
    DEFAULT_ONBOARD_POLLS,
    DEFAULT_QUOTA_REQUESTS,
    DEFAULT_QUOTA_WINDOW_S,
    Account,
    account_public,
    configure_account,
    new_account,
)
from switchyard.emulators.cloudcode_catalogue import Catalogue
from switchyard.emulators.cloudcode_lineup import Retirement
from switchyard.emulators.cloudcode_scripts import Scripts
from switchyard.emulators.cloudcode_stream import StreamSettings

DEFAULT_FILTER_PHRASES = ("RFC 2119: MUST, REQUIRED, SHOULD, RECOMMENDED, MAY, OPTIONAL.",)
"""The line bisected in oh-my-pi PR#11730 (§12.6): a `systemInstruction` holding it gets the bare 429."""


@dataclass
class CloudCodeState:
    """Everything the emulator remembers besides faults and the log."""

    emulator: EmulatorState
    quota_requests: int = DEFAULT_QUOTA_REQUESTS
    quota_window_s: float = DEFAULT_QUOTA_WINDOW_S
    onboard_polls: int = DEFAULT_ONBOARD_POLLS
    accounts: dict[str, Account] = field(default_factory=dict)
    settings: StreamSettings = field(default_factory=StreamSettings)
    catalogue: Catalogue = field(default_factory=Catalogue)
    filter_phrases: list[str] = field(default_factory=lambda: list(DEFAULT_FILTER_PHRASES))
    scripts: Scripts = field(default_factory=Scripts)

    def account(self, name: str) -> Account:
        """Accounts spring into existence on first use, with the app's defaults."""
        if name not in self.accounts:
            self.accounts[name] = new_account(
                name,
                quota_requests=self.quota_requests,
                quota_window_s=self.quota_window_s,
                onboard_polls=self.onboard_polls,
            )
        return self.accounts[name]

    def filtered(self, system_text: str) -> bool:
        """Exact, case-sensitive substring match, as the bisection found (lower-casing passes)."""
        return any(phrase and phrase in system_text for phrase in self.filter_phrases)

    def reset(self) -> None:
        self.accounts.clear()
        self.settings = StreamSettings()
        self.catalogue.reset()
        self.filter_phrases = list(DEFAULT_FILTER_PHRASES)
        self.scripts.reset()


def _retirement_public(retirement: Retirement) -> dict[str, Any]:
    return {
        "model": retirement.model,
        "replacement": retirement.replacement,
        "deprecated": retirement.deprecated,
        "text": retirement.text,
    }


def _phrases(spec: dict[str, Any]) -> list[str]:
    phrases = spec.get("phrases")
    if not isinstance(phrases, list) or not all(isinstance(p, str) and p for p in phrases):
        raise ValueError("`phrases` must be a list of non-empty strings")
    return list(phrases)


JsonHandler = Callable[[dict[str, Any]], Any]


def _post(handler: JsonHandler) -> Callable[[Request], Awaitable[Response]]:
    """A POST route that takes a JSON object and answers 400 on a ValueError."""

    async def endpoint(request: Request) -> Response:
        try:
            spec = await request.json()
            if not isinstance(spec, dict):
                raise ValueError("the body must be a JSON object")
            return JSONResponse(handler(spec))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return endpoint


def _get(produce: Callable[[], Any]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return JSONResponse(produce())

    return endpoint


def cloudcode_control_routes(state: CloudCodeState) -> list[Route]:
    def post_account(spec: dict[str, Any]) -> Any:
        if not isinstance(spec.get("name"), str):
            raise ValueError("the body must be a JSON object with a string `name`")
        account = state.account(spec["name"])
        configure_account(account, spec)
        return account_public(account)

    def post_settings(spec: dict[str, Any]) -> Any:
        state.settings.update(spec)
        return state.settings.public()

    def post_versions(spec: dict[str, Any]) -> Any:
        state.catalogue.floors.update(spec)
        return state.catalogue.floors.public()

    def post_retire(spec: dict[str, Any]) -> Any:
        return _retirement_public(state.catalogue.retire(spec))

    def post_filter(spec: dict[str, Any]) -> Any:
        state.filter_phrases = _phrases(spec)
        return {"phrases": state.filter_phrases}

    def post_script(spec: dict[str, Any]) -> Any:
        return {"queued": state.scripts.add(spec).public()}

    return [
        Route("/_control/script", _post(post_script), methods=["POST"]),
        Route("/_control/script", _get(state.scripts.public)),
        Route("/_control/accounts", _post(post_account), methods=["POST"]),
        Route("/_control/accounts", _get(lambda: [account_public(a) for a in state.accounts.values()])),
        Route("/_control/settings", _post(post_settings), methods=["POST"]),
        Route("/_control/settings", _get(lambda: state.settings.public())),
        Route("/_control/versions", _post(post_versions), methods=["POST"]),
        Route("/_control/versions", _get(lambda: state.catalogue.floors.public())),
        Route("/_control/retire", _post(post_retire), methods=["POST"]),
        Route(
            "/_control/retire",
            _get(lambda: [_retirement_public(r) for r in state.catalogue.retirements.values()]),
        ),
        Route("/_control/content_filter", _post(post_filter), methods=["POST"]),
        Route("/_control/content_filter", _get(lambda: {"phrases": state.filter_phrases})),
    ]
