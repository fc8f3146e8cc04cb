"""Thought signatures the emulator issues and can later recognise (§5.3, §8.4).

A signature is base64 of `family tag | content digest | HMAC(tag | digest)`, padded out with more MAC
bytes so it is as long as real ones (some proxies treat short signatures as invalid). The MAC makes a
fabricated signature detectable; the family tag lets Claude reject a Gemini signature and vice versa,
as the real backends do. The key is fixed, so signatures survive an emulator restart like Google's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from enum import Enum

SIGNATURE_KEY_ENV = "SWITCHYARD_EMULATOR_SECRET"
DEFAULT_SIGNATURE_KEY = "switchyard-emulator-not-a-secret"
DIGEST_BYTES = 16
MAC_BYTES = 32
FILLER_BYTES = 48
GEMINI_SENTINELS = frozenset({"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"})


class SignatureFamily(Enum):
    """Which backend issued a signature; each only accepts its own."""

    CLAUDE = b"CLDSIG"
    GEMINI = b"GEMSIG"


def _key() -> bytes:
    return ("thought-signature:" + os.environ.get(SIGNATURE_KEY_ENV, DEFAULT_SIGNATURE_KEY)).encode()


def _mac(data: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hmac.new(_key(), bytes([counter]) + data, hashlib.sha256).digest()
        counter += 1
    return out[:length]


def issue_signature(family: SignatureFamily, content: str) -> str:
    """A deterministic signature over `content` (the same answer always carries the same signature)."""
    head = family.value + hashlib.sha256(content.encode()).digest()[:DIGEST_BYTES]
    return base64.b64encode(head + _mac(head, MAC_BYTES + FILLER_BYTES)).decode()


def decode_proto_bytes(text: str) -> bytes:
    """A Proto-JSON `bytes` value: standard or URL-safe base64, padded or not (§12.7), all four
    forms accepted as Google's JSON mapping says; `binascii.Error` for anything else."""
    normalized = text.replace("-", "+").replace("_", "/")
    if len(normalized) % 4 == 1:
        raise binascii.Error("truncated base64")
    return base64.b64decode(normalized + "=" * (-len(normalized) % 4), validate=True)


def issued_family(signature: str) -> SignatureFamily | None:
    """The family that issued `signature`, or None for a fabricated, corrupted or sentinel value."""
    try:
        raw = decode_proto_bytes(signature)
    except (binascii.Error, ValueError):
        return None
    head_len = len(SignatureFamily.CLAUDE.value) + DIGEST_BYTES
    head, mac = raw[:head_len], raw[head_len:]
    if len(mac) != MAC_BYTES + FILLER_BYTES or not hmac.compare_digest(mac, _mac(head, len(mac))):
        return None
    for family in SignatureFamily:
        if head.startswith(family.value):
            return family
    return None


def is_gemini_sentinel(signature: str) -> bool:
    """The sentinels are bytes like any signature: recognised in either alphabet (§12.7)."""
    if signature in GEMINI_SENTINELS:
        return True
    try:
        raw = decode_proto_bytes(signature)
    except (binascii.Error, ValueError):
        return False
    return raw in _SENTINEL_BYTES


_SENTINEL_BYTES = frozenset(decode_proto_bytes(sentinel) for sentinel in GEMINI_SENTINELS)
