"""`ModelProfile`: what the translators need to know about one public model.

The provider builds one per model it serves (protocols/antigravity.md §6.2); the translators
never look a model up by name, so a new upstream model needs a profile, not a code change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["gemini-2.5", "gemini-3", "claude", "gpt-oss", "image"]
"""Model families differ in thinking config shape, signature rules and tool-call validation."""

ThinkingLevel = Literal["minimal", "low", "medium", "high"]

CLASSIC_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
"""The ratios every image model takes; newer ones take more (protocols/antigravity.md §12.5)."""
CLASSIC_IMAGE_SIZES = ("1K", "2K", "4K")


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """Translation-relevant facts about one public model id.

    - `thinking`: the model always thinks (2.5-pro, *-thinking, Gemini 3, gpt-oss); its thoughts are
      requested (`includeThoughts`) even when the client sends no `reasoning_effort`.
    - `thinking_budget`: the (min, max) `thinkingBudget` the model accepts; None when the model has no
      budget control (Gemini 3 uses levels; non-thinking Claude cannot think at all). A min of 0
      means thinking can be turned off.
    - `default_thinking_budget`: sent when the client gives no `reasoning_effort` (e.g. 1024 for
      gemini-2.5-flash-thinking, §6.2); None leaves the upstream default (dynamic).
    - `thinking_levels`: Gemini 3 levels the model accepts, lowest first (e.g. gemini-3-flash:
      minimal/low/medium/high). Empty (the default) means the model id fixes the depth
      (`gemini-3-pro-low`/`-high`), so `reasoning_effort` sends no `thinkingLevel` (§6.2 conflict note).
    - `max_output_tokens`: the model's output cap; client `max_tokens` is clamped to it.
    - `image_output`: an image-generation model (no system prompt, tools or thinking injected).
    - `aspect_ratios`, `image_sizes`: what an image model accepts; other ratios are asked as the
      nearest of these and center-cropped.
    """

    id: str
    family: Family
    thinking: bool = False
    image_output: bool = False
    thinking_budget: tuple[int, int] | None = None
    default_thinking_budget: int | None = None
    thinking_levels: tuple[ThinkingLevel, ...] = ()
    max_output_tokens: int = 65535
    aspect_ratios: tuple[str, ...] = CLASSIC_ASPECT_RATIOS
    image_sizes: tuple[str, ...] = CLASSIC_IMAGE_SIZES

    @property
    def is_claude(self) -> bool:
        return self.family == "claude"

    @property
    def can_think(self) -> bool:
        """Whether a thinkingConfig may be sent at all."""
        if self.image_output:
            return False
        return self.thinking or self.thinking_budget is not None or self.family == "gemini-3"
