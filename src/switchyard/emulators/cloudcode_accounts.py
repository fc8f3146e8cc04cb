"""Cloud Code accounts: projects, tiers, onboarding (§3) and the two quota pools of today (§12.1, §12.2).

Each account (named as the gateway knows it, from the access token) has a project id derived from its
name, a tier, and two quota pools — Gemini, and "3p" (Claude + gpt-oss) — each with a `5h` and a
`weekly` window counted in requests. `POST /_control/accounts` reconfigures one account; its
`quota_requests`/`quota_window_s` knobs set the 5h window of both pools (or of the one named by `pool`).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from switchyard.emulators.cloudcode_models import Pool

DEFAULT_QUOTA_REQUESTS = 200
DEFAULT_QUOTA_WINDOW_S = 5 * 3600
WEEKLY_WINDOW_S = 7 * 24 * 3600
WEEKLY_FACTOR = 10
"""Unless set, the weekly window allows ten 5h windows' worth of requests."""
DEFAULT_ONBOARD_POLLS = 2
DEFAULT_TIER = "free-tier"
PROJECT_STYLES = frozenset({"string", "object", "onboard"})
SHORT, WEEKLY = "5h", "weekly"

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
POOL_TEXTS: dict[Pool, tuple[str, str]] = {
    Pool.GEMINI: ("Gemini models", "Shared by every Gemini model in Antigravity."),
    Pool.THIRD_PARTY: (
        "Claude and GPT-OSS models",
        "Shared by the Claude and GPT-OSS models in Antigravity.",
    ),
}
WINDOW_TEXTS = {
    SHORT: ("5-hour limit", "Refreshes five hours after the window's first request."),
    WEEKLY: ("Weekly limit", "Refreshes seven days after the window's first request."),
}


def rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def derive_project_id(account: str) -> str:
    """`<adjective>-<noun>-<5 hex>`, stable per account name, like the ids Google provisions."""
    digest = hashlib.sha256(f"cloudcode-project:{account}".encode()).digest()
    adjective = PROJECT_ADJECTIVES[digest[0] % len(PROJECT_ADJECTIVES)]
    noun = PROJECT_NOUNS[digest[1] % len(PROJECT_NOUNS)]
    return f"{adjective}-{noun}-{digest[2:5].hex()[:5]}"


@dataclass
class Window:
    """One quota window: `limit` requests per `length_s`, refilled when it ends."""

    limit: int
    length_s: float
    used: int = 0
    ends_at: float = 0.0

    def __post_init__(self) -> None:
        self.ends_at = self.ends_at or time.time() + self.length_s

    def roll(self) -> None:
        now = time.time()
        if now >= self.ends_at:
            self.used = 0
            self.ends_at = now + self.length_s

    def remaining(self) -> int:
        self.roll()
        return max(0, self.limit - self.used)

    def fraction(self) -> float:
        return self.remaining() / self.limit if self.limit > 0 else 0.0

    def seconds_to_reset(self) -> float:
        return max(0.0, self.ends_at - time.time())

    def restart(self, length_s: float | None = None) -> None:
        if length_s is not None:
            self.length_s = length_s
        self.used = 0
        self.ends_at = time.time() + self.length_s


@dataclass
class QuotaPool:
    """A pool's 5h and weekly windows; a request needs room in both."""

    windows: dict[str, Window]

    def binding(self) -> Window:
        """The window that limits now: the emptiest one (the later-resetting on a tie)."""
        return min(self.windows.values(), key=lambda w: (w.fraction(), -w.ends_at))

    def exhausted(self) -> Window | None:
        empty = [w for w in self.windows.values() if w.remaining() <= 0]
        return max(empty, key=lambda w: w.ends_at) if empty else None

    def spend(self) -> None:
        for window in self.windows.values():
            window.roll()
            window.used += 1

    def quota_info(self) -> dict[str, Any]:
        """proto3 JSON omits a zero `remainingFraction`, so an exhausted pool shows only `resetTime`."""
        window = self.binding()
        info: dict[str, Any] = {}
        if window.fraction() > 0:
            info["remainingFraction"] = round(window.fraction(), 4)
        info["resetTime"] = rfc3339(window.ends_at)
        return info


