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
