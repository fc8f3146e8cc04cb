"""Which models the gateway serves, per provider: the listings and the metrics labels agree on it."""

from __future__ import annotations

from typing import Any

from switchyard.providers.antigravity.models import ModelSpec, public_models
from switchyard.providers.gemini_web.models import listed_models


def antigravity_specs(runtime: Any) -> list[ModelSpec]:
    """The contract's models plus those an account reported (`fetchAvailableModels`)."""
    provider = runtime.providers.get("antigravity")
    available = (
        provider.available_models()
        if provider is not None and hasattr(provider, "available_models")
        else None
    )
    return public_models(available)


def is_listed_model(runtime: Any, provider: str, model: str) -> bool:
    """Whether `model` (a public id or an alias) is one `provider` lists."""
    name = model.removeprefix("models/")
    if provider == "antigravity":
        return any(name == spec.public_id or name in spec.aliases for spec in antigravity_specs(runtime))
    if provider == "gemini_web":
        return name in listed_models()
    return False