def new_pool(limit: int, window_s: float, weekly_limit: int | None) -> QuotaPool:
    weekly = weekly_limit if weekly_limit is not None else limit * WEEKLY_FACTOR
    return QuotaPool({SHORT: Window(limit, window_s), WEEKLY: Window(weekly, WEEKLY_WINDOW_S)})


@dataclass
class Account:
    """One upstream account: how it reports its project, its tier, and its quota pools."""

    name: str
    project_id: str
    project_style: str = "string"
    tier: str = DEFAULT_TIER
    onboard_polls: int = DEFAULT_ONBOARD_POLLS
    onboard_calls: int = 0
    onboarded: bool = False
    pools: dict[Pool, QuotaPool] = field(default_factory=dict)

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


def new_account(name: str, *, quota_requests: int, quota_window_s: float, onboard_polls: int) -> Account:
    pools = {pool: new_pool(quota_requests, quota_window_s, None) for pool in Pool}
    return Account(name=name, project_id=derive_project_id(name), onboard_polls=onboard_polls, pools=pools)


def _chosen_pools(account: Account, spec: dict[str, Any]) -> list[QuotaPool]:
    if spec.get("pool") is None:
        return list(account.pools.values())
    try:
        return [account.pools[Pool(spec["pool"])]]
    except ValueError as exc:
        raise ValueError(f"pool must be one of {[p.value for p in Pool]}") from exc


def configure_account(account: Account, spec: dict[str, Any]) -> None:
    """Apply a `POST /_control/accounts` body; raises ValueError on a value the emulator cannot honour."""
    style = spec.get("project_style", account.project_style)
    if style not in PROJECT_STYLES:
        raise ValueError(f"project_style must be one of {sorted(PROJECT_STYLES)}")
    tier = spec.get("tier", account.tier)
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {sorted(TIERS)}")
    pools = _chosen_pools(account, spec)
    account.project_style = style
    account.tier = tier
    account.onboard_polls = int(spec.get("onboard_polls", account.onboard_polls))
    for pool in pools:
        short, weekly = pool.windows[SHORT], pool.windows[WEEKLY]
        if "quota_requests" in spec:
            short.limit = int(spec["quota_requests"])
            if "weekly_quota_requests" not in spec:
                weekly.limit = max(weekly.limit, short.limit) if short.limit else 0
        if "weekly_quota_requests" in spec:
            weekly.limit = int(spec["weekly_quota_requests"])
        if "quota_window_s" in spec:
            short.restart(float(spec["quota_window_s"]))
        if "weekly_window_s" in spec:
            weekly.restart(float(spec["weekly_window_s"]))
        if spec.get("reset_quota"):
            short.restart()
            weekly.restart()
    if "project_id" in spec:
        account.project_id = str(spec["project_id"])
    if "project_style" in spec:
        account.onboarded = False
        account.onboard_calls = 0


def account_public(account: Account) -> dict[str, Any]:
    return {
        "name": account.name,
        "project_id": account.project_id,
        "project_style": account.project_style,
        "tier": account.tier,
        "onboard_polls": account.onboard_polls,
        "onboarded": account.onboarded,
        "quota_requests": account.pools[Pool.GEMINI].windows[SHORT].limit,
        "pools": {
            pool.value: {
                name: {"limit": w.limit, "used": w.used, "window_s": w.length_s}
                for name, w in quota.windows.items()
            }
            for pool, quota in account.pools.items()
        },
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


def quota_summary_reply(account: Account) -> dict[str, Any]:
    """`retrieveUserQuotaSummary` (§12.2): one group per pool, one bucket per window."""
    groups = []
    for pool, quota in account.pools.items():
        display_name, description = POOL_TEXTS[pool]
        buckets = []
        for window_name, window in quota.windows.items():
            bucket: dict[str, Any] = {"bucketId": f"{pool.value}-{window_name}", "window": window_name}
            if window.fraction() > 0:
                bucket["remainingFraction"] = round(window.fraction(), 4)
            title, text = WINDOW_TEXTS[window_name]
            bucket.update({"resetTime": rfc3339(window.ends_at), "displayName": title, "description": text})
            buckets.append(bucket)
        groups.append({"displayName": display_name, "description": description, "buckets": buckets})
    return {"groups": groups}
