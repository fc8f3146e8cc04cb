"""Emulated Gemini web accounts: cookies, page tokens, tiers and their model pickers (§1, §13.1).

Each account lists the late-2026 picker (Flash-Lite, Flash, Pro; no "Flash Thinking": thinking is
the separate extended-thinking toggle) and the mode list at `otAQ7b[24][1]`. An account may offer
fewer models (`offer`) or list some that are gated: a gated model is silently served by Flash-Lite,
as Google does, and only the echoed `[39]`/`[42]`/`[58]` of the answer tell (§13.1, §13.2).

An account is identified by its `__Secure-1PSID` cookie. `__Secure-1PSIDTS` is checked against
every value the account was issued (the registered one plus each RotateCookies answer), because
real sessions keep accepting a recent PSIDTS for a while after a rotation.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

PSID_COOKIE = "__Secure-1PSID"
PSIDTS_COOKIE = "__Secure-1PSIDTS"
TIER_FREE, TIER_PRO = "free", "pro"
TIERS = (TIER_FREE, TIER_PRO)
ROTATE_MIN_INTERVAL_S = 60.0
BUILD_LABEL = "boq_assistant-bard-web-server_20260901.08_p0"
PUSH_ID = "feeds/mcudyrk2a4khkz"
LANGUAGE = "en"

# otAQ7b body (§1.3)
STATUS_OK = 1000
STATUS_UNAUTHENTICATED = 1016
USER_STATUS_LENGTH = 25
USER_STATUS_MODES = 24  # [24][1]: the mode picker (§13.1)
USER_STATUS_CODE, USER_STATUS_MODELS, USER_STATUS_TIER_FLAGS, USER_STATUS_CAPABILITIES = 14, 15, 16, 17
TIER_FLAG_ADVANCED = 8  # tier flag 8 -> capacity 2 ("advanced"/Pro)
CAPACITY_FREE, CAPACITY_ADVANCED = 1, 2
# model entry in otAQ7b[15] (§13.1): [0] id, [1] category, [11] display name, [12] description, [17] number
MODEL_ENTRY_LENGTH = 18
MODEL_ID, MODEL_CATEGORY, MODEL_DISPLAY, MODEL_DESCRIPTION, MODEL_NUMBER = 0, 1, 11, 12, 17
# mode numbers of the web bundle (§13.1): 1 FAST, 2 THINKING, 3 PRO, 4 AUTO, 5 FAST_DYNAMIC_THINKING, 6 FLASH_LITE
MODE_FAST, MODE_PRO, MODE_THINKING, MODE_FLASH_LITE = 1, 3, 5, 6
MODES = ((MODE_FAST, "Fast", "Answers quickly"), (MODE_THINKING, "Thinking", "Solves complex problems"))
MODES_PRO = ((MODE_PRO, "Pro", "Advanced maths and code"),)
CATEGORY_FLASH_LITE, CATEGORY_FLASH, CATEGORY_PRO = "Flash-Lite", "Flash", "Pro"
CATEGORIES = (CATEGORY_FLASH_LITE, CATEGORY_FLASH, CATEGORY_PRO)


@dataclass(frozen=True)
class WebModel:
    """One model as the account's otAQ7b answer lists it."""

    model_id: str
    category: str
    display_name: str
    description: str
    number: int
    thinking: bool = False
    served_id: str = ""
    """The hex the answer echoes at `[39]` (3.1 Pro answers as `e6fa…` whatever was sent)."""

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a fault's `match.model` may use for this model."""
        slug = self.category.lower().replace(" ", "-")
        return (
            self.model_id,
            f"gemini-{slug}",
            f"gemini-3-{slug}",
            self.display_name,
            self.category,
        )

    def rpc_entry(self) -> list[Any]:
        entry: list[Any] = [None] * MODEL_ENTRY_LENGTH
        entry[MODEL_ID] = self.model_id
        entry[MODEL_CATEGORY] = self.category
        entry[MODEL_DESCRIPTION] = self.description
        entry[MODEL_DISPLAY] = self.display_name
        entry[MODEL_NUMBER] = self.number
        return entry

    @property
    def echoed_id(self) -> str:
        return self.served_id or self.model_id


# The late-2026 pickers (§13.1 "Served models"). The first model is the account's default.
FREE_MODELS = (
    WebModel("fbb127bbb056c959", CATEGORY_FLASH, "3.6 Flash", "Fast answers", 1),
    WebModel("cf41b0e0dd7d53e5", CATEGORY_FLASH_LITE, "3.5 Flash-Lite", "Lightweight answers", 6),
    WebModel(
        "9d8ca3786ebdfbea", CATEGORY_PRO, "3.1 Pro", "Advanced maths and code", 3, True, "e6fa609c3fa255c0"
    ),
)
PRO_MODELS = (
    WebModel("56fdd199312815e2", CATEGORY_FLASH, "3.7 Flash", "Fast answers", 1),
    WebModel("8c46e95b1a07cecc", CATEGORY_FLASH_LITE, "3.5 Flash-Lite", "Lightweight answers", 6),
    WebModel("e6fa609c3fa255c0", CATEGORY_PRO, "3.1 Pro", "Advanced maths and code", 3, True),
)


def _random_token(length: int, alphabet: str = string.ascii_letters + string.digits + "-_") -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_psid() -> str:
    return "g.a000" + _random_token(64)


def new_psidts() -> str:
    return "sidts-" + _random_token(88)


