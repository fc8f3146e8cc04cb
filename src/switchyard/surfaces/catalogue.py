"""Which models the gateway serves, per provider: the listings and the metrics labels agree on it."""

from __future__ import annotations

from typing import Any

from switchyard.providers.antigravity import ModelRetiredError, ModelSpec
from switchyard.providers.gemini_web.models import listed_models


def antigravity_specs(runtime: Any) -> list[ModelSpec]:
    """Today's ids the accounts report, then the contract's names (api-contract.md)."""
    provider = runtime.providers.get("antigravity")
    return provider.catalogue.listing() if provider is not None else []


def is_listed_model(runtime: Any, provider: str, model: str) -> bool:
    """Whether `model` (a public id or an alias) names a model `provider` knows: an id the
    metadata or an account describes, or a name forwarded to one. Client typos are not."""
    name = model.removeprefix("models/")
    if provider == "antigravity":
        client = runtime.providers.get("antigravity")
        if client is None:
            return False
        try:
            return client.catalogue.resolve(name).meta.described
        except ModelRetiredError:
            return True
    if provider == "gemini_web":
        return name in listed_models()
    return False
