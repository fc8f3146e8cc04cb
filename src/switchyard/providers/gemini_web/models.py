"""Gemini web model ids and their capability suffixes (api-contract.md, "Gemini web").

A public id is a base model plus any `-`-joined capability suffixes, in any order and combinable:
`gemini-3-pro-imagen-deepsearch`. Parsing is strict, so a typo is a clear 400, not a silent default.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_MODELS: tuple[str, ...] = ("gemini-2.5-flash-free", "gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro")
SUFFIXES: tuple[str, ...] = ("imagen", "video", "canvas", "deepsearch", "storybook")
PRO_ONLY_SUFFIXES = frozenset({"video"})
DEPRECATED: dict[str, str] = {"gemini-2.5-pro": "gemini-3-pro"}
"""Deprecated ids and the model that serves them (said in a response header)."""
WEB_MODELS: dict[str, str] = {
    "gemini-2.5-flash-free": "gemini-flash",
    "gemini-2.5-flash": "gemini-flash-thinking",
    "gemini-3-pro": "gemini-pro",
}
"""The model of the web app's picker that serves each (non-deprecated) base, by the name
`gemini-webapi` registers it under. The web app no longer offers 2.5 models: "Fast" (Flash) serves
the free tier id and "Thinking" the plain Flash id, so the latter answers with its thoughts."""
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
    def is_pro(self) -> bool:
        return "pro" in self.base

    @property
    def web_model(self) -> str:
        """The `gemini-webapi` model name sent upstream."""
        return WEB_MODELS[self.served_by]

    @property
    def family(self) -> str:
        """The pool's cooldown key: usage limits (1037) are per web model, not per public id."""
        return self.web_model

    @property
    def accepts_files(self) -> bool:
        return self.base != "gemini-2.5-flash-free"


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
            if suffix in PRO_ONLY_SUFFIXES and "pro" not in base:
                continue
            listed.append(f"{base}-{suffix}")
    return listed
