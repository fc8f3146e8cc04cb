"""Cloud Code emulator: authentication, project discovery (loadCodeAssist/onboardUser) and the catalogue."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from switchyard.emulators.cloudcode import create_app
from tests.emulators.test_cloudcode_support import (
    ACCOUNT,
    OTHER_ACCOUNT,
    CloudCode,
    ask,
    error_of,
    served,
    token_for,
)
from tests.servers import serve

PROJECT_PATTERN = re.compile(r"^[a-z]+-[a-z]+-[0-9a-f]{5}$")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(create_app()) as base:
        yield base


@pytest.fixture
def cc(server: str) -> Iterator[CloudCode]:
    yield from served(server)


def post(cc: CloudCode, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return cc.http.post("/v1internal:generateContent", json={"model": "gemini-3-flash"}, headers=headers)


@pytest.mark.parametrize(
    ("authorization", "reason", "message_start"),
    [
        (None, "CREDENTIALS_MISSING", "Request is missing required authentication credential."),
        (
            "Bearer ya29.not-a-real-token",
            "ACCESS_TOKEN_TYPE_UNSUPPORTED",
            "Request had invalid authentication",
        ),
        (
            "Basic dXNlcjpwYXNz",
            "CREDENTIALS_MISSING",
            "Request is missing required authentication credential.",
        ),
    ],
)
def test_bad_credentials_are_401_unauthenticated(
    cc: CloudCode, authorization: str | None, reason: str, message_start: str
) -> None:
    response = post(cc, authorization)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    error = error_of(response)
    assert (error["code"], error["status"]) == (401, "UNAUTHENTICATED")
    assert error["message"].startswith(message_start)
    assert error["details"][0]["reason"] == reason


def test_expired_token_is_401(cc: CloudCode) -> None:
    response = post(cc, f"Bearer {token_for(ACCOUNT, lifetime_s=-5)}")
    assert response.status_code == 401
    assert error_of(response)["details"][0]["reason"] == "ACCESS_TOKEN_EXPIRED"


def test_request_log_names_the_account_and_masks_the_token(cc: CloudCode) -> None:
    cc.call("loadCodeAssist", {"metadata": {"ideType": "ANTIGRAVITY"}}, account=OTHER_ACCOUNT)
    post(cc, None)
    log = cc.control("requests")
    assert [entry["account"] for entry in log] == [OTHER_ACCOUNT, None]
    assert log[0]["path"] == "/v1internal:loadCodeAssist"
    assert log[0]["body"] == {"metadata": {"ideType": "ANTIGRAVITY"}}
    assert log[0]["headers"]["authorization"].startswith("Bearer …")
    assert "ya29." not in log[0]["headers"]["authorization"]


def test_project_is_a_string_derived_from_the_account_name(cc: CloudCode) -> None:
    reply = cc.call("loadCodeAssist", {"metadata": {"ideType": "ANTIGRAVITY"}}).json()
    project = reply["cloudaicompanionProject"]
    assert isinstance(project, str) and PROJECT_PATTERN.match(project)
    assert reply["currentTier"]["id"] == "free-tier"
    assert any(tier["isDefault"] for tier in reply["allowedTiers"])
    assert cc.project() == project
    assert cc.project(OTHER_ACCOUNT) != project


def test_object_project_style(cc: CloudCode) -> None:
    string_project = cc.project()
    cc.control("accounts", {"name": ACCOUNT, "project_style": "object"})
    reply = cc.call("loadCodeAssist", {"metadata": {"ideType": "ANTIGRAVITY"}}).json()
    assert reply["cloudaicompanionProject"] == {"id": string_project, "name": string_project}


def test_onboarding_flow(cc: CloudCode) -> None:
    cc.control("accounts", {"name": ACCOUNT, "project_style": "onboard", "onboard_polls": 2})
    reply = cc.call("loadCodeAssist", {"metadata": {"ideType": "ANTIGRAVITY"}}).json()
    assert "cloudaicompanionProject" not in reply and "currentTier" not in reply
    default_tier = next(tier["id"] for tier in reply["allowedTiers"] if tier["isDefault"])

    onboard = {"tier_id": default_tier, "metadata": {"ide_type": "ANTIGRAVITY", "ide_name": "antigravity"}}
    polls = [cc.call("onboardUser", onboard).json() for _ in range(3)]
    assert [poll["done"] for poll in polls] == [False, False, True]
    project = polls[2]["response"]["cloudaicompanionProject"]["id"]
    assert PROJECT_PATTERN.match(project)
    assert cc.project() == project


def test_onboard_account_has_no_project_until_onboarded(cc: CloudCode) -> None:
    derived = cc.project()
    cc.control("accounts", {"name": ACCOUNT, "project_style": "onboard", "onboard_polls": 0})
    body = {"project": derived, "model": "gemini-3-flash", "request": ask("hi")}
    assert cc.call("generateContent", body).status_code == 403
    assert cc.call("onboardUser", {"tierId": "free-tier"}).json()["done"] is True
    assert cc.call("generateContent", body).status_code == 200


def test_onboard_with_unknown_tier_is_400(cc: CloudCode) -> None:
    response = cc.call("onboardUser", {"tier_id": "platinum-tier"})
    assert response.status_code == 400
    assert error_of(response)["status"] == "INVALID_ARGUMENT"


def test_foreign_project_is_service_disabled(cc: CloudCode) -> None:
    foreign = cc.project(OTHER_ACCOUNT)
    response = cc.call(
        "generateContent", {"project": foreign, "model": "gemini-3-flash", "request": ask("hi")}
    )
    assert response.status_code == 403
    error = error_of(response)
    activation = f"https://console.developers.google.com/apis/api/cloudcode-pa.googleapis.com/overview?project={foreign}"
    assert error["status"] == "PERMISSION_DENIED"
    assert error["message"] == (
        f"Cloud Code Private API has not been used in project {foreign} before or it is disabled. Enable it "
        f"by visiting {activation} then retry. If you enabled this API recently, wait a few minutes for the "
        "action to propagate to our systems and retry."
    )
    info, localized = error["details"]
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert (info["reason"], info["domain"]) == ("SERVICE_DISABLED", "googleapis.com")
    assert info["metadata"] == {
        "consumer": f"projects/{foreign}",
        "service": "cloudcode-pa.googleapis.com",
        "serviceTitle": "Cloud Code Private API",
        "containerInfo": foreign,
        "activationUrl": activation,
    }
    assert localized == {
        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
        "locale": "en-US",
        "message": error["message"],
    }


def test_stale_project_after_a_change_is_service_disabled(cc: CloudCode) -> None:
    stale = cc.project()
    cc.control("accounts", {"name": ACCOUNT, "project_id": "fresh-project-12345"})
    body = {"project": stale, "model": "gemini-3-flash", "request": ask("hi")}
    assert error_of(cc.call("generateContent", body))["details"][0]["reason"] == "SERVICE_DISABLED"
    assert cc.call("generateContent", {**body, "project": "fresh-project-12345"}).status_code == 200


def test_malformed_project_is_consumer_invalid(cc: CloudCode) -> None:
    body = {"project": "Not A Project!", "model": "gemini-3-flash", "request": ask("hi")}
    response = cc.call("generateContent", body)
    assert response.status_code == 403
    error = error_of(response)
    assert error["message"] == "Permission denied on resource project Not A Project!."
    assert error["details"][0]["reason"] == "CONSUMER_INVALID"


def test_fetch_available_models_with_a_foreign_project_is_403(cc: CloudCode) -> None:
    response = cc.call("fetchAvailableModels", {"project": cc.project(OTHER_ACCOUNT)})
    assert response.status_code == 403
    assert error_of(response)["details"][0]["reason"] == "SERVICE_DISABLED"
    assert cc.call("fetchAvailableModels", {}).status_code == 200


def test_unknown_method_is_404(cc: CloudCode) -> None:
    response = cc.call("launchRockets", {})
    assert response.status_code == 404
    assert error_of(response)["status"] == "NOT_FOUND"


def test_count_tokens(cc: CloudCode) -> None:
    response = cc.call("countTokens", {"request": ask("x" * 40)})
    assert response.status_code == 200
    assert response.json() == {"totalTokens": 10}
    assert cc.call("countTokens", {"request": {"contents": []}}).status_code == 400


def test_retrieve_user_quota_summary_has_two_pools_with_two_windows(cc: CloudCode) -> None:
    cc.generate("claude-sonnet-4-6", ask("hi"))
    reply = cc.call("retrieveUserQuotaSummary", {"project": cc.project()}).json()
    groups = reply["groups"]
    assert [group["displayName"] for group in groups] == ["Gemini models", "Claude and GPT-OSS models"]
    buckets = {b["bucketId"]: b for group in groups for b in group["buckets"]}
    assert set(buckets) == {"gemini-5h", "gemini-weekly", "3p-5h", "3p-weekly"}
    assert {b["window"] for b in buckets.values()} == {"5h", "weekly"}
    for bucket in buckets.values():
        assert set(bucket) == {
            "bucketId",
            "window",
            "remainingFraction",
            "resetTime",
            "displayName",
            "description",
        }
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", bucket["resetTime"])
    assert buckets["gemini-5h"]["remainingFraction"] == 1
    assert buckets["3p-5h"]["remainingFraction"] == pytest.approx(199 / 200)
    assert buckets["3p-weekly"]["remainingFraction"] == pytest.approx(1999 / 2000)
