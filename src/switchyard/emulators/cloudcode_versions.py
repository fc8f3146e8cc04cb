"""Client-version gating by User-Agent (protocols/antigravity.md §12.3).

The upstream reads the client version from the HTTP User-Agent. Below a global floor every generate
call answers 200 with "This version of Antigravity is no longer supported…"; below a model's own floor
the id is missing from `fetchAvailableModels` and answers 404. A missing or unparseable User-Agent
counts as below every floor.

Two client kinds are told apart: the IDE/Hub (`antigravity/hub/2.9.1 darwin/arm64`,
`Antigravity/4.3.0 (Macintosh; …) Electron/…`, the Dec 2025 `antigravity/1.11.5 windows/amd64`) and the
agy CLI (`antigravity/cli/1.1.12 windows/amd64`), whose numbering is its own: GCA-H still worked with
CLI 1.1.12 in Aug 2026 while Hub versions below 1.22 were refused, so each kind has its own floors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Version = tuple[int, int, int]

IDE = "ide"
CLI = "cli"
DEFAULT_FLOORS: dict[str, str] = {IDE: "1.22.0", CLI: "1.0.0"}
_USER_AGENT = re.compile(r"^antigravity/(?:(hub|cli)/)?(\d+)\.(\d+)\.(\d+)(?:\s|$)", re.IGNORECASE)
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class ClientVersion:
    kind: str
    version: Version


def parse_version(text: str) -> Version:
    match = _VERSION.match(text.strip())
    if match is None:
        raise ValueError(f"not a version X.Y.Z: {text!r}")
    major, minor, patch = (int(group) for group in match.groups())
    return major, minor, patch


def parse_user_agent(user_agent: str | None) -> ClientVersion | None:
    """The client kind and version a User-Agent announces, or None."""
    match = _USER_AGENT.match((user_agent or "").strip())
    if match is None:
        return None
    kind = CLI if (match.group(1) or "").lower() == CLI else IDE
    major, minor, patch = (int(match.group(i)) for i in (2, 3, 4))
    return ClientVersion(kind, (major, minor, patch))


def show(version: Version) -> str:
    return ".".join(str(part) for part in version)


@dataclass
class VersionFloors:
    """The global floor per client kind and the per-model floors; `POST /_control/versions` edits them."""

    floors: dict[str, Version] = field(default_factory=dict)
    model_floors: dict[str, dict[str, Version]] = field(default_factory=dict)

    @classmethod
    def defaults(cls, ide_model_floors: Mapping[str, str]) -> VersionFloors:
        return cls(
            floors={kind: parse_version(text) for kind, text in DEFAULT_FLOORS.items()},
            model_floors={
                IDE: {model: parse_version(text) for model, text in ide_model_floors.items()},
                CLI: {},
            },
        )

    def supported(self, client: ClientVersion | None) -> bool:
        return client is not None and client.version >= self.floors[client.kind]

    def allows(self, client: ClientVersion | None, model: str) -> bool:
        """Whether this client may see and use `model` (an unknown client sees only ungated ids)."""
        if client is None:
            return all(model not in floors for floors in self.model_floors.values())
        floor = self.model_floors[client.kind].get(model)
        return floor is None or client.version >= floor

    def update(self, spec: Mapping[str, Any]) -> None:
        """`{"floor": "1.22.0", "cli_floor": "1.0.0", "model_floors": {id: "2.9.0"|null},
        "cli_model_floors": {...}}`; a null model floor removes it."""
        updates: dict[str, Version] = {}
        for key, kind in (("floor", IDE), ("cli_floor", CLI)):
            if key in spec:
                updates[kind] = parse_version(str(spec[key]))
        model_updates: dict[str, dict[str, Version | None]] = {}
        for key, kind in (("model_floors", IDE), ("cli_model_floors", CLI)):
            given = spec.get(key) or {}
            if not isinstance(given, dict):
                raise ValueError(f"{key} must be an object of model id → version")
            model_updates[kind] = {
                model: None if text is None else parse_version(str(text)) for model, text in given.items()
            }
        self.floors.update(updates)
        for kind, changes in model_updates.items():
            for model, floor in changes.items():
                if floor is None:
                    self.model_floors[kind].pop(model, None)
                else:
                    self.model_floors[kind][model] = floor

    def public(self) -> dict[str, Any]:
        return {
            "floor": show(self.floors[IDE]),
            "cli_floor": show(self.floors[CLI]),
            "model_floors": {model: show(v) for model, v in sorted(self.model_floors[IDE].items())},
            "cli_model_floors": {model: show(v) for model, v in sorted(self.model_floors[CLI].items())},
        }
