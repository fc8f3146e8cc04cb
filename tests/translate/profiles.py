"""Model profiles shaped like the Antigravity provider's (protocols/antigravity.md §6.2), for tests."""

from switchyard.translate import ModelProfile

GEMINI_25_FLASH = ModelProfile("gemini-2.5-flash", "gemini-2.5", thinking_budget=(0, 24576))
GEMINI_25_PRO = ModelProfile("gemini-2.5-pro", "gemini-2.5", thinking=True, thinking_budget=(128, 32768))
GEMINI_25_THINKING = ModelProfile(
    "gemini-2.5-flash-thinking",
    "gemini-2.5",
    thinking=True,
    thinking_budget=(0, 24576),
    default_thinking_budget=1024,
)
GEMINI_3_PRO = ModelProfile("gemini-3-pro-high", "gemini-3", thinking=True)
GEMINI_3_LEVELS = ModelProfile(
    "gemini-3-pro-preview", "gemini-3", thinking=True, thinking_levels=("low", "high")
)
GEMINI_3_FLASH = ModelProfile(
    "gemini-3-flash", "gemini-3", thinking=True, thinking_levels=("minimal", "low", "medium", "high")
)
CLAUDE = ModelProfile("claude-sonnet-4-5", "claude", max_output_tokens=64000)
CLAUDE_THINKING = ModelProfile(
    "claude-sonnet-4-5-thinking",
    "claude",
    thinking=True,
    thinking_budget=(1024, 200000),
    max_output_tokens=64000,
)
GPT_OSS = ModelProfile("gpt-oss-120b-medium", "gpt-oss", thinking=True, max_output_tokens=32768)
IMAGE = ModelProfile("gemini-3-pro-image", "image", image_output=True)

ALL = (
    GEMINI_25_FLASH,
    GEMINI_25_PRO,
    GEMINI_25_THINKING,
    GEMINI_3_PRO,
    GEMINI_3_FLASH,
    CLAUDE,
    CLAUDE_THINKING,
    GPT_OSS,
)
