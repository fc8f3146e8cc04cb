"""Cloud Code emulator: scripted faults (targeted per account and model) and the per-account quota pools."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from switchyard.emulators.cloudcode import create_app
from tests.emulators.test_cloudcode_support import (
    ACCOUNT,
    OTHER_ACCOUNT,
    USER_AGENT,
    CloudCode,
    ask,
    error_of,
    served,
    sse_events,
    token_for,
)
from tests.servers import serve

QUOTA = 3
MODEL = "gemini-2.5-flash"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(create_app(quota_requests=QUOTA)) as base:
        yield base


@pytest.fixture
def cc(server: str) -> Iterator[CloudCode]:
    yield from served(server)


def detail(error: dict[str, Any], type_url: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in error["details"] if d["@type"] == type_url)
    return found


# --- error faults ----------------------------------------------------------------------------------


def test_rate_limited(cc: CloudCode) -> None:
    cc.fault("rate_limited", retry_delay_s=2)
    response = cc.generate(MODEL, ask("hi"))
    assert response.status_code == 429
    error = error_of(response)
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert (
        error["message"] == "You have exhausted your capacity on this model. Your quota will reset after 2s."
    )
    assert detail(error, ERROR_INFO)["reason"] == "RATE_LIMIT_EXCEEDED"
    assert detail(error, ERROR_INFO)["metadata"]["model"] == MODEL
    assert detail(error, RETRY_INFO)["retryDelay"] == "2s"
    assert cc.generate(MODEL, ask("hi")).status_code == 200


def test_quota_exhausted_fault(cc: CloudCode) -> None:
    cc.fault("quota_exhausted", reset_delay_s=3723)
    error = error_of(cc.generate(MODEL, ask("hi")))
    assert error["message"] == (
        "You have exhausted your capacity on this model. Your quota will reset after 1h2m3s."
    )
    info = detail(error, ERROR_INFO)
    assert info["reason"] == "QUOTA_EXHAUSTED" and info["domain"] == "cloudcode-pa.googleapis.com"
    assert info["metadata"]["quotaResetDelay"] == "1h2m3s" and info["metadata"]["model"] == MODEL
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["metadata"]["quotaResetTimeStamp"])
    assert detail(error, RETRY_INFO)["retryDelay"] == "3723s"


def test_bare_429(cc: CloudCode) -> None:
    cc.fault("bare_429")
    response = cc.generate(MODEL, ask("hi"))
    assert response.status_code == 429
    assert response.json() == {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
        }
    }


def test_capacity(cc: CloudCode) -> None:
    cc.fault("capacity", retry_delay_s=39, match={"model": "gemini-pro-agent"})
    assert cc.generate(MODEL, ask("hi")).status_code == 200
    response = cc.generate("gemini-pro-agent", ask("hi"))
    assert response.status_code == 503
    error = error_of(response)
    assert error["status"] == "UNAVAILABLE"
    assert error["message"] == "No capacity available for model gemini-pro-agent on the server"
    assert detail(error, ERROR_INFO)["reason"] == "MODEL_CAPACITY_EXHAUSTED"
    assert detail(error, RETRY_INFO)["retryDelay"] == "39s"


def test_unauthenticated_and_server_error(cc: CloudCode) -> None:
    cc.fault("unauthenticated")
    cc.fault("server_error")
    first, second = cc.generate(MODEL, ask("hi")), cc.generate(MODEL, ask("hi"))
    assert (first.status_code, error_of(first)["status"]) == (401, "UNAUTHENTICATED")
    assert (second.status_code, error_of(second)["status"]) == (500, "INTERNAL")
    assert cc.generate(MODEL, ask("hi")).status_code == 200


def test_forbidden_validation_required(cc: CloudCode) -> None:
    url = "https://accounts.google.com/signin/continue?verify=1"
    cc.fault("forbidden", reason="VALIDATION_REQUIRED", validation_url=url)
    error = error_of(cc.generate("gemini-3.1-flash-image", ask("draw")))
    assert error["code"] == 403 and error["status"] == "PERMISSION_DENIED"
    assert error["message"] == "Verify your account to continue."
    info = detail(error, ERROR_INFO)
    assert info["reason"] == "VALIDATION_REQUIRED" and info["domain"] == "cloudcode-pa.googleapis.com"
    assert info["metadata"] == {
        "validation_error_message": "Verify your account to continue.",
        "validation_url_link_text": "Verify your account",
        "validation_url": url,
    }


def test_forbidden_validation_required_default_url_is_a_google_accounts_url(cc: CloudCode) -> None:
    cc.fault("forbidden", reason="VALIDATION_REQUIRED", method="retrieveUserQuotaSummary")
    response = cc.call("retrieveUserQuotaSummary", {})
    assert response.status_code == 403
    url = detail(error_of(response), ERROR_INFO)["metadata"]["validation_url"]
    assert url.startswith("https://accounts.google.com/")


def test_forbidden_tos_ban(cc: CloudCode) -> None:
    cc.fault("forbidden", reason="TOS_VIOLATION")
    error = error_of(cc.generate(MODEL, ask("hi")))
    assert error["message"] == (
        "This service has been disabled in this account for violation of Terms of Service. Please submit an "
        "appeal to continue using this product."
    )
    info = detail(error, ERROR_INFO)
    assert info["reason"] == "TOS_VIOLATION" and info["domain"] == "cloudcode-pa.googleapis.com"
    assert info["metadata"]["appeal_url"].startswith("https://")
    assert info["metadata"]["appeal_url_link_text"] == "Submit an appeal"


def test_forbidden_service_disabled_fault(cc: CloudCode) -> None:
    cc.fault("forbidden", reason="SERVICE_DISABLED")
    error = error_of(cc.generate(MODEL, ask("hi")))
    project = cc.project()
    assert error["message"].startswith(
        f"Cloud Code Private API has not been used in project {project} before or it is disabled."
    )
    info, localized = error["details"]
    assert info["reason"] == "SERVICE_DISABLED" and info["domain"] == "googleapis.com"
    assert localized["@type"] == "type.googleapis.com/google.rpc.LocalizedMessage"
    assert localized["message"] == error["message"]


def test_faults_target_one_account(cc: CloudCode) -> None:
    cc.fault("rate_limited", match={"account": OTHER_ACCOUNT}, times=2)
    assert cc.generate(MODEL, ask("hi"), account=ACCOUNT).status_code == 200
    assert cc.generate(MODEL, ask("hi"), account=OTHER_ACCOUNT).status_code == 429
    assert cc.generate(MODEL, ask("hi"), account=OTHER_ACCOUNT).status_code == 429
    assert cc.generate(MODEL, ask("hi"), account=OTHER_ACCOUNT).status_code == 200
    assert cc.control("faults") == []


def test_faults_spare_discovery_calls_unless_targeted(cc: CloudCode) -> None:
    cc.fault("server_error")
    assert cc.call("loadCodeAssist", {}).status_code == 200
    assert cc.call("fetchAvailableModels", {}).status_code == 200
    assert cc.generate(MODEL, ask("hi")).status_code == 500
    cc.fault("server_error", method="loadCodeAssist")
    assert cc.call("loadCodeAssist", {}).status_code == 500


def test_errors_on_stream_calls_are_plain_json_with_the_sse_content_type(cc: CloudCode) -> None:
    cc.fault("rate_limited", retry_delay_s=1)
    response = cc.generate(MODEL, ask("hi"), stream=True)
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/event-stream")
    assert not response.text.startswith("data:")
    assert error_of(response)["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"


def test_delay(cc: CloudCode) -> None:
    cc.fault("delay_ms", delay_ms=300)
    started = time.monotonic()
    assert cc.generate(MODEL, ask("hi")).status_code == 200
    assert time.monotonic() - started >= 0.3


# --- stream faults ---------------------------------------------------------------------------------


def test_drop_after_events(cc: CloudCode) -> None:
    cc.fault("drop_after_events", events=2)
    body = cc.envelope(
        "gemini-2.5-pro", ask("a long answer", generationConfig={"thinkingConfig": {"includeThoughts": True}})
    )
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        cc.http.stream(
            "POST",
            "/v1internal:streamGenerateContent?alt=sse",
            json=body,
            headers={"Authorization": f"Bearer {token_for(ACCOUNT)}", "User-Agent": USER_AGENT},
        ) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += chunk
    events = sse_events(received.decode())
    assert len(events) == 2
    assert not any("finishReason" in c for e in events for c in e["response"].get("candidates", []))


def test_drop_after_events_waits_for_a_stream_call(cc: CloudCode) -> None:
    cc.fault("drop_after_events", events=1)
    assert cc.generate(MODEL, ask("hi")).status_code == 200
    assert len(cc.control("faults")) == 1


def test_empty_stream(cc: CloudCode) -> None:
    cc.fault("empty_stream")
    response = cc.generate(MODEL, ask("hi"), stream=True)
    assert response.status_code == 200 and response.content == b""


def test_no_finish(cc: CloudCode) -> None:
    cc.fault("no_finish")
    events = sse_events(cc.generate(MODEL, ask("hi"), stream=True).text)
    assert len(events) >= 2
    assert not any("finishReason" in c for e in events for c in e["response"].get("candidates", []))


# --- quota -----------------------------------------------------------------------------------------


def remaining(cc: CloudCode, model: str = MODEL, account: str = ACCOUNT) -> Any:
    models = cc.call("fetchAvailableModels", {"project": cc.project(account)}, account=account).json()[
        "models"
    ]
    return models[model]["quotaInfo"].get("remainingFraction")


def test_quota_decrements_and_runs_out(cc: CloudCode) -> None:
    assert remaining(cc) == 1
    for _ in range(QUOTA):
        assert cc.generate(MODEL, ask("hi")).status_code == 200
    assert remaining(cc) is None  # proto3 JSON omits a zero remainingFraction
    response = cc.generate(MODEL, ask("hi"), stream=True)
    assert response.status_code == 429
    error = error_of(response)
    assert re.fullmatch(
        r"You have exhausted your capacity on this model\. Your quota will reset after \d+h\d+m\d+s\.",
        error["message"],
    )
    info = detail(error, ERROR_INFO)
    assert info["reason"] == "QUOTA_EXHAUSTED" and info["metadata"]["model"] == MODEL
    assert "quotaResetDelay" in info["metadata"] and "quotaResetTimeStamp" in info["metadata"]
    assert detail(error, RETRY_INFO)["retryDelay"].endswith("s")
    # The Gemini pool is shared: every Gemini id is exhausted with it; the "3p" pool is untouched.
    assert remaining(cc, "gemini-pro-agent") is None
    assert cc.generate("gemini-3.8-flash-medium", ask("hi")).status_code == 429
    assert remaining(cc, "claude-sonnet-4-6") == 1
    assert remaining(cc, "gpt-oss-120b-medium") == 1
    assert remaining(cc, account=OTHER_ACCOUNT) == 1
    assert cc.generate("claude-sonnet-4-6", ask("hi")).status_code == 200
    assert remaining(cc, "gpt-oss-120b-medium") == pytest.approx(2 / 3, abs=1e-3)


def test_partial_quota_and_per_account_configuration(cc: CloudCode) -> None:
    cc.generate(MODEL, ask("hi"))
    assert remaining(cc) == pytest.approx(2 / 3, abs=1e-3)
    cc.control("accounts", {"name": OTHER_ACCOUNT, "quota_requests": 0})
    response = cc.generate(MODEL, ask("hi"), account=OTHER_ACCOUNT)
    assert response.status_code == 429
    assert detail(error_of(response), ERROR_INFO)["reason"] == "QUOTA_EXHAUSTED"


def test_rejected_requests_do_not_spend_quota(cc: CloudCode) -> None:
    assert cc.generate(MODEL, {"contents": []}).status_code == 400
    cc.fault("server_error")
    assert cc.generate(MODEL, ask("hi")).status_code == 500
    assert remaining(cc) == 1


def test_reset_restores_quota(cc: CloudCode) -> None:
    for _ in range(QUOTA):
        cc.generate(MODEL, ask("hi"))
    cc.control("reset", {})
    assert remaining(cc) == 1


def test_unknown_fault_is_refused(cc: CloudCode) -> None:
    response = cc.http.post("/_control/faults", json={"fault": "meteor_strike"})
    assert response.status_code == 400
