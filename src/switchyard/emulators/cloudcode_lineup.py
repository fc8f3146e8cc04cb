"""What surrounds the model table in today's reply: retired ids and the top-level id lists (§12.1-§12.3).

A retired id answers HTTP 200 with a normal model turn telling the user to switch (§12.3). The texts
are data: each row names the old and new model as the captures do — display names mostly, raw ids
for a few, sometimes followed by " in the latest version of Antigravity." (both wordings were seen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LATEST_VERSION_SUFFIX = " in the latest version of Antigravity"
UNSUPPORTED_VERSION_TEXT = (
    "This version of Antigravity is no longer supported. Please upgrade to receive the latest features."
)


@dataclass(frozen=True)
class Retirement:
    """A retired id: what replaced it and how the upstream words the switch."""

    model: str
    replacement: str
    old_name: str
    new_name: str
    latest_version: bool = False
    deprecated: bool = False
    """Still listed, and forwarded through `deprecatedModelIds` (e.g. `gemini-3.1-pro-high`)."""

    @property
    def text(self) -> str:
        suffix = LATEST_VERSION_SUFFIX if self.latest_version else ""
        return f"{self.old_name} is no longer available. Please switch to {self.new_name}{suffix}."


RETIREMENTS: tuple[Retirement, ...] = (
    Retirement("claude-opus-4-5-thinking", "claude-opus-4-6-thinking", "Claude Opus 4.5 (Thinking)", "Claude Opus 4.6 (Thinking)"),
    Retirement("claude-sonnet-4-5", "claude-sonnet-4-6", "Claude Sonnet 4.5", "Claude Sonnet 4.6"),
    Retirement(
        "claude-sonnet-4-5-thinking", "claude-sonnet-4-6", "Claude Sonnet 4.5 (Thinking)", "Claude Sonnet 4.6",
        latest_version=True,
    ),
    Retirement("gemini-3-pro-high", "gemini-pro-agent", "Gemini 3 Pro (High)", "Gemini 3.1 Pro (High)", latest_version=True),
    Retirement("gemini-3-pro-low", "gemini-3.1-pro-low", "Gemini 3 Pro (Low)", "Gemini 3.1 Pro (Low)"),
    Retirement("gemini-3-pro-image", "gemini-3.1-flash-image", "Gemini 3 Pro Image", "Gemini 3.1 Flash Image"),
    # The CPA capture quotes raw ids rather than display names.
    Retirement(
        "gemini-3.1-flash-lite-preview", "gemini-3.1-flash-lite", "gemini-3.1-flash-lite-preview",
        "gemini-3.1-flash-lite",
    ),
    Retirement(
        "gemini-3.1-pro-high", "gemini-pro-agent", "gemini-3.1-pro-high", "gemini-pro-agent",
        deprecated=True,
    ),
    Retirement(
        "gemini-3-flash-agent", "gemini-3.7-flash-high", "Gemini 3.5 Flash (High)", "Gemini 3.7 Flash (High)",
        latest_version=True,
    ),
    Retirement(
        "gemini-3.5-flash-low", "gemini-3.7-flash-medium", "Gemini 3.5 Flash (Medium)",
        "Gemini 3.7 Flash (Medium)", latest_version=True,
    ),
    Retirement(
        "gemini-3.5-flash-extra-low", "gemini-3.7-flash-low", "Gemini 3.5 Flash (Low)", "Gemini 3.7 Flash (Low)",
    ),
)  # fmt: skip

# --- top-level lists of the September 2026 reply; the first visible id of each preference list wins --

DEFAULT_AGENT_MODEL_PREFERENCE = ("gemini-3.8-flash-high", "gemini-3.7-flash-high", "gemini-3.6-flash-high")
AGENT_MODEL_SORTS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    (
        "Recommended",
        (
            ("gemini-3.8-flash-high", "gemini-3.8-flash-medium", "gemini-3.8-flash-low"),
            ("gemini-pro-agent", "gemini-3.1-pro-low"),
            ("claude-sonnet-4-6", "claude-opus-4-6-thinking", "gpt-oss-120b-medium"),
        ),
    ),
    (
        "Other models",
        (
            ("gemini-3.7-flash-high", "gemini-3.7-flash-medium", "gemini-3.7-flash-low"),
            ("gemini-3.6-flash-high", "gemini-3.6-flash-medium", "gemini-3.6-flash-low"),
            ("gemini-3-flash", "gemini-3.1-flash-lite"),
        ),
    ),
)
ID_LISTS: dict[str, tuple[str, ...]] = {
    "commandModelIds": ("gemini-3-flash",),
    "tabModelIds": ("chat_20706", "tab_flash_lite_preview", "tab_jump_flash_lite_preview"),
    "imageGenerationModelIds": ("gemini-3.1-flash-image",),
    "mqueryModelIds": ("gemini-3.1-flash-lite",),
    "webSearchModelIds": ("gemini-3.1-flash-lite",),
    "commitMessageModelIds": ("gemini-3.5-flash-lite",),
    "audioTranscriptionModelIds": ("gemini-3-flash",),
}
TIERED_PREFERENCES: dict[str, tuple[str, ...]] = {
    "flashLite": ("gemini-3.5-flash-lite",),
    "flash": ("gemini-3.8-flash-tiered", "gemini-3.7-flash-tiered", "gemini-3.6-flash-tiered"),
    "pro": ("gemini-3.1-pro-low",),
}
EXPERIMENT_IDS = (106140402, 106221718, 106305147)


def top_level_lists(visible: set[str]) -> dict[str, Any]:
    """Everything of the reply besides `models` and `deprecatedModelIds`, restricted to visible ids."""
    reply: dict[str, Any] = {}
    default = next((m for m in DEFAULT_AGENT_MODEL_PREFERENCE if m in visible), None)
    if default is not None:
        reply["defaultAgentModelId"] = default
    sorts = []
    for display_name, groups in AGENT_MODEL_SORTS:
        kept = [{"modelIds": [m for m in group if m in visible]} for group in groups]
        kept = [group for group in kept if group["modelIds"]]
        if kept:
            sorts.append({"displayName": display_name, "groups": kept})
    reply["agentModelSorts"] = sorts
    for name, ids in ID_LISTS.items():
        reply[name] = [m for m in ids if m in visible]
    reply["tieredModelIds"] = {
        tier: [m for m in preference if m in visible][:1] for tier, preference in TIERED_PREFERENCES.items()
    }
    reply["experimentIds"] = list(EXPERIMENT_IDS)
    return reply
