"""Cloud project discovery: `loadCodeAssist`, then `onboardUser` when the account has no project.

Every generate call must name the account's Cloud Code project. Proxies that invented one drew
403 `CONSUMER_INVALID` (protocols §3), so the project is asked of the upstream the way the IDE does:
`loadCodeAssist` returns it for an account that has used Antigravity before; a fresh account is
onboarded into its default tier, a long-running operation we poll by re-posting (as CPA does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from switchyard.config import Settings
from switchyard.errors import AccountForbidden, UpstreamTransient

from .errors import classify_error
from .protocol import LOAD_CODE_ASSIST_PATH, ONBOARD_USER_PATH, onboard_headers, request_headers

log = logging.getLogger(__name__)

DEFAULT_TIER = "free-tier"


@dataclass(frozen=True)
class OnboardPolicy:
    """How long to wait for onboarding (CPA: 5 polls, 2 s apart)."""

    attempts: int = 5
    interval_s: float = 2.0


@dataclass(frozen=True)
class ProjectDiscovery:
    """What discovery learned; the caller persists `project_id`."""

    project_id: str
    tier_id: str | None
    onboarded: bool


def project_id_of(value: Any) -> str | None:
    """`cloudaicompanionProject` is a string in some replies and `{"id": ...}` in others."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        found = value.get("id") or value.get("projectId")
        return found if isinstance(found, str) and found else None
    return None


def choose_tier(load_reply: Mapping[str, Any]) -> str:
    """The tier to onboard into: the default allowed tier, else the current one, else `free-tier`."""
    for tier in load_reply.get("allowedTiers") or []:
        if isinstance(tier, Mapping) and tier.get("isDefault") and tier.get("id"):
            return str(tier["id"])
    current = load_reply.get("currentTier")
    if isinstance(current, Mapping) and current.get("id"):
        return str(current["id"])
    return DEFAULT_TIER


def _ineligible_note(load_reply: Mapping[str, Any]) -> str:
    notes = [
        str(tier.get("reasonMessage") or tier.get("reasonCode"))
        for tier in load_reply.get("ineligibleTiers") or []
        if isinstance(tier, Mapping) and (tier.get("reasonMessage") or tier.get("reasonCode"))
    ]
    return f" ({'; '.join(notes)})" if notes else ""


async def _post_json(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    """POST and return the JSON object; non-2xx raises the classified upstream error."""
    response = await http.post(url, content=orjson.dumps(body), headers=headers)
    if response.status_code >= 300:
        raise classify_error(response.status_code, response.content, response.headers)
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise UpstreamTransient(f"Antigravity sent a non-JSON reply to {url.rsplit(':', 1)[-1]}")
    return data


async def load_code_assist(
    http: httpx.AsyncClient, settings: Settings, access_token: str, *, user_agent: str | None = None
) -> dict[str, Any]:
    """The account's Code Assist state: project, current and allowed tiers."""
    url = settings.antigravity_discovery_url.rstrip("/") + LOAD_CODE_ASSIST_PATH
    body = {"metadata": {"ideType": "ANTIGRAVITY"}}
    try:
        return await _post_json(
            http, url, body, request_headers(settings, access_token, user_agent=user_agent)
        )
    except httpx.TransportError as exc:
        raise UpstreamTransient(f"Antigravity loadCodeAssist unreachable ({type(exc).__name__})") from None


async def onboard_user(
    http: httpx.AsyncClient,
    settings: Settings,
    access_token: str,
    tier_id: str,
    *,
    policy: OnboardPolicy = OnboardPolicy(),
    user_agent: str | None = None,
) -> str:
    """Provision the account's managed project and wait for the operation to finish."""
    body = {
        "tier_id": tier_id,
        "metadata": {
            "ide_type": "ANTIGRAVITY",
            "ide_version": settings.antigravity_client_version,
            "ide_name": "antigravity",
        },
    }
    headers = onboard_headers(settings, access_token, user_agent)
    last_error: Exception | None = None
    for base_url in _hosts(settings.antigravity_base_urls):
        url = base_url.rstrip("/") + ONBOARD_USER_PATH
        try:
            return await _poll_onboarding(http, url, body, headers, policy)
        except httpx.TransportError as exc:
            log.info("onboardUser on %s failed (%s); trying the next host", base_url, type(exc).__name__)
            last_error = exc
    raise UpstreamTransient(
        f"Antigravity onboardUser unreachable on every host ({type(last_error).__name__})"
    ) from None


def _hosts(base_urls: Sequence[str]) -> Sequence[str]:
    if not base_urls:
        raise UpstreamTransient("no Antigravity base URL is configured (SWITCHYARD_ANTIGRAVITY_BASE_URLS)")
    return base_urls


async def _poll_onboarding(
    http: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    policy: OnboardPolicy,
) -> str:
    for attempt in range(max(1, policy.attempts)):
        if attempt:
            await asyncio.sleep(policy.interval_s)
        operation = await _post_json(http, url, body, headers)
        if not operation.get("done"):
            continue
        response = operation.get("response")
        project = (
            project_id_of(response.get("cloudaicompanionProject")) if isinstance(response, Mapping) else None
        )
        if project is None:
            raise AccountForbidden(
                "Antigravity onboarding finished without a Cloud project for this account",
                reason="NO_PROJECT",
            )
        return project
    raise UpstreamTransient(
        f"Antigravity onboarding still in progress after {policy.attempts} polls; try again later",
        reason="ONBOARDING_PENDING",
    )


async def discover_project(
    http: httpx.AsyncClient,
    settings: Settings,
    access_token: str,
    *,
    policy: OnboardPolicy = OnboardPolicy(),
    user_agent: str | None = None,
) -> ProjectDiscovery:
    """The account's project: from `loadCodeAssist`, else by onboarding into the chosen tier.
    `user_agent` is the account's own, if it has one."""
    reply = await load_code_assist(http, settings, access_token, user_agent=user_agent)
    current = reply.get("currentTier")
    current_tier = str(current["id"]) if isinstance(current, Mapping) and current.get("id") else None
    project = project_id_of(reply.get("cloudaicompanionProject"))
    if project is not None:
        return ProjectDiscovery(project_id=project, tier_id=current_tier, onboarded=False)
    tier = choose_tier(reply)
    log.info("account has no Cloud Code project; onboarding into tier %s", tier)
    try:
        project = await onboard_user(http, settings, access_token, tier, policy=policy, user_agent=user_agent)
    except AccountForbidden as exc:
        raise AccountForbidden(exc.message + _ineligible_note(reply), reason=exc.reason) from None
    return ProjectDiscovery(project_id=project, tier_id=tier, onboarded=True)
