"""The live Antigravity catalogue: which models the accounts serve today, and what a name resolves to.

Every account's `fetchAvailableModels` reply (at start, periodically, and after an answer said a
model moved) is `observe`d here. Together with the metadata tables (`metadata.py`: the shipped
`catalogue.toml` and the operator's overrides) it answers the questions the rest of the gateway
asks about a model name:

- `resolve(name)`: the upstream id that serves it and how to call it. Forwarding is applied in the
  order AGM-H uses (protocols/antigravity.md §12.1.2): the operator's aliases, then retirements the
  upstream announced (`deprecatedModelIds`, or a "no longer available, please switch" answer this
  process saw), then the shipped forwarding table.
- `listing()`: what `/v1/models` shows — today's ids, plus the contract's names.
- `serving(id)`: the accounts whose last reply listed an id (`switchyard models`, account choice).

Nothing here decides by an id's prefix: what a model is comes from the reply and the tables.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from switchyard.errors import NotFound
from switchyard.translate.profile import ModelProfile

from .metadata import Alias, MetadataTables, ModelMeta, build_meta, load_tables

log = logging.getLogger(__name__)

RETIREMENT_TTL_S = 6 * 3600.0
"""How long a retirement learned from an answer holds; then the id is tried again (and re-learned)."""
MAX_FORWARDS = 8
"""Forwarding chains longer than this are a loop in someone's table; stop following it."""
_PARENTHESES = re.compile(r"\s*\([^)]*\)")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A public model name resolved: the upstream model that serves it and how to call it."""

    public_id: str
    meta: ModelMeta
    thinking: bool
    """Whether the model thinks when the client does not ask (an alias can switch it on or off)."""
    default_thinking_budget: int | None
    forwarded_by: str | None = None
    """Why the name was forwarded: "alias", "deprecated", "retired" — None when served as named."""

    @property
    def upstream_id(self) -> str:
        return self.meta.id

    @property
    def family(self) -> str:
        """The quota group: accounts rest per group, as the upstream meters them (§12.1)."""
        return self.meta.quota_group

    @property
    def request_type(self) -> str:
        return self.meta.request_type

    @property
    def display_name(self) -> str:
        return self.meta.display_name

    def profile(self) -> ModelProfile:
        return self.meta.profile(self.public_id, thinking=self.thinking, budget=self.default_thinking_budget)


@dataclass(frozen=True, slots=True)
class _Retirement:
    """What an answer said: the id the gateway forwards to (None: none it can serve), the name the
    upstream used, and when to stop believing it."""

    target: str | None
    named: str | None
    expires_at: float


@dataclass
class _Report:
    """One account's last `fetchAvailableModels` reply, reduced to what the catalogue uses."""

    models: dict[str, dict[str, Any]]
    deprecated: dict[str, str]
    image_ids: frozenset[str]
    tiered_ids: frozenset[str]
    hidden_ids: frozenset[str]
    received_at: float = field(default_factory=time.time)


class ModelRetiredError(NotFound):
    """404: a name the upstream retired, with no replacement this gateway can serve."""

    def __init__(self, name: str, replacement: str | None) -> None:
        self.name, self.replacement = name, replacement
        hint = (
            f" The upstream names {replacement!r} as its replacement; ask for it by that name."
            if replacement
            else " Pick one of the models `GET /v1/models` lists."
        )
        super().__init__(
            f"Model '{name}' is no longer available on Antigravity.{hint}",
            param="model",
            code="model_not_found",
        )


