"""The OpenAPI schema builds without warnings (duplicate operation ids are a warning, and an error here).

It documents the admin API; the client surfaces are OpenAI's and Google's APIs, served by plain
Starlette routes (surfaces/deps.py says why)."""

from __future__ import annotations

import httpx

from tests.conftest import Gateway


def test_openapi_schema_has_unique_operations(gateway: Gateway) -> None:
    response = httpx.get(gateway.url + "/openapi.json")
    assert response.status_code == 200
    operations = [op["operationId"] for path in response.json()["paths"].values() for op in path.values()]
    assert len(operations) == len(set(operations))
    assert any(path.startswith("/admin/api/") for path in response.json()["paths"])
