"""What Cloud Code knows about models and accounts: the catalogue, projects, tiers and quota (§3, §6).

Each account (named as the gateway knows it, from the access token) has a project id derived from its
name, a tier and a per-model request quota. `POST /_control/accounts` reconfigures one account.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_QUOTA_REQUESTS = 200
DEFAULT_QUOTA_WINDOW_S = 5 * 3600
DEFAULT_ONBOARD_POLLS = 2
DEFAULT_TIER = "free-tier"
PROJECT_STYLES = frozenset({"string", "object", "onboard"})

PROJECT_ADJECTIVES = (
    "useful", "rising", "brave", "calm", "eager", "gentle", "honest", "lively",
    "mighty", "proud", "quiet", "silver", "swift", "vivid", "witty", "bright",
)  # fmt: skip
PROJECT_NOUNS = (
    "fuze", "fact", "harbor", "meadow", "signal", "canyon", "lantern", "orbit",
    "pixel", "river", "summit", "thicket", "vector", "willow", "beacon", "circuit",
)  # fmt: skip

TIERS: dict[str, dict[str, Any]] = {
    "free-tier": {
        "id": "free-tier",
        "name": "Antigravity",
        "description": "Antigravity for individuals",
        "userDefinedCloudaicompanionProject": False,
    },
    "standard-tier": {
        "id": "standard-tier",
        "name": "Gemini Code Assist",
        "description": "Unlimited coding assistant with the most powerful Gemini models",
        "userDefinedCloudaicompanionProject": True,
    },
    "g1-pro-tier": {
        "id": "g1-pro-tier",
        "name": "Google AI Pro",
        "description": "Google AI Pro subscription",
        "userDefinedCloudaicompanionProject": False,
    },
}


def _model(
    display: str, provider: str, *, thinking: bool, images: bool = True, **extra: Any
) -> dict[str, Any]:
    api, owner = {
        "google": ("API_PROVIDER_GOOGLE_GEMINI", "MODEL_PROVIDER_GOOGLE"),
        "anthropic": ("API_PROVIDER_ANTHROPIC_VERTEX", "MODEL_PROVIDER_ANTHROPIC"),
        "openai": ("API_PROVIDER_OPENAI_VERTEX", "MODEL_PROVIDER_OPENAI"),
    }[provider]
    info: dict[str, Any] = {
        "displayName": display,
        "apiProvider": api,
        "modelProvider": owner,
        "supportsImages": images,
        "supportsThinking": thinking,
    }
    info.update(extra)
    return info


GEMINI_LIMITS: dict[str, Any] = {
    "maxTokens": 1048576,
    "maxOutputTokens": 65535,
    "tokenizerType": "LLAMA_WITH_SPECIAL",
}
CLAUDE_LIMITS: dict[str, Any] = {"maxTokens": 200000, "maxOutputTokens": 64000}

MODELS: dict[str, dict[str, Any]] = {
    "gemini-2.5-flash": _model(
        "Gemini 2.5 Flash", "google", thinking=True, thinkingBudget=24576, **GEMINI_LIMITS
    ),
    "gemini-2.5-flash-lite": _model("Gemini 2.5 Flash Lite", "google", thinking=True, **GEMINI_LIMITS),
    "gemini-2.5-flash-thinking": _model(
        "Gemini 2.5 Flash (Thinking)", "google", thinking=True, thinkingBudget=1024, **GEMINI_LIMITS
    ),
    "gemini-2.5-pro": _model("Gemini 2.5 Pro", "google", thinking=True, thinkingBudget=1024, **GEMINI_LIMITS),
    "gemini-3-pro-low": _model(
        "Gemini 3 Pro (Low)", "google", thinking=True, recommended=True, **GEMINI_LIMITS
    ),
    "gemini-3-pro-high": _model(
        "Gemini 3 Pro (High)", "google", thinking=True, recommended=True, **GEMINI_LIMITS
    ),
    "gemini-3-flash": _model("Gemini 3 Flash", "google", thinking=True, recommended=True, **GEMINI_LIMITS),
    "gemini-3-pro-image": _model("Gemini 3 Pro Image", "google", thinking=True, maxOutputTokens=32768),
    "gemini-2.5-flash-image": _model(
        "Gemini 2.5 Flash Image", "google", thinking=False, maxOutputTokens=32768
    ),
    "claude-sonnet-4-5": _model("Claude Sonnet 4.5", "anthropic", thinking=False, **CLAUDE_LIMITS),
    "claude-sonnet-4-5-thinking": _model(
        "Claude Sonnet 4.5 (Thinking)", "anthropic", thinking=True, **CLAUDE_LIMITS
    ),
    "claude-opus-4-5-thinking": _model(
        "Claude Opus 4.5 (Thinking)", "anthropic", thinking=True, **CLAUDE_LIMITS
    ),
    "gpt-oss-120b-medium": _model(
        "GPT-OSS 120B (Medium)",
        "openai",
        thinking=True,
        images=False,
        maxTokens=114000,
        maxOutputTokens=32768,
    ),
    # Internal ids the real catalogue also lists; gateways are expected to hide them (§6.1).
    "chat_20706": _model("chat_20706", "google", thinking=True, **GEMINI_LIMITS),
    "tab_flash_lite_preview": _model("tab_flash_lite_preview", "google", thinking=False, **GEMINI_LIMITS),
}
IMAGE_MODELS = ("gemini-3-pro-image", "gemini-2.5-flash-image")
WEB_SEARCH_MODELS = ("gemini-2.5-flash",)
DEPRECATED_MODEL_IDS = {"gemini-3-pro-preview": {"newModelId": "gemini-3-pro-high"}}


def is_claude(model: str) -> bool:
    return model.startswith("claude-")


def is_gemini3(model: str) -> bool:
    return model.startswith("gemini-3")


def is_image_model(model: str) -> bool:
    return model in IMAGE_MODELS


def thinks(model: str) -> bool:
    """Whether the model reasons before answering (and so reports thoughts and issues signatures)."""
    return bool(MODELS[model]["supportsThinking"])


def derive_project_id(account: str) -> str:
    """`<adjective>-<noun>-<5 hex>`, stable per account name, like the ids Google provisions."""
    digest = hashlib.sha256(f"cloudcode-project:{account}".encode()).digest()
    adjective = PROJECT_ADJECTIVES[digest[0] % len(PROJECT_ADJECTIVES)]
    noun = PROJECT_NOUNS[digest[1] % len(PROJECT_NOUNS)]
    return f"{adjective}-{noun}-{digest[2:5].hex()[:5]}"


@dataclass
class Account:
    """One upstream account: how it reports its project, its tier, and what quota it has left."""

    name: str
    project_id: str
    project_style: str = "string"
    tier: str = DEFAULT_TIER
    onboard_polls: int = DEFAULT_ONBOARD_POLLS
    quota_requests: int = DEFAULT_QUOTA_REQUESTS
    quota_window_s: float = DEFAULT_QUOTA_WINDOW_S
    onboard_calls: int = 0
    onboarded: bool = False
    used: dict[str, int] = field(default_factory=dict)
    window_ends_at: float = field(default_factory=lambda: time.time() + DEFAULT_QUOTA_WINDOW_S)

    @property
    def has_project(self) -> bool:
        """An "onboard" account owns no project until onboardUser has completed."""
        return self.project_style != "onboard" or self.onboarded

    def owns(self, project: str) -> bool:
        return self.has_project and project == self.project_id

    def project_json(self) -> str | dict[str, str]:
        if self.project_style == "object":
            return {"id": self.project_id, "name": self.project_id}
        return self.project_id

    def roll_window(self) -> None:
        """Quota refills when its window ends, as the real per-model windows do."""
        now = time.time()
        if now >= self.window_ends_at:
            self.used.clear()
            self.window_ends_at = now + self.quota_window_s

    def remaining(self, model: str) -> int:
        self.roll_window()
        return max(0, self.quota_requests - self.used.get(model, 0))

    def seconds_to_reset(self) -> float:
        return max(0.0, self.window_ends_at - time.time())

    def spend(self, model: str) -> None:
        self.used[model] = self.used.get(model, 0) + 1

    def quota_info(self, model: str) -> dict[str, Any]:
        """proto3 JSON omits a zero `remainingFraction`, so an exhausted model has only `resetTime` (§6.3)."""
        info: dict[str, Any] = {}
        if self.quota_requests > 0:
            fraction = self.remaining(model) / self.quota_requests
            if fraction > 0:
                info["remainingFraction"] = round(fraction, 4)
        info["resetTime"] = datetime.fromtimestamp(self.window_ends_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return info


def configure_account(account: Account, spec: dict[str, Any]) -> None:
    """Apply a `POST /_control/accounts` body; raises ValueError on a value the emulator cannot honour."""
    style = spec.get("project_style", account.project_style)
    if style not in PROJECT_STYLES:
        raise ValueError(f"project_style must be one of {sorted(PROJECT_STYLES)}")
    tier = spec.get("tier", account.tier)
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {sorted(TIERS)}")
    account.project_style = style
    account.tier = tier
    account.onboard_polls = int(spec.get("onboard_polls", account.onboard_polls))
    account.quota_requests = int(spec.get("quota_requests", account.quota_requests))
    if "quota_window_s" in spec:
        account.quota_window_s = float(spec["quota_window_s"])
        account.window_ends_at = time.time() + account.quota_window_s
    if "project_id" in spec:
        account.project_id = str(spec["project_id"])
    if "project_style" in spec:
        account.onboarded = False
        account.onboard_calls = 0
    if spec.get("reset_quota"):
        account.used.clear()


def account_public(account: Account) -> dict[str, Any]:
    return {
        "name": account.name,
        "project_id": account.project_id,
        "project_style": account.project_style,
        "tier": account.tier,
        "onboard_polls": account.onboard_polls,
        "onboarded": account.onboarded,
        "quota_requests": account.quota_requests,
        "used": dict(account.used),
    }


def load_code_assist_reply(account: Account) -> dict[str, Any]:
    """§3 step 1: project (string or object) and tiers; no project and no currentTier before onboarding."""
    reply: dict[str, Any] = {
        "allowedTiers": [
            {**TIERS[tier_id], "isDefault": tier_id == account.tier}
            for tier_id in ("free-tier", "standard-tier")
        ],
        "gcpManaged": False,
        "manageSubscriptionUri": "https://accounts.google.com/AccountChooser?Email=&continue=https://one.google.com",
    }
    if account.tier not in {"free-tier", "standard-tier"}:
        reply["paidTier"] = {k: TIERS[account.tier][k] for k in ("id", "name", "description")}
    if account.has_project:
        reply["currentTier"] = TIERS[account.tier]
        reply["cloudaicompanionProject"] = account.project_json()
    return reply


def onboard_reply(account: Account) -> dict[str, Any]:
    """§3 step 2: a long-running operation, `done:false` for `onboard_polls` calls, then the project."""
    account.onboard_calls += 1
    operation = f"operations/onboard-{account.project_id}"
    if account.project_style == "onboard" and account.onboard_calls <= account.onboard_polls:
        return {"name": operation, "done": False}
    account.onboarded = True
    return {
        "name": operation,
        "done": True,
        "response": {
            "@type": "type.googleapis.com/google.internal.cloud.code.v1internal.OnboardUserResponse",
            "cloudaicompanionProject": {"id": account.project_id, "name": account.project_id},
        },
    }


def available_models_reply(account: Account) -> dict[str, Any]:
    """§6.3: the catalogue with this account's quota per model."""
    models = {
        model_id: {**info, "quotaInfo": account.quota_info(model_id)} for model_id, info in MODELS.items()
    }
    return {
        "models": models,
        "defaultAgentModelId": "gemini-3-pro-high",
        "deprecatedModelIds": DEPRECATED_MODEL_IDS,
        "webSearchModelIds": list(WEB_SEARCH_MODELS),
        "imageGenerationModelIds": list(IMAGE_MODELS),
    }


def quota_summary_reply(account: Account) -> dict[str, Any]:
    """`retrieveUserQuotaSummary` (AGM only, [U] shape): quota grouped by model family."""
    families: dict[str, list[str]] = {"claude": [], "gemini-pro": [], "gemini-flash": [], "other": []}
    for model_id in MODELS:
        if is_claude(model_id):
            families["claude"].append(model_id)
        elif "pro" in model_id:
            families["gemini-pro"].append(model_id)
        elif "flash" in model_id:
            families["gemini-flash"].append(model_id)
        else:
            families["other"].append(model_id)
    groups = []
    for family, ids in families.items():
        fractions = [
            account.remaining(m) / account.quota_requests if account.quota_requests else 0.0 for m in ids
        ]
        groups.append({"family": family, "modelIds": ids, "remainingFraction": round(min(fractions), 4)})
    reset = datetime.fromtimestamp(account.window_ends_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"quotaGroups": groups, "resetTime": reset}
