"""Text the store can always hold, whoever chose it.

PostgreSQL refuses NUL in `text`/`varchar` ("invalid byte sequence for encoding UTF8: 0x00"), no
driver can encode a lone surrogate to UTF-8, and `varchar(n)` refuses longer values. Model names,
key names and error reasons can come from clients or upstreams, so every text column passes
through `storable()`: such characters become U+FFFD (so the row still shows something was there)
and the value is cut to the column's length. Clean text, the usual case, is returned as it is.
"""

from __future__ import annotations

import re
from typing import Any, cast

from sqlalchemy import Dialect, String, Text
from sqlalchemy.types import TypeDecorator

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str | None, max_length: int | None = None) -> str | None:
    """`text` with NUL and lone surrogates replaced, cut to `max_length` characters."""
    if text is None:
        return None
    if _UNSTORABLE.search(text):
        text = _UNSTORABLE.sub(REPLACEMENT, text)
    if max_length is not None and len(text) > max_length:
        text = text[:max_length]
    return text


class StorableString(TypeDecorator[str]):
    """`String(n)` whose bound values are made `storable()` (inserts, updates and comparisons)."""

    impl = String
    cache_ok = True

    @property
    def length(self) -> int | None:
        return cast(String, self.impl_instance).length

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return storable(value, self.length) if isinstance(value, str) else value


class StorableText(TypeDecorator[str]):
    """`Text` whose bound values are made `storable()`."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return storable(value) if isinstance(value, str) else value
