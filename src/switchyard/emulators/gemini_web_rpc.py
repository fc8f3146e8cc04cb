"""batchexecute RPC bodies (§1.3, §7, §11): what each rpcid answers inside `["wrb.fr", rpcid, "<body>"]`."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from switchyard.emulators import gemini_web_accounts as acct
from switchyard.emulators import gemini_web_frames as wire
from switchyard.emulators.gemini_web_chat import ChatStore, Conversation, Gem, Turn

RPC_USER_STATUS = "otAQ7b"
RPC_PREFERENCES = "ESY5D"
RPC_LIST_CHATS = "MaZiqc"
RPC_READ_CHAT = "hNvQHb"
RPC_LIST_GEMS = "CNgdBe"
RPC_CREATE_GEM = "oMH3Zd"
RPC_UPDATE_GEM = "kHv0Vd"
RPC_DELETE_GEM = "UXcSJb"
LIST_GEMS_CUSTOM = 2  # payload[0]: 2 custom, 3 predefined, 4 predefined including hidden
GEM_FIELDS = 0  # create: payload[0] = [name, description, prompt, ...]; update: payload[1]
RPC_FULL_SIZE_IMAGE = "c8o8Fe"
RPC_DELETE_CHAT = "GzXR5e"
RPC_TASKS_IN_CHAT = "qWymEb"
RPC_USAGE_INFO = "jSf9Qc"
RPC_MODEL_QUOTA = "qpEbW"
RPC_EXTRA_QUOTA = "aPya6c"
RPC_ABUSE_STATUS = "GPRiHf"
# RPCs gemini_webapi knows that the emulator answers with an empty body
EMPTY_RPCS = frozenset(
    {"EqPOKe", "MUAZcd", "kOWVAe", "ukz1Fe", "HcT8bb", "XPSWpd", "PCck7e", "ku4Jyf", "jGArJ", "ZKcapf"}
)

LIST_CHATS_PINNED_FLAG = (2, 0)  # payload[2][0]: 1 = pinned chats, 0 = the others
CHAT_ENTRY_LENGTH = 6  # [cid, title, pinned, null, null, [seconds, nanos]]
READ_CHAT_CID, READ_CHAT_LIMIT = 0, 1
FULL_SIZE_IMAGE_ID = (wire.C8_IMAGE, wire.C8_IMAGE_ID_SLOT, 0)
USAGE_WINDOW_5H, USAGE_WINDOW_WEEKLY = 1, 2
USAGE_TIER_IDS = {acct.TIER_FREE: 1, acct.TIER_PRO: 2}
FIVE_HOURS_S, ONE_WEEK_S = 5 * 3600, 7 * 86400
DEFAULT_CHAT_LIMIT = 10

ANSWERED, REJECTED, INVALID = "answered", "rejected", "invalid"
INVALID_ARGUMENT_STATUS = 3
RpcResult = tuple[Any, str]  # (body, outcome)


def user_status(account: acct.WebAccount | None) -> list[Any]:
    """otAQ7b: [14] status, [15] models, [16] tier flags, [17] capabilities, [24][1] modes (§13.1)."""
    body: list[Any] = [None] * acct.USER_STATUS_LENGTH
    if account is None:
        body[acct.USER_STATUS_CODE] = acct.STATUS_UNAUTHENTICATED
        body[acct.USER_STATUS_MODELS] = [acct.FREE_MODELS[0].rpc_entry()]
        body[acct.USER_STATUS_TIER_FLAGS] = []
        body[acct.USER_STATUS_CAPABILITIES] = []
        return body
    body[acct.USER_STATUS_CODE] = acct.STATUS_OK
    body[acct.USER_STATUS_MODELS] = [m.rpc_entry() for m in account.models]
    body[acct.USER_STATUS_TIER_FLAGS] = account.tier_flags
    body[acct.USER_STATUS_CAPABILITIES] = []
    body[acct.USER_STATUS_MODES] = [None, account.modes]
    return body


def _chat_entry(conv: Conversation) -> list[Any]:
    entry: list[Any] = [None] * CHAT_ENTRY_LENGTH
    entry[0], entry[1], entry[2], entry[5] = conv.cid, conv.title, conv.pinned, list(conv.updated)
    return entry


def _turn_entry(conv: Conversation, turn: Turn) -> list[Any]:
    """hNvQHb turn: [0] = [cid, rid], [2][0][0] = user text, [3][0] = candidates (§7)."""
    cand = turn.candidate(turn.text, complete=True, thoughts=turn.thoughts, history=True)
    return [[conv.cid, turn.rid], None, [[turn.prompt]], [[cand]], [list(turn.timestamp)]]


def _usage_info(account: acct.WebAccount) -> list[Any]:
    now = int(time.time())
    return [
        USAGE_TIER_IDS[account.tier],
        [
            [100, 0.1, USAGE_WINDOW_5H, [[now + FIVE_HOURS_S]]],
            [1000, 0.05, USAGE_WINDOW_WEEKLY, [[now + ONE_WEEK_S]]],
        ],
        False,
    ]


def _model_quota(payload: Any) -> list[Any]:
    reset = int(time.time()) + FIVE_HOURS_S
    buckets = payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], list) else []
    return [[[bucket, None, 10.0, [reset], 100, 90] for bucket in buckets if isinstance(bucket, list)]]


class RpcHandler:
    """Answers one account's calls; `answer()` returns (body, rejected)."""

    def __init__(self, store: ChatStore, account: acct.WebAccount) -> None:
        self.store = store
        self.account = account
        self.routes: dict[str, Callable[[Any], Any]] = {
            RPC_USER_STATUS: lambda _: user_status(self.account),
            RPC_PREFERENCES: lambda _: [],
            RPC_LIST_CHATS: self.list_chats,
            RPC_READ_CHAT: self.read_chat,
            RPC_LIST_GEMS: self.list_gems,
            RPC_CREATE_GEM: self.create_gem,
            RPC_UPDATE_GEM: self.update_gem,
            RPC_DELETE_GEM: self.delete_gem,
            RPC_FULL_SIZE_IMAGE: self.full_size_image,
            RPC_DELETE_CHAT: self.delete_chat,
            RPC_TASKS_IN_CHAT: lambda _: [],
            RPC_USAGE_INFO: lambda _: _usage_info(self.account),
            RPC_MODEL_QUOTA: _model_quota,
            RPC_EXTRA_QUOTA: lambda _: [False, 0.1, [int(time.time()) + FIVE_HOURS_S]],
            RPC_ABUSE_STATUS: lambda _: [],
        }

    def answer(self, rpcid: str, payload: Any) -> RpcResult:
        route = self.routes.get(rpcid)
        if route is None:
            return ([], ANSWERED) if rpcid in EMPTY_RPCS else (None, INVALID)
        body = route(payload)
        return (body, ANSWERED) if body is not None else (None, INVALID)

    def _own(self, cid: Any) -> Conversation | None:
        conv = self.store.conversations.get(cid) if isinstance(cid, str) else None
        return conv if conv is not None and conv.account == self.account.name else None

    def list_chats(self, payload: Any) -> list[Any]:
        pinned = wire.get_path(payload, *LIST_CHATS_PINNED_FLAG) == 1
        limit = wire.get_path(payload, 0)
        chats = self.store.recent(self.account.name, pinned)[: limit if isinstance(limit, int) else None]
        return [None, None, [_chat_entry(c) for c in chats]]

    def read_chat(self, payload: Any) -> list[Any]:
        conv = self._own(wire.get_path(payload, READ_CHAT_CID))
        if conv is None:
            return []
        limit = wire.get_path(payload, READ_CHAT_LIMIT)
        turns = list(reversed(conv.turns))[: limit if isinstance(limit, int) else DEFAULT_CHAT_LIMIT]
        return [[_turn_entry(conv, t) for t in turns]]

    def full_size_image(self, payload: Any) -> list[Any] | None:
        image_id = wire.get_path(payload, *FULL_SIZE_IMAGE_ID)
        ids = wire.get_path(payload, wire.C8_CONVERSATION)
        record = self.store.images.by_id.get(image_id) if isinstance(image_id, str) else None
        if record is None or record.account != self.account.name:
            return None
        expected = [record.rid, record.rcid, record.cid]
        if [wire.get_path(ids, i) for i in (wire.C8_RID, wire.C8_RCID, wire.C8_CID)] != expected:
            return None
        return [record.download_url]

    def list_gems(self, payload: Any) -> list[Any]:
        custom = wire.get_path(payload, 0) == LIST_GEMS_CUSTOM
        owner = self.account.name if custom else None
        return [None, None, [g.rpc_entry() for g in self.store.gems.values() if g.account == owner]]

    def create_gem(self, payload: Any) -> list[Any] | None:
        fields = wire.get_path(payload, GEM_FIELDS)
        if not isinstance(fields, list) or not all(
            isinstance(wire.get_path(fields, i), str) for i in range(3)
        ):
            return None
        gem = Gem(secrets.token_hex(6), fields[0], fields[1], fields[2], self.account.name)
        self.store.gems[gem.gem_id] = gem
        return [gem.gem_id]

    def update_gem(self, payload: Any) -> list[Any] | None:
        gem = self.store.gems.get(wire.get_path(payload, 0) or "")
        fields = wire.get_path(payload, 1)
        if gem is None or gem.account != self.account.name or not isinstance(fields, list) or len(fields) < 3:
            return None
        gem.name, gem.description, gem.prompt = fields[0], fields[1], fields[2]
        return []

    def delete_gem(self, payload: Any) -> list[Any]:
        gem = self.store.gems.get(wire.get_path(payload, 0) or "")
        if gem is not None and gem.account == self.account.name:
            del self.store.gems[gem.gem_id]
        return []

    def delete_chat(self, payload: Any) -> list[Any]:
        conv = self._own(wire.get_path(payload, 0))
        if conv is not None:
            del self.store.conversations[conv.cid]
        return []


def batch_response(results: list[tuple[str, str, Any, str]], request_number: int) -> str:
    """The framed batchexecute body for [(rpcid, identifier, body, outcome), ...]."""
    frames = []
    for rpcid, identifier, body, outcome in results:
        if outcome == REJECTED:
            envelope = wire.rejected_envelope(rpcid)
        elif outcome == INVALID:
            envelope = [wire.ENVELOPE_DATA, rpcid, None, None, None, [INVALID_ARGUMENT_STATUS]]
        else:
            envelope = wire.data_envelope(body, rpcid, identifier)
        frames.append(wire.frame([envelope]))
    sent = sum(wire.utf16_len(f) for f in frames)
    return wire.XSSI_PREFIX + "".join(frames) + "".join(wire.bookkeeping_frames(sent, request_number))
