"""The live catalogue: the model table plus what changes at run time — retirements and version floors.

`resolve()` decides, for one generate call, what a model id gets (§12.3): the model's facts, a 200
"notice" turn (retired id, or a client below the global floor), or 404 NOT_FOUND (unknown id, or an id
above the client's version). `available_models_reply()` builds the §12.2 reply for one account and
client. `POST /_control/retire` and `POST /_control/versions` edit it; `/_control/reset` restores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchyard.emulators.cloudcode_accounts import Account, derive_project_id
from switchyard.emulators.cloudcode_errors import model_not_found
from switchyard.emulators.cloudcode_lineup import (
    RETIREMENTS,
    UNSUPPORTED_VERSION_TEXT,
    Retirement,
    top_level_lists,
)
from switchyard.emulators.cloudcode_models import MODELS, ModelFacts
from switchyard.emulators.cloudcode_versions import ClientVersion, VersionFloors

__all__ = ["Catalogue", "Notice", "derive_project_id"]

INTERNAL_QUOTA_INFO = {"remainingFraction": 1}


@dataclass(frozen=True)
class Notice:
    """A 200 answer whose text replaces the model's (retired id, outdated client)."""

    text: str


def _default_floors() -> VersionFloors:
    return VersionFloors.defaults({m.id: m.min_version for m in MODELS.values() if m.min_version})


@dataclass
class Catalogue:
    retirements: dict[str, Retirement] = field(default_factory=lambda: {r.model: r for r in RETIREMENTS})
    floors: VersionFloors = field(default_factory=_default_floors)

    def reset(self) -> None:
        self.retirements = {r.model: r for r in RETIREMENTS}
        self.floors = _default_floors()

    def retire(self, spec: dict[str, Any]) -> Retirement:
        """`{"model", "replacement", "deprecated": false, "latest_version": false}` → a live retirement."""
        model, replacement = spec.get("model"), spec.get("replacement")
        if not isinstance(model, str) or not model:
            raise ValueError("`model` must be a model id")
        if not isinstance(replacement, str) or replacement not in MODELS or replacement == model:
            raise ValueError("`replacement` must be another id of the catalogue")
        old, new = MODELS.get(model), MODELS[replacement]
        retirement = Retirement(
            model=model,
            replacement=replacement,
            old_name=(old.display_name if old and old.display_name else model),
            new_name=new.display_name or replacement,
            latest_version=bool(spec.get("latest_version", False)),
            deprecated=bool(spec.get("deprecated", False)),
        )
        self.retirements[model] = retirement
        return retirement

    def listed(self, model: str, client: ClientVersion | None) -> bool:
        retired = self.retirements.get(model)
        if retired is not None and not retired.deprecated:
            return False
        return model in MODELS and self.floors.allows(client, model)

    def resolve(self, model: str, client: ClientVersion | None) -> ModelFacts | Notice:
        """What a generate call for `model` from `client` gets; raises the 404 for unknown ids."""
        if not self.floors.supported(client):
            return Notice(UNSUPPORTED_VERSION_TEXT)
        retired = self.retirements.get(model)
        if retired is not None:
            return Notice(retired.text)
        facts = MODELS.get(model)
        if facts is None or not self.floors.allows(client, model):
            raise model_not_found()
        return facts

    def deprecated_model_ids(self, visible: set[str]) -> dict[str, dict[str, str]]:
        forwarded: dict[str, dict[str, str]] = {}
        for retirement in self.retirements.values():
            if not retirement.deprecated or retirement.model not in visible:
                continue
            entry = {"newModelId": retirement.replacement}
            old, new = MODELS.get(retirement.model), MODELS.get(retirement.replacement)
            if old is not None:
                entry["oldModelEnum"] = old.enum
            if new is not None:
                entry["newModelEnum"] = new.enum
            forwarded[retirement.model] = entry
        return forwarded

    def available_models_reply(self, account: Account, client: ClientVersion | None) -> dict[str, Any]:
        """§12.2: the entries this client may see, each with its pool's quota, and the top-level lists."""
        models: dict[str, Any] = {}
        for model_id, facts in MODELS.items():
            if not self.listed(model_id, client):
                continue
            entry = facts.entry()
            if facts.pool is None:
                entry["quotaInfo"] = dict(INTERNAL_QUOTA_INFO)
            else:
                entry["quotaInfo"] = account.pools[facts.pool].quota_info()
            models[model_id] = entry
        visible = set(models)
        return {
            "models": models,
            **top_level_lists(visible),
            "deprecatedModelIds": self.deprecated_model_ids(visible),
        }
