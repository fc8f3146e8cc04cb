"""Proto-JSON `bytes` values: accept both base64 alphabets, emit standard padded base64 (§12.7).

Google's JSON mapping accepts standard or URL-safe base64, padded or not, and google-genai (and the
SDKs built on it) sends URL-safe. Cloud Code's own front end was never seen taking URL-safe input,
so the gateway sends the canonical form: standard alphabet, padded. Signatures are never compared
as raw strings; `same_bytes` compares what they decode to.
"""

from __future__ import annotations

import binascii

_FROM_URLSAFE = str.maketrans("-_", "+/")
SENTINELS = frozenset({"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"})
"""Gemini's stand-ins for a signature; sent exactly as the anchors spell them."""


def standard_b64(value: str) -> str:
    """`value` in the standard alphabet with padding; the same object when it already is.

    Two C-speed scans on the common (already standard) path, so a multi-megabyte image costs no
    copy. The sentinels are left as they are spelled.
    """
    if "-" in value or "_" in value:
        if value in SENTINELS:
            return value
        value = value.translate(_FROM_URLSAFE)
    padding = -len(value) % 4
    if padding and padding < 3:
        value += "=" * padding
    return value


def standard_alphabet(value: str) -> str:
    """`value` with the URL-safe alphabet's `-` and `_` read as `+` and `/`, padding untouched:
    for data URLs, whose base64 must still be padded (RFC 2397 uses RFC 2045's base64)."""
    if "-" in value or "_" in value:
        return value.translate(_FROM_URLSAFE)
    return value


def decode_b64(value: str) -> bytes:
    """The bytes of standard or URL-safe base64, padded or not; `binascii.Error` when neither.

    Like `base64.b64decode`, line breaks and other stray characters are skipped; unlike it, the
    URL-safe alphabet's `-` and `_` are read as data instead of being dropped."""
    return binascii.a2b_base64(standard_b64(value))


def same_bytes(left: str, right: str) -> bool:
    """Whether two base64 strings carry the same bytes (whatever their alphabet and padding)."""
    return left == right or standard_b64(left) == standard_b64(right)
