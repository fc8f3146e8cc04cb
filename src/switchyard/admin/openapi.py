"""The admin API's OpenAPI document says what the API really answers (issue 17 #13).

FastAPI documents a 422 with its own `HTTPValidationError` body on every route that takes input,
but the gateway answers invalid input with 400 and its own error object (`app.py`), which the
routes document themselves (`api.ERRORS`). So the 422s, and the two schemas only they used, go.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

FASTAPI_ONLY_SCHEMAS = ("HTTPValidationError", "ValidationError")


def without_validation_422(schema: dict[str, Any]) -> dict[str, Any]:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    schemas = schema.get("components", {}).get("schemas", {})
    for name in FASTAPI_ONLY_SCHEMAS:
        schemas.pop(name, None)
    return schema


def install(app: FastAPI) -> None:
    """Make `app.openapi()` (and `/openapi.json`) serve the corrected document."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = without_validation_422(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
