"""Model metadata: the shipped data file, the operator's overrides, and one model's merged facts.

How a model is called — its translation dialect, thinking ranges or levels, quota group, request
type, the fields the upstream refuses — is data (protocols/antigravity.md §12), never a guess from
an id's prefix. `catalogue.toml` beside this module ships what was true when it was written; an
operator file (`SWITCHYARD_MODELS_FILE`, same tables) and `SWITCHYARD_MODEL_ALIASES` override it
without a release; the upstream's own `fetchAvailableModels` entry fills what neither says.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, cast

from switchyard.translate.profile import Family as TranslateFamily
from switchyard.translate.profile import ModelProfile, ThinkingLevel

SHIPPED_FILE = "catalogue.toml"
DEFAULT_PROVIDER = "API_PROVIDER_GOOGLE_GEMINI"
"""For an id nobody has described (a client's typo, a model no account reported yet)."""
CLASSIC_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
CLASSIC_IMAGE_SIZES = ("1K", "2K", "4K")
_FAMILIES = frozenset({"gemini-3", "gemini-2.5", "claude", "gpt-oss", "image"})
_LEVELS = frozenset({"minimal", "low", "medium", "high"})
_REPLY_WINS = frozenset({"max_output_tokens", "family", "request_type"})
_THINKING_KIND = ("thinking_budget", "thinking_levels")
_ALIAS_KEYS = frozenset({"to", "thinking", "thinking_budget", "if_unlisted"})


class MetadataError(ValueError):
    """The data file or an operator override is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class Alias:
    """A public name forwarded to an upstream id, optionally with thinking switched on or off."""

    target: str
    thinking: bool | None = None
    thinking_budget: int | None = None
    if_unlisted: bool = False
    """Forward only while no account lists the name itself (a legacy id that may still answer)."""


@dataclass(frozen=True, slots=True)
class ModelMeta:
    """Everything the gateway knows about one upstream model id."""

    id: str
    display_name: str
    provider: str
    family: TranslateFamily
    quota_group: str
    thinking: bool = False
    thinking_budget: tuple[int, int] | None = None
    default_thinking_budget: int | None = None
    thinking_levels: tuple[ThinkingLevel, ...] = ()
    max_output_tokens: int = 65535
    input_token_limit: int = 1_048_576
    request_type: str = "agent"
    refused_fields: tuple[str, ...] = ()
    top_p_min_when_thinking: float | None = None
    aspect_ratios: tuple[str, ...] = CLASSIC_ASPECT_RATIOS
    image_sizes: tuple[str, ...] = CLASSIC_IMAGE_SIZES
    described: bool = True
    """False for an id that neither the data file nor any account describes."""

    def profile(
        self, public_id: str, *, thinking: bool | None = None, budget: int | None = None
    ) -> ModelProfile:
        """The translators' view of this model, under the name the client used."""
        image = self.family == "image"
        return ModelProfile(
            public_id,
            self.family,
            thinking=(self.thinking if thinking is None else thinking) and not image,
            image_output=image,
            thinking_budget=None if image else self.thinking_budget,
            default_thinking_budget=budget if budget is not None else self.default_thinking_budget,
            thinking_levels=() if image else self.thinking_levels,
            max_output_tokens=self.max_output_tokens,
            aspect_ratios=self.aspect_ratios,
            image_sizes=self.image_sizes,
        )


@dataclass
class MetadataTables:
    """The merged tables of the shipped file and the operator's file."""

    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: dict[str, Alias] = field(default_factory=dict)
    listed_aliases: list[str] = field(default_factory=list)
    hidden_ids: set[str] = field(default_factory=set)
    hidden_prefixes: tuple[str, ...] = ()
    operator_aliases: set[str] = field(default_factory=set)
    """Alias names the operator set (file or setting): they win over the upstream's own forwarding."""

    def merge(self, raw: Mapping[str, Any], origin: str) -> None:
        """Fold one file's tables in; its entries win over what is already there."""
        for name, table in _tables(raw, "providers", origin).items():
            self.providers.setdefault(name, {}).update(table)
        for name, table in _tables(raw, "models", origin).items():
            self.models.setdefault(name, {}).update(table)
        for name, value in _table(raw, "aliases", origin).items():
            self.aliases[name] = parse_alias(name, value, origin)
            if origin != SHIPPED_FILE:
                self.operator_aliases.add(name)
        listing = _table(raw, "listing", origin)
        if "aliases" in listing:
            self.listed_aliases = [str(name) for name in listing["aliases"]]
        hidden = _table(raw, "hidden", origin)
        self.hidden_ids |= {str(name) for name in hidden.get("ids", ())}
        self.hidden_prefixes = (*self.hidden_prefixes, *(str(p) for p in hidden.get("prefixes", ())))

    def min_client_versions(self) -> dict[str, str]:
        """`min_client_version` per model: the upstream hides a model from older clients (§12.3)."""
        return {
            model_id: str(table["min_client_version"])
            for model_id, table in self.models.items()
            if table.get("min_client_version")
        }

    def add_alias_setting(self, setting: str) -> None:
        """`old=new,other=target` from `SWITCHYARD_MODEL_ALIASES`."""
        for item in filter(None, (part.strip() for part in setting.split(","))):
            name, sep, target = item.partition("=")
            if not sep or not name.strip() or not target.strip():
                raise MetadataError(
                    f"SWITCHYARD_MODEL_ALIASES: {item!r} is not 'alias=model' (e.g. 'my-model=gemini-3-flash')"
                )
            self.aliases[name.strip()] = Alias(target.strip())
            self.operator_aliases.add(name.strip())


def parse_alias(name: str, value: Any, origin: str) -> Alias:
    if isinstance(value, str):
        return Alias(value)
    if not isinstance(value, Mapping) or not isinstance(value.get("to"), str):
        raise MetadataError(f"{origin}: alias {name!r} must be a model id or a table with 'to'")
    unknown = set(value) - _ALIAS_KEYS
    if unknown:
        raise MetadataError(f"{origin}: alias {name!r} has unknown keys {sorted(unknown)}")
    budget = value.get("thinking_budget")
    return Alias(
        value["to"],
        thinking=value.get("thinking"),
        thinking_budget=int(budget) if budget is not None else None,
        if_unlisted=bool(value.get("if_unlisted", False)),
    )


def _table(raw: Mapping[str, Any], key: str, origin: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise MetadataError(f"{origin}: [{key}] must be a table")
    return dict(value)


def _tables(raw: Mapping[str, Any], key: str, origin: str) -> dict[str, dict[str, Any]]:
    tables = _table(raw, key, origin)
    for name, value in tables.items():
        if not isinstance(value, Mapping):
            raise MetadataError(f"{origin}: [{key}.{name!r}] must be a table")
    return {name: dict(value) for name, value in tables.items()}


def load_tables(operator_file: str | None = None, alias_setting: str = "") -> MetadataTables:
    """The shipped tables, then the operator's file, then the alias setting (each wins over the last)."""
    tables = MetadataTables()
    shipped = resources.files(__package__).joinpath(SHIPPED_FILE).read_text(encoding="utf-8")
    tables.merge(tomllib.loads(shipped), SHIPPED_FILE)
    if operator_file:
        path = Path(operator_file)
        try:
            tables.merge(tomllib.loads(path.read_text(encoding="utf-8")), str(path))
        except OSError as exc:
            raise MetadataError(f"SWITCHYARD_MODELS_FILE: cannot read {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise MetadataError(f"SWITCHYARD_MODELS_FILE: {path} is not valid TOML: {exc}") from exc
    tables.add_alias_setting(alias_setting)
    for name in tables.models:
        build_meta(tables, name, {}, frozenset(), frozenset())  # fail at start, not on a request
    return tables


def build_meta(
    tables: MetadataTables,
    model_id: str,
    reported: Mapping[str, Any],
    image_ids: frozenset[str],
    tiered_ids: frozenset[str],
) -> ModelMeta:
    """One model's facts: what the upstream reported < the provider's defaults < the model's entry.

    The reply says little about how to call a model (a Claude entry reports `thinkingBudget` 1024 but
    no minimum), so the data file's provider defaults win over it, except for the output cap and
    image generation (`imageGenerationModelIds`).

    `reported` is the model's `fetchAvailableModels` entry (empty if no account lists it);
    `image_ids`/`tiered_ids` are the reply's `imageGenerationModelIds` and `tieredModelIds` members.
    The reply's display name wins (it is what users see in the IDE).
    """
    shipped = tables.models.get(model_id, {})
    provider = str(shipped.get("provider") or reported.get("apiProvider") or DEFAULT_PROVIDER)
    facts = _from_reply(reported, image_ids, tiered_ids, model_id)
    if "thinking_budget" in shipped or "thinking_levels" in shipped:
        for key in _THINKING_KIND:  # the data file says how this model thinks; the reply's hints yield
            facts.pop(key, None)
    for key, value in tables.providers.get(provider, {}).items():
        if key not in _REPLY_WINS or key not in facts:
            facts[key] = value
    facts.update(shipped)
    facts.pop("provider", None)
    try:
        return _meta(model_id, provider, facts, described=bool(shipped or reported), reported=reported)
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"model {model_id!r}: {exc}") from exc


def _from_reply(
    reported: Mapping[str, Any], image_ids: frozenset[str], tiered_ids: frozenset[str], model_id: str
) -> dict[str, Any]:
    """The data-file keys a `fetchAvailableModels` entry implies (§12.2)."""
    facts: dict[str, Any] = {}
    if isinstance(reported.get("supportsThinking"), bool):
        facts["thinking"] = reported["supportsThinking"]
    output = reported.get("maxOutputTokens")
    if isinstance(output, int) and output > 0:
        facts["max_output_tokens"] = output
    budget = reported.get("thinkingBudget")
    if facts.get("thinking") and isinstance(budget, int):
        low = reported.get("minThinkingBudget")
        facts["thinking_budget"] = [low if isinstance(low, int) and low > 0 else 1, output or 65535]
        if budget > 0:
            facts["default_thinking_budget"] = budget
    if model_id in image_ids:
        facts.update(family="image", request_type="image_gen")
    if model_id in tiered_ids:
        facts["thinking_levels"] = ["low", "medium", "high"]
        facts.pop("thinking_budget", None)
    return facts


def _meta(
    model_id: str, provider: str, facts: Mapping[str, Any], *, described: bool, reported: Mapping[str, Any]
) -> ModelMeta:
    family = str(facts.get("family", "gemini-3"))
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {sorted(_FAMILIES)}, not {family!r}")
    levels = tuple(str(level) for level in facts.get("thinking_levels", ()))
    if not set(levels) <= _LEVELS:
        raise ValueError(f"thinking_levels must be among {sorted(_LEVELS)}")
    budget = facts.get("thinking_budget")
    if budget is not None and (len(budget) != 2 or int(budget[0]) > int(budget[1])):
        raise ValueError("thinking_budget must be [min, max]")
    display = reported.get("displayName")
    input_limit = reported.get("maxTokens")
    return ModelMeta(
        id=model_id,
        display_name=str(display or facts.get("display_name") or model_id),
        provider=provider,
        family=cast(TranslateFamily, family),
        quota_group=str(facts.get("quota_group", "gemini")),
        thinking=bool(facts.get("thinking", False)),
        thinking_budget=(int(budget[0]), int(budget[1])) if budget is not None else None,
        default_thinking_budget=_optional_int(facts.get("default_thinking_budget")),
        thinking_levels=cast(tuple[ThinkingLevel, ...], levels),
        max_output_tokens=int(facts.get("max_output_tokens", 65535)),
        input_token_limit=int(input_limit) if isinstance(input_limit, int) else 1_048_576,
        request_type=str(facts.get("request_type", "agent")),
        refused_fields=tuple(str(name) for name in facts.get("refused_fields", ())),
        top_p_min_when_thinking=_optional_float(facts.get("top_p_min_when_thinking")),
        aspect_ratios=tuple(str(r) for r in facts.get("aspect_ratios", CLASSIC_ASPECT_RATIOS)),
        image_sizes=tuple(str(s) for s in facts.get("image_sizes", CLASSIC_IMAGE_SIZES)),
        described=described,
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
