"""Typed reads of client JSON that raise `InvalidRequest` naming the exact parameter path.

OpenAI answers a wrong type with a 400 that names the field (`messages[2].role`); so do we, instead
of letting a `TypeError` become a 500 or a wrong value reach the upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchyard.errors import InvalidRequest


def type_name(value: object) -> str:
    """JSON's name for a Python value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def wrong_type(param: str, expected: str, value: object) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid type for '{param}': expected {expected}, got {type_name(value)}", param=param
    )


def get_number(
    body: Mapping[str, Any], key: str, *, low: float | None = None, high: float | None = None
) -> float | None:
    """A number field (bools refused), range-checked; None when absent or null."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise wrong_type(key, "a number", value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidRequest(f"'{key}' must be between {low:g} and {high:g}, got {value}", param=key)
    return value


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def get_int(body: Mapping[str, Any], key: str, *, low: int | None = None) -> int | None:
    """An integer field (whole floats accepted, as JSON does not distinguish them), within the
    64-bit range every upstream and `orjson.dumps` accept."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(key, "an integer", value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidRequest(
            f"Invalid value for '{key}': {value} is outside the 64-bit integer range", param=key
        )
    if low is not None and value < low:
        raise InvalidRequest(f"'{key}' must be at least {low}, got {value}", param=key)
    return value


def get_str(body: Mapping[str, Any], key: str, *, param: str | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise wrong_type(param or key, "a string", value)
    return value


def get_dict(body: Mapping[str, Any], key: str, *, param: str | None = None) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise wrong_type(param or key, "an object", value)
    return value
