"""Cheap unique ids for requests, upstream request ids and response ids.

`uuid.uuid4()` reads the kernel's random source and builds a `UUID` object; at thousands of requests
a second, three of them per request were 5 % of the gateway's CPU (docs/benchmarks.md). These ids
are not secrets, only unique: a random per-process prefix (re-drawn in a forked child) and a
counter.
"""

from __future__ import annotations

import itertools
import os

_prefix = os.urandom(8).hex()
_counter = itertools.count(1)


def _reseed() -> None:
    global _prefix, _counter
    _prefix = os.urandom(8).hex()
    _counter = itertools.count(1)


os.register_at_fork(after_in_child=_reseed)


def new_id() -> str:
    """32 lowercase hex digits, unique across processes (64 random bits + a 64-bit counter)."""
    return f"{_prefix}{next(_counter):016x}"


def new_uuid() -> str:
    """A `new_id()` in the 8-4-4-4-12 shape of a UUID, for peers that expect one."""
    raw = new_id()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