class Catalogue:
    """One per gateway process (owned by the Antigravity client); cheap to read on every request."""

    def __init__(self, tables: MetadataTables) -> None:
        self.tables = tables
        self._reports: dict[int, _Report] = {}
        self._retired: dict[str, _Retirement] = {}
        self._merged: dict[str, dict[str, Any]] | None = None
        self._metas: dict[str, ModelMeta] = {}
        self._resolved: dict[str, ModelSpec | ModelRetiredError] = {}
        self._unfit: dict[str, frozenset[int]] = {}
        self._deprecated_ids: dict[str, str] | None = None

    @classmethod
    def from_files(cls, operator_file: str | None = None, alias_setting: str = "") -> Catalogue:
        return cls(load_tables(operator_file, alias_setting))

    # --- what the accounts report ------------------------------------------------------------

    def observe(self, account_id: int, reply: Mapping[str, Any]) -> None:
        """Take in one account's `fetchAvailableModels` reply (§12.2)."""
        models = reply.get("models")
        if not isinstance(models, Mapping):
            return
        deprecated: dict[str, str] = {}
        for old, entry in (reply.get("deprecatedModelIds") or {}).items():
            new = entry.get("newModelId") if isinstance(entry, Mapping) else None
            if isinstance(new, str) and new and new != old:
                deprecated[str(old)] = new
        tiered: set[str] = set()
        for ids in (reply.get("tieredModelIds") or {}).values():
            tiered.update(str(i) for i in ids or ())
        hidden = {str(i) for i in reply.get("tabModelIds") or ()}
        kept: dict[str, dict[str, Any]] = {}
        for model_id, info in models.items():
            entry = dict(info) if isinstance(info, Mapping) else {}
            if entry.get("isInternal") or entry.get("apiProvider") == "API_PROVIDER_INTERNAL":
                hidden.add(model_id)
            kept[str(model_id)] = entry
        report = _Report(
            models=kept,
            deprecated=deprecated,
            image_ids=frozenset(str(i) for i in reply.get("imageGenerationModelIds") or ()),
            tiered_ids=frozenset(tiered),
            hidden_ids=frozenset(hidden),
        )
        before = self._reports.get(account_id)
        self._reports[account_id] = report
        self._invalidate()
        if before is not None:
            appeared = set(kept) - set(before.models)
            vanished = set(before.models) - set(kept)
            if appeared or vanished:
                log.info(
                    "account %s: models appeared %s, vanished %s",
                    account_id,
                    sorted(appeared),
                    sorted(vanished),
                )

    def forget(self, account_id: int) -> None:
        """An account was removed or disabled: its reply no longer counts."""
        if self._reports.pop(account_id, None) is not None:
            self._invalidate()

    def retire(self, model_id: str, replacement_name: str | None) -> str | None:
        """Learn from an answer that `model_id` is retired; returns the id that replaces it, if any.

        `replacement_name` is what the upstream's text named — an id or a display name ("Claude
        Sonnet 4.6"), matched against the catalogue. Until an account lists the id again, names
        that resolve to it are forwarded to the replacement (or refused, naming it).
        """
        target = self.match_name(replacement_name) if replacement_name else None
        if target == model_id:
            target = None
        if target is None:
            shipped = self.tables.aliases.get(model_id)
            target = shipped.target if shipped is not None and shipped.target != model_id else None
        self._retired[model_id] = _Retirement(target, replacement_name, time.monotonic() + RETIREMENT_TTL_S)
        self._invalidate()
        log.warning(
            "Antigravity retired model %s; %s",
            model_id,
            f"forwarding it to {target}" if target else f"no replacement found for {replacement_name!r}",
        )
        return target

    def match_name(self, name: str) -> str | None:
        """The model id a name in an upstream message means: an id, else a display name."""
        wanted = name.strip().strip("`'\".").strip()
        if not wanted:
            return None
        known = self._known_ids()
        if wanted in known:
            return wanted
        exact = [mid for mid in known if self.meta(mid).display_name.casefold() == wanted.casefold()]
        if exact:
            return sorted(exact)[0]
        loose = _loose(wanted)
        fuzzy = [mid for mid in known if _loose(self.meta(mid).display_name) == loose]
        listed = self._merged_models()
        fuzzy.sort(key=lambda mid: (mid not in listed, not listed.get(mid, {}).get("recommended"), mid))
        return fuzzy[0] if fuzzy else None

    # --- what a name means ---------------------------------------------------------------------

    def resolve(self, name: str) -> ModelSpec:
        """The spec for a public name (a `models/` prefix is accepted).

        An id nobody describes passes through as itself (the upstream answers 404 for ids it lacks;
        the pool tries another account once). Raises `ModelRetiredError` for a retired name with no
        replacement.
        """
        public = name.removeprefix("models/")
        known = self._resolved.get(public)
        if known is None:
            try:
                known = self._resolve(public)
            except ModelRetiredError as exc:
                known = exc
            if len(self._resolved) < 4096:  # clients choose names: bound what they can make us keep
                self._resolved[public] = known
        if isinstance(known, ModelRetiredError):
            raise known
        return known

    def _resolve(self, public: str) -> ModelSpec:
        current, thinking, budget, why = public, None, None, None
        listed = self._merged_models()
        for _ in range(MAX_FORWARDS):
            alias, reason = self._forward(current, listed)
            if reason == "retired-no-replacement":
                raise ModelRetiredError(current, self._retired[current].named)
            if alias is None:
                break
            current, why = alias.target, why or reason
            thinking = alias.thinking if alias.thinking is not None else thinking
            budget = alias.thinking_budget if alias.thinking_budget is not None else budget
        meta = self.meta(current)
        return ModelSpec(
            public_id=public,
            meta=meta,
            thinking=meta.thinking if thinking is None else thinking,
            default_thinking_budget=meta.default_thinking_budget if budget is None else budget,
            forwarded_by=why,
        )

    def _forward(self, name: str, listed: Mapping[str, Any]) -> tuple[Alias | None, str | None]:
        operator = self.tables.aliases.get(name)
        if operator is not None and operator.target != name and name in self.tables.operator_aliases:
            return operator, "alias"
        retirement = self._retired.get(name)
        if retirement is not None and retirement.expires_at > time.monotonic():
            if retirement.target:
                return Alias(retirement.target), "retired"
            return None, "retired-no-replacement"
        deprecated = self._deprecated()
        if name in deprecated:
            return Alias(deprecated[name]), "deprecated"
        shipped = self.tables.aliases.get(name)
        if shipped is None or shipped.target == name or (shipped.if_unlisted and name in listed):
            return None, None
        return shipped, "alias"

    def meta(self, model_id: str) -> ModelMeta:
        """The merged facts of one upstream id (cached until the next reply)."""
        cached = self._metas.get(model_id)
        if cached is not None:
            return cached
        listed = self._merged_models()
        image_ids = frozenset().union(*(r.image_ids for r in self._reports.values()))
        tiered = frozenset().union(*(r.tiered_ids for r in self._reports.values()))
        meta = build_meta(self.tables, model_id, listed.get(model_id, {}), image_ids, tiered)
        self._metas[model_id] = meta
        return meta

    def profile(self, name: str) -> ModelProfile:
        return self.resolve(name).profile()

    # --- listings ------------------------------------------------------------------------------

    def reported(self) -> bool:
        """Whether any account has reported its models yet."""
        return bool(self._reports)

    def current_ids(self) -> list[str]:
        """Today's upstream ids clients may use: listed by an account (or, before any account has
        reported, the data file's), neither hidden nor forwarded elsewhere."""
        ids: Iterable[str] = self._merged_models() if self._reports else self.tables.models
        deprecated, hidden = self._deprecated(), self._hidden()
        return sorted(
            mid
            for mid in ids
            if mid not in deprecated
            and not self._is_retired(mid)
            and mid not in hidden
            and not mid.startswith(self.tables.hidden_prefixes)
            and self._served_as_itself(mid)
        )

    def _is_retired(self, model_id: str) -> bool:
        retirement = self._retired.get(model_id)
        return retirement is not None and retirement.expires_at > time.monotonic()

    def _served_as_itself(self, model_id: str) -> bool:
        """False for a listed legacy id that an alias forwards elsewhere (`gemini-2.5-flash`)."""
        try:
            return self.resolve(model_id).upstream_id == model_id
        except ModelRetiredError:
            return False

    def listing(self) -> list[ModelSpec]:
        """`/v1/models`: today's ids, then the contract's names (each resolved), without repeats."""
        specs: list[ModelSpec] = []
        seen: set[str] = set()
        for name in [*self.current_ids(), *self.tables.listed_aliases]:
            if name in seen:
                continue
            seen.add(name)
            try:
                specs.append(self.resolve(name))
            except ModelRetiredError:
                continue
        return specs

    def aliases_of(self, model_id: str) -> list[str]:
        """Every alias name that currently resolves to `model_id`."""
        names = set(self.tables.aliases) | set(self._deprecated()) | set(self._retired)
        result = []
        for name in sorted(names - {model_id}):
            try:
                if self.resolve(name).upstream_id == model_id:
                    result.append(name)
            except ModelRetiredError:
                continue
        return result

    def serving(self, model_id: str) -> list[int]:
        """The accounts whose last reply listed `model_id`."""
        return sorted(aid for aid, report in self._reports.items() if model_id in report.models)

    def unfit_accounts(self, name: str) -> frozenset[int]:
        """Accounts whose last reply lacks the model `name` resolves to (they would answer 404,
        e.g. a per-account User-Agent below the model's floor). Empty when no account lists it:
        then the upstream decides, and every account may try."""
        try:
            model_id = self.resolve(name).upstream_id
        except ModelRetiredError:
            return frozenset()
        known = self._unfit.get(model_id)
        if known is None:
            lacking = frozenset(aid for aid, report in self._reports.items() if model_id not in report.models)
            known = self._unfit[model_id] = lacking if len(lacking) < len(self._reports) else frozenset()
        return known

    def quota(self, account_id: int, model_id: str) -> Mapping[str, Any] | None:
        report = self._reports.get(account_id)
        entry = report.models.get(model_id) if report else None
        quota = entry.get("quotaInfo") if entry else None
        return quota if isinstance(quota, Mapping) else None

    def reported_ids(self, account_id: int) -> list[str]:
        report = self._reports.get(account_id)
        return sorted(report.models) if report else []

    def drift(self, reply: Mapping[str, Any], user_agent: str = "") -> list[str]:
        """What one account's reply says the shipped metadata no longer matches (`accounts check`).

        - models the data files do not describe (they are served with defaults from the reply);
        - names in the `/v1/models` listing whose upstream model this account does not list;
        - the User-Agent's version below a model's `min_client_version` (data), or models the data
          describes missing from the reply, or the reply's default agent model missing from its own
          list: the upstream hides models newer than the client version (§12.3).
        """
        models = reply.get("models")
        if not isinstance(models, Mapping):
            return []
        notes: list[str] = []
        hidden = {str(i) for i in reply.get("tabModelIds") or ()}
        unknown = sorted(
            mid
            for mid, info in models.items()
            if mid not in self.tables.models
            and mid not in self.tables.aliases
            and mid not in hidden
            and not (
                isinstance(info, Mapping)
                and (info.get("isInternal") or info.get("apiProvider") == "API_PROVIDER_INTERNAL")
            )
            and not str(mid).startswith(self.tables.hidden_prefixes)
        )
        if unknown:
            notes.append(f"models the shipped metadata does not know: {', '.join(unknown)}")
        deprecated = {
            str(old): entry.get("newModelId")
            for old, entry in (reply.get("deprecatedModelIds") or {}).items()
            if isinstance(entry, Mapping)
        }
        vanished = []
        for name in self.tables.listed_aliases:
            try:
                target = self.resolve(name).upstream_id
            except ModelRetiredError:
                vanished.append(f"{name} (retired)")
                continue
            target = deprecated.get(target) or target
            if target not in models:
                vanished.append(f"{name} → {target}")
        if vanished:
            notes.append(f"contract names whose model this account does not list: {', '.join(vanished)}")
        notes.extend(self._version_drift(models, deprecated, reply.get("defaultAgentModelId"), user_agent))
        return notes

    def _version_drift(
        self, models: Mapping[str, Any], deprecated: Mapping[str, Any], default: Any, user_agent: str
    ) -> list[str]:
        notes: list[str] = []
        fix = (
            "set SWITCHYARD_ANTIGRAVITY_USER_AGENT (or the account's user agent) to the current "
            "Antigravity version"
        )
        version = client_version(user_agent)
        below = sorted(
            f"{mid} (needs {floor})"
            for mid, floor in self.tables.min_client_versions().items()
            if version is not None and version < _version_tuple(floor)
        )
        if below:
            notes.append(f"the User-Agent {user_agent!r} is below the floor of: {', '.join(below)}; {fix}")
        missing = sorted(
            mid
            for mid in self.tables.models
            if mid not in models and mid not in deprecated and not self._is_retired(mid)
        )
        if missing:
            notes.append(
                f"models the shipped metadata knows that this account does not list: {', '.join(missing)} "
                f"(retired, or hidden from this client version; if they are new, {fix})"
            )
        if isinstance(default, str) and default and default not in models:
            notes.append(
                f"the default agent model {default} is not offered to this client: the User-Agent's "
                f"version is likely below the upstream's floor; {fix}"
            )
        return notes

    # --- internals ----------------------------------------------------------------------------

    def _invalidate(self) -> None:
        self._merged = None
        self._deprecated_ids = None
        self._metas = {}
        self._resolved = {}
        self._unfit = {}

    def _merged_models(self) -> dict[str, dict[str, Any]]:
        merged = self._merged
        if merged is None:
            merged = {}
            for report in self._reports.values():
                for model_id, info in report.models.items():
                    merged.setdefault(model_id, info)
            self._merged = merged
        return merged

    def _deprecated(self) -> dict[str, str]:
        result = self._deprecated_ids
        if result is None:
            result = {}
            for report in self._reports.values():
                result.update(report.deprecated)
            self._deprecated_ids = result
        return result

    def _hidden(self) -> set[str]:
        hidden = set(self.tables.hidden_ids)
        for report in self._reports.values():
            hidden |= report.hidden_ids
        return hidden

    def _known_ids(self) -> list[str]:
        return sorted(set(self._merged_models()) | set(self.tables.models))


_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def _version_tuple(text: str) -> tuple[int, ...]:
    found = _VERSION.search(text)
    return tuple(int(n) for n in found.groups()) if found else ()


def client_version(user_agent: str) -> tuple[int, ...] | None:
    """The `x.y.z` an Antigravity User-Agent announces (`antigravity/hub/2.11.0 darwin/arm64`)."""
    version = _version_tuple(user_agent)
    return version or None


def _loose(display: str) -> str:
    """A display name without its parenthesised tier ("Claude Sonnet 4.6 (Thinking)" → "claude sonnet 4.6")."""
    return _PARENTHESES.sub("", display).strip().casefold()