@dataclass
class WebAccount:
    name: str
    psid: str
    psidts: str
    tier: str = TIER_FREE
    expired: bool = False
    issued_psidts: set[str] = field(default_factory=set)
    access_token: str = ""
    session_id: str = ""
    last_rotation: float = 0.0
    offer: tuple[str, ...] = CATEGORIES
    """The categories the picker lists (an account without a rolled-out model lacks it)."""
    gated: frozenset[str] = frozenset()
    """Listed categories that are silently served by Flash-Lite (§13.2 "gated hexes")."""

    def __post_init__(self) -> None:
        if self.psidts:
            self.issued_psidts.add(self.psidts)
        self.access_token = f"{_random_token(32)}:{int(time.time() * 1000)}"
        self.session_id = str(-secrets.randbelow(2**63))

    @property
    def all_models(self) -> tuple[WebModel, ...]:
        return PRO_MODELS if self.tier == TIER_PRO else FREE_MODELS

    @property
    def models(self) -> tuple[WebModel, ...]:
        """The picker: the tier's models this account is offered."""
        return tuple(m for m in self.all_models if m.category in self.offer)

    @property
    def modes(self) -> list[list[Any]]:
        """The mode list at `otAQ7b[24][1]`: Thinking is a mode (5), not a model (§13.1)."""
        modes = MODES + (MODES_PRO if CATEGORY_PRO in self.offer else ())
        return [[number, label, description] for number, label, description in modes]

    def served(self, model: WebModel) -> WebModel:
        """What answers a request for `model`: itself, or Flash-Lite when the model is gated."""
        if model.category not in self.gated:
            return model
        return next(m for m in self.all_models if m.category == CATEGORY_FLASH_LITE)

    @property
    def capacity(self) -> int:
        return CAPACITY_ADVANCED if self.tier == TIER_PRO else CAPACITY_FREE

    @property
    def tier_flags(self) -> list[int]:
        return [TIER_FLAG_ADVANCED] if self.tier == TIER_PRO else []

    @property
    def default_model(self) -> WebModel:
        return self.models[0]

    def model(self, model_id: str | None) -> WebModel | None:
        """The model for a header's id (None = no header = the default model); None if unknown."""
        if model_id is None:
            return self.default_model
        return next((m for m in self.models if m.model_id == model_id), None)

    def accepts(self, psidts: str | None) -> bool:
        if self.expired:
            return False
        if not self.issued_psidts:
            return True  # some accounts have no PSIDTS at all (§1.1)
        return psidts is not None and psidts in self.issued_psidts

    def rotate(self) -> str:
        self.psidts = new_psidts()
        self.issued_psidts.add(self.psidts)
        self.last_rotation = time.monotonic()
        return self.psidts

    def public(self, reveal: bool = False) -> dict[str, Any]:
        def show(value: str) -> str:
            return value if reveal or not value else "…" + value[-4:]

        return {
            "name": self.name,
            "psid": show(self.psid),
            "psidts": show(self.psidts),
            "tier": self.tier,
            "expired": self.expired,
            "gated": sorted(self.gated),
            "modes": self.modes,
            "models": [
                {
                    "id": m.model_id,
                    "name": f"gemini-{m.category.lower().replace(' ', '-')}",
                    "display": m.display_name,
                }
                for m in self.models
            ],
        }


GUEST_NAME = "guest"


def guest_model(model_id: str | None) -> WebModel:
    """What answers a guest (no signed-in session, `at=""`): the free Flash when asked for, else
    Flash-Lite, also without a header and for gated or foreign hexes (§13.1, §13.2)."""
    flash, lite = FREE_MODELS[0], FREE_MODELS[1]
    return flash if model_id == flash.model_id else lite


@dataclass
class AccountRegistry:
    accounts: dict[str, WebAccount] = field(default_factory=dict)
    guest: WebAccount = field(
        default_factory=lambda: WebAccount(name=GUEST_NAME, psid="", psidts="", offer=(CATEGORY_FLASH,))
    )

    def register(self, spec: dict[str, Any]) -> WebAccount:
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("`name` is required")
        tier = spec.get("tier", TIER_FREE)
        if tier not in TIERS:
            raise ValueError(f"`tier` must be one of {', '.join(TIERS)}")
        psid = spec.get("psid") or new_psid()
        psidts = spec.get("psidts")
        if psidts is None:
            psidts = new_psidts()
        if not isinstance(psid, str) or not isinstance(psidts, str):
            raise ValueError("`psid` and `psidts` must be strings")
        if any(a.psid == psid and a.name != name for a in self.accounts.values()):
            raise ValueError("another account already uses this __Secure-1PSID")
        account = WebAccount(name=name, psid=psid, psidts=psidts, tier=tier)
        set_picker(account, spec)
        self.accounts[name] = account
        return account

    def by_cookies(self, cookies: dict[str, str]) -> WebAccount | None:
        """The live account these cookies belong to, or None (unknown, expired, or a stale PSIDTS)."""
        account = self.identify(cookies)
        if account is None or not account.accepts(cookies.get(PSIDTS_COOKIE)):
            return None
        return account

    def identify(self, cookies: dict[str, str]) -> WebAccount | None:
        """The account named by `__Secure-1PSID`, alive or not (for the request log)."""
        psid = cookies.get(PSID_COOKIE)
        if not psid:
            return None
        return next((a for a in self.accounts.values() if a.psid == psid), None)


def set_picker(account: WebAccount, spec: dict[str, Any]) -> None:
    """Apply `offer` (the categories listed) and `gated` (listed, served by Flash-Lite) from a spec."""
    offer = spec.get("offer", list(account.offer))
    gated = spec.get("gated", sorted(account.gated))
    for value in (offer, gated):
        if not isinstance(value, list) or any(c not in CATEGORIES for c in value):
            raise ValueError(f"`offer` and `gated` must be lists of {', '.join(CATEGORIES)}")
    if not offer:
        raise ValueError("an account's picker lists at least one model")
    account.offer = tuple(c for c in CATEGORIES if c in offer)
    account.gated = frozenset(gated)
