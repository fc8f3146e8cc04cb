"""Gemini web model ids and their capability suffixes (api-contract.md, "Gemini web").

A public id is a base model plus any `-`-joined capability suffixes, in any order and combinable:
`gemini-3-pro-imagen-deepsearch`. Parsing is strict, so a typo is a clear 400, not a silent default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

BASE_MODELS: tuple[str, ...] = ("gemini-2.5-flash-free", "gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro")
SUFFIXES: tuple[str, ...] = ("imagen", "video", "canvas", "deepsearch", "storybook")
PRO_ONLY_SUFFIXES = frozenset({"video"})
DEPRECATED: dict[str, str] = {"gemini-2.5-pro": "gemini-3-pro"}
"""Deprecated ids and the model that serves them (said in a response header)."""
SHIPPED_PICKER_FILE = Path(__file__).with_name("picker.json")


@dataclass(frozen=True)
class PickerRoute:
    """How one contract base model is served on Gemini web: data (`picker.json`), not code, because
    what drifts is Google's picker. The account's own picker decides the hex id at request time."""

    picker: tuple[str, ...]
    """Picker categories ("Flash", "Pro", "Flash-Lite"), most preferred first."""
    extended_thinking: bool
    family: str
    files: bool
    video: bool


def load_routes(path: Path | None = None) -> dict[str, PickerRoute]:
    """Read the mapping file (the shipped one when `path` is None); raises ValueError when a base
    model is missing or an entry is malformed, so a bad edit fails at start, not on a request."""
    source = path or SHIPPED_PICKER_FILE
    try:
        data: Any = orjson.loads(source.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the Gemini web picker file {source}: {exc}") from None
    models = data.get("models") if isinstance(data, dict) else None
    routes: dict[str, PickerRoute] = {}
    for base in BASE_MODELS:
        if base in DEPRECATED:
            continue
        entry = models.get(base) if isinstance(models, dict) else None
        picker = entry.get("picker") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(picker, list) or not picker:
            raise ValueError(f"{source}: `models.{base}.picker` must be a non-empty list of categories")
        routes[base] = PickerRoute(
            picker=tuple(str(category) for category in picker),
            extended_thinking=bool(entry.get("extended_thinking", False)),
            family=str(entry.get("family") or f"gemini-web-{base}"),
            files=bool(entry.get("files", True)),
            video=bool(entry.get("video", False)),
        )
    return routes


_routes: dict[str, PickerRoute] = load_routes()


def configure_routes(path: Path | None) -> None:
    """Use the operator's mapping file (`SWITCHYARD_GEMINI_WEB_PICKER_FILE`) instead of the shipped one."""
    global _routes
    _routes = load_routes(path)


def families() -> list[str]:
    """Every pool family the Gemini web models use (an IP block rests them all)."""
    return sorted({route.family for route in _routes.values()})


TOOL_SUFFIXES = ("imagen", "video", "deepsearch")
"""Suffixes that pick the web app's tool for the turn; it runs one tool per turn."""
UNSUPPORTED_SUFFIXES: dict[str, str] = {
    "canvas": (
        "Canvas has no documented request payload in the Gemini web protocol (no replay client can "
        "open it; protocols/gemini-web.md §7), so the gateway cannot start it and will not fake it"
    ),
    "storybook": (
        "Storybook has no documented request payload in the Gemini web protocol (no replay client "
        "can open it; protocols/gemini-web.md §7), so the gateway cannot start it and will not fake it"
    ),
}


@dataclass(frozen=True)
class WebModel:
    public_id: str
    base: str
    capabilities: frozenset[str]

    @property
    def served_by(self) -> str:
        return DEPRECATED.get(self.base, self.base)

    @property
    def route(self) -> PickerRoute:
        return _routes[self.served_by]

    @property
    def is_pro(self) -> bool:
        """May carry `-video` (the contract's "Pro models only"), as the mapping file says."""
        return self.route.video

    @property
    def web_model(self) -> str:
        """The key of the web model serving this id (conversations and cooldowns are per web model)."""
        return self.route.family

    @property
    def family(self) -> str:
        """The pool's cooldown key: usage limits (1037) are per web model, not per public id."""
        return self.route.family

    @property
    def accepts_files(self) -> bool:
        return self.route.files


def capability_refusal(model: WebModel) -> str | None:
    """Why the web protocol cannot honestly serve this combination of suffixes, or None."""
    for suffix, reason in UNSUPPORTED_SUFFIXES.items():
        if suffix in model.capabilities:
            return f"The '-{suffix}' capability is not available: {reason}."
    if "video" in model.capabilities and not model.is_pro:
        return (
            f"The '-video' capability (Veo) is only offered with the Pro models; use "
            f"gemini-3-pro-video instead of '{model.public_id}'."
        )
    tools = [suffix for suffix in TOOL_SUFFIXES if suffix in model.capabilities]
    if len(tools) > 1:
        return (
            f"'{model.public_id}' combines {', '.join('-' + t for t in tools)}: the Gemini web app "
            "runs one tool per turn (image generation, video generation or Deep Research), so these "
            "cannot be combined in one request."
        )
    return None


class UnknownWebModel(ValueError):
    pass


def parse_model(model: str) -> WebModel:
    """Split `gemini-3-pro-imagen-canvas` into base and capabilities, or raise UnknownWebModel."""
    for base in sorted(BASE_MODELS, key=len, reverse=True):
        if model == base or model.startswith(base + "-"):
            rest = model[len(base) :].strip("-")
            caps = [part for part in rest.split("-") if part] if rest else []
            unknown = [cap for cap in caps if cap not in SUFFIXES]
            if unknown:
                continue
            if len(set(caps)) != len(caps):
                raise UnknownWebModel(f"model '{model}' repeats a capability suffix")
            return WebModel(model, base, frozenset(caps))
    raise UnknownWebModel(
        f"unknown model '{model}': use one of {', '.join(BASE_MODELS)}, optionally followed by "
        f"capability suffixes ({', '.join('-' + s for s in SUFFIXES)}), e.g. gemini-3-pro-imagen"
    )


def listed_models() -> list[str]:
    """The models `GET /v1/models` lists: each base model, alone and with each single suffix."""
    listed = []
    for base in BASE_MODELS:
        listed.append(base)
        for suffix in SUFFIXES:
            if suffix in PRO_ONLY_SUFFIXES and not _routes[DEPRECATED.get(base, base)].video:
                continue
            listed.append(f"{base}-{suffix}")
    return listed
