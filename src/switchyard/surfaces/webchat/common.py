"""What the Gemini web surfaces (chat and images) share: model resolution, the deprecation headers,
media delivery (signed URLs or data URLs) and downloading the request's media URLs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from switchyard.errors import InvalidRequest, NotFound
from switchyard.providers.gemini_web.client import GeminiWebProvider
from switchyard.providers.gemini_web.models import (
    DEPRECATED,
    UnknownWebModel,
    WebModel,
    capability_refusal,
    parse_model,
)
from switchyard.runtime import Runtime
from switchyard.translate.b64 import decode_b64

PROVIDER = "gemini_web"
SURFACE_PREFIX = "/gemini_official"


def provider(runtime: Runtime) -> GeminiWebProvider:
    found: GeminiWebProvider = runtime.providers[PROVIDER]
    return found


def resolve_model(name: str) -> WebModel:
    """The web model for a public id, or the 400/404 that says what is wrong with it."""
    try:
        model = parse_model(name)
    except UnknownWebModel as exc:
        raise NotFound(str(exc), param="model", code="model_not_found") from None
    refusal = capability_refusal(model)
    if refusal is not None:
        raise InvalidRequest(refusal, param="model", code="unsupported_capability")
    return model


def model_headers(model: WebModel) -> dict[str, str]:
    """Say which model really answered when the id is deprecated (api-contract.md)."""
    served = DEPRECATED.get(model.base)
    if served is None:
        return {}
    return {
        "x-switchyard-served-model": served,
        "deprecation": "true",
        "warning": f'299 switchyard "{model.base} is deprecated on Gemini web; {served} served this request"',
    }


def served_headers(events: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Which web model answered (`x-switchyard-web-model`, its display name), and a warning when
    Google silently served a smaller one than the account's picker entry asked for (§13.2)."""
    for event in events:
        served = event.get("webServed")
        if not isinstance(served, dict):
            continue
        headers = {"x-switchyard-web-model": str(served.get("served"))}
        if served.get("downgraded"):
            headers["x-switchyard-downgraded"] = f"asked {served.get('asked')}; served {served.get('served')}"
        return headers
    return {}


def deliver_media(events: Iterable[dict[str, Any]], runtime: Runtime, base_url: str) -> None:
    """Replace generated media (`inlineData` parts) by gateway-served signed URLs, in place, when
    the operator chose URLs (`gemini_web_media_delivery`); data URLs otherwise."""
    files = provider(runtime).files
    if runtime.settings.gemini_web_media_delivery != "url" or files is None:
        return
    for event in events:
        for candidate in event.get("candidates") or ():
            parts = (candidate.get("content") or {}).get("parts") or []
            for index, part in enumerate(parts):
                inline = part.get("inlineData")
                if inline is None:
                    continue
                mime = inline["mimeType"]
                url = files.url(base_url, decode_b64(inline["data"]), mime)
                label = (
                    "image" if mime.startswith("image/") else "video" if mime.startswith("video/") else "file"
                )
                parts[index] = {
                    "text": f"\n\n![{label}]({url})\n" if label == "image" else f"\n\n[{label}]({url})\n"
                }
