"""Client authentication on the served gateway: every accepted form, and refusals in both dialects."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Gateway

LISTING = "/antigravity/v1/models"


def test_every_auth_form_is_accepted(gateway: Gateway) -> None:
    key = gateway.create_key()
    forms = [
        ({"Authorization": f"Bearer {key}"}, {}),
        ({"Authorization": key}, {}),
        ({"X-Goog-Api-Key": key}, {}),
        ({"X-Goog-Api-Key": f"Bearer {key}"}, {}),
        ({"X-Api-Key": key}, {}),
        ({}, {"key": key}),
    ]
    for headers, params in forms:
        for path in (LISTING, "/antigravity/v1beta/models", "/gemini_official/v1/models"):
            response = httpx.get(gateway.url + path, headers=headers, params=params)
            assert response.status_code == 200, (path, headers, params, response.text)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk-sy-not-a-real-key"}])
def test_missing_or_wrong_key_is_401_in_openai_dialect(gateway: Gateway, headers: dict[str, str]) -> None:
    response = httpx.get(gateway.url + "/gemini_official/v1/models", headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "authentication_error" and error["code"] == "invalid_api_key"
    assert "key" in error["message"].lower()
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/antigravity/v1/messages", "/gemini_official/v1/messages/count_tokens"])
def test_messages_routes_refuse_in_anthropic_dialect(gateway: Gateway, path: str) -> None:
    response = httpx.post(gateway.url + path, headers={"x-api-key": "sk-sy-not-a-real-key"}, json={})
    assert response.status_code == 401
    assert response.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": response.json()["error"]["message"]},
    }
    listing = httpx.get(gateway.url + LISTING, headers={"anthropic-version": "2023-06-01"})
    assert listing.status_code == 401 and listing.json()["type"] == "error"


def test_google_key_on_shared_listing_gets_gemini_shape(gateway: Gateway) -> None:
    key = gateway.create_key()
    google = httpx.get(gateway.url + LISTING, headers={"x-goog-api-key": key}).json()
    openai = httpx.get(gateway.url + LISTING, headers={"Authorization": f"Bearer {key}"}).json()
    assert google["models"][0]["name"].startswith("models/")
    assert openai["object"] == "list" and openai["data"][0]["object"] == "model"
    ids = [m["id"] for m in openai["data"]]
    assert (
        "gemini-3-pro-image" in ids and "claude-sonnet-4-5-thinking" in ids and "gpt-oss-120b-medium" in ids
    )


def test_gemini_paging(gateway: Gateway) -> None:
    key = gateway.create_key()
    first = httpx.get(gateway.url + LISTING, params={"key": key, "pageSize": 3}).json()
    assert len(first["models"]) == 3 and first["nextPageToken"]
    second = httpx.get(
        gateway.url + LISTING, params={"key": key, "pageSize": 3, "pageToken": first["nextPageToken"]}
    )
    assert second.json()["models"][0]["name"] != first["models"][0]["name"]


def test_disabled_and_expired_keys_are_403_naming_the_reason(gateway: Gateway) -> None:
    from switchyard.keys import service

    disabled = gateway.create_key("to-disable")
    gateway.run(lambda store: service.set_enabled(store, "to-disable", False))
    response = httpx.get(gateway.url + LISTING, headers={"Authorization": f"Bearer {disabled}"})
    assert response.status_code == 403 and "disabled" in response.json()["error"]["message"]

    expired = gateway.create_key("old", expires_at=1_000_000.0)
    response = httpx.get(gateway.url + "/antigravity/v1beta/models", headers={"x-goog-api-key": expired})
    assert response.status_code == 403
    assert response.json()["error"]["status"] == "PERMISSION_DENIED"
    assert "expired" in response.json()["error"]["message"]


def test_unknown_routes_and_methods_answer_in_the_dialect(gateway: Gateway) -> None:
    openai = httpx.get(gateway.url + "/antigravity/v1/nothing-here")
    assert openai.status_code == 404 and openai.json()["error"]["type"] == "not_found_error"
    google = httpx.get(gateway.url + "/antigravity/v1beta/nothing/here")
    assert google.status_code == 404 and google.json()["error"]["status"] == "NOT_FOUND"
    method = httpx.delete(gateway.url + "/antigravity/v1/models")
    assert method.status_code == 405 and method.json()["error"]["code"] == "method_not_allowed"
    assert method.headers["x-request-id"]


def test_model_limited_key_lists_only_its_models(gateway: Gateway) -> None:
    key = gateway.create_key(models=["claude-*"])
    data = httpx.get(gateway.url + LISTING, headers={"Authorization": f"Bearer {key}"}).json()["data"]
    assert data and all(m["id"].startswith("claude-") for m in data)


def test_health_ready_and_metrics(gateway: Gateway) -> None:
    assert httpx.get(gateway.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(gateway.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["store"] == "ok"
    key = gateway.create_key()
    httpx.get(gateway.url + LISTING, headers={"Authorization": f"Bearer {key}"})
    metrics = httpx.get(gateway.url + "/metrics").text
    assert "switchyard_requests_total" in metrics and 'surface="models"' in metrics
    assert "switchyard_open_streams" in metrics


def test_request_id_is_echoed_when_sane(gateway: Gateway) -> None:
    response = httpx.get(gateway.url + "/healthz", headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    response = httpx.get(gateway.url + "/healthz", headers={"x-request-id": "bad id with spaces"})
    assert response.headers["x-request-id"] != "bad id with spaces"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/gemini_official/v1/models"),  # 401
        ("GET", "/antigravity/v1/nowhere"),  # 404
        ("GET", "/antigravity/v1/chat/completions"),  # 405
        ("GET", "/admin/api/keys"),  # 401 on the admin app
        ("GET", "/healthz"),  # no error: one id too
    ],
)
def test_every_response_carries_one_request_id(gateway: Gateway, method: str, path: str) -> None:
    response = httpx.request(method, gateway.url + path, headers={"x-request-id": "one-id"})
    assert response.headers.get_list("x-request-id") == ["one-id"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/antigravity/v1/chat/completions", "POST"),
        ("DELETE", "/gemini_official/v1/models", "GET"),
        ("PUT", "/admin/api/keys", "GET"),
    ],
)
def test_405_says_which_methods_are_allowed(gateway: Gateway, method: str, path: str, allowed: str) -> None:
    response = httpx.request(method, gateway.url + path)
    assert response.status_code == 405
    assert allowed in [part.strip() for part in response.headers["allow"].split(",")]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/admin/api/keys", "GET, POST"), ("/admin/api/keys/some-key", "GET, DELETE")],
)
def test_405_lists_every_method_of_the_path(gateway: Gateway, path: str, allowed: str) -> None:
    """Each method is its own route; Starlette's 405 named only the first whose path matched."""
    response = httpx.request("OPTIONS", gateway.url + path)
    assert response.status_code == 405 and response.headers["allow"] == allowed
