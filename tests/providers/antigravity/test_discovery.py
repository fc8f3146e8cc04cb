"""Project discovery against the Cloud Code emulator: string, object and onboarding flows (§3)."""

from __future__ import annotations

import time

import pytest

from switchyard.emulators.cloudcode_catalogue import derive_project_id
from switchyard.errors import UpstreamTransient
from switchyard.providers.antigravity import AntigravityClient

from .conftest import Emulator, register_account, upstream_settings

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("style", ["string", "object"])
async def test_discovery_reads_the_project(oauth: Emulator, cloudcode: Emulator, style: str) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.control(
        "POST",
        "accounts",
        {"name": "antigravity-1", "project_style": style, "project_id": "calm-orbit-1a2b3"},
    )
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        assert await client.discover_project(account) == "calm-orbit-1a2b3"
    finally:
        await client.aclose()
    [load] = cloudcode.requests("/v1internal:loadCodeAssist")
    assert load["body"] == {"metadata": {"ideType": "ANTIGRAVITY"}}
    assert cloudcode.requests("/v1internal:onboardUser") == []
    assert account.project_id is None, "discover_project leaves persisting to the caller"


async def test_discovery_onboards_an_account_without_project(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.control(
        "POST",
        "accounts",
        {"name": "antigravity-1", "project_style": "onboard", "onboard_polls": 2, "tier": "standard-tier"},
    )
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    client.onboard_policy = type(client.onboard_policy)(attempts=5, interval_s=0.05)
    try:
        check = await client.check(account)
    finally:
        await client.aclose()
    assert check.project_id == derive_project_id("antigravity-1") == account.project_id
    assert check.project_discovered and check.tier_id == "standard-tier"
    onboards = cloudcode.requests("/v1internal:onboardUser")
    assert len(onboards) == 3, "two polls in progress, then done"
    assert onboards[0]["body"]["tier_id"] == "standard-tier"
    assert onboards[0]["body"]["metadata"]["ide_type"] == "ANTIGRAVITY"
    assert check.quotas["gemini"].remaining_fraction == 1.0
    assert check.quotas["3p"].remaining_fraction == 1.0
    assert check.token_expires_at is not None and check.token_expires_at > time.time()


async def test_onboarding_that_never_finishes_is_transient(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.control(
        "POST", "accounts", {"name": "antigravity-1", "project_style": "onboard", "onboard_polls": 10}
    )
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    client.onboard_policy = type(client.onboard_policy)(attempts=3, interval_s=0.01)
    try:
        with pytest.raises(UpstreamTransient, match="onboarding still in progress"):
            await client.discover_project(account)
    finally:
        await client.aclose()
