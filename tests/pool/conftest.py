"""Helpers for driving the gateway on the emulators and reading what the pool stored."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from switchyard.store.db import Store
from switchyard.store.tables import Account, AccountModelState
from tests.stack import Stack

FLASH = "gemini-3-flash"
GENERATE = "enerateContent"  # both :generateContent and :streamGenerateContent


def generate(
    stack: Stack, key: str, model: str = FLASH, text: str | None = None, **extra: Any
) -> httpx.Response:
    """One request; a fresh conversation each time unless `text` is given (stickiness keys on it)."""
    text = text if text is not None else f"hello {uuid.uuid4().hex[:8]}"
    return httpx.post(
        f"{stack.gateway}/antigravity/v1beta/models/{model}:generateContent",
        headers={"x-goog-api-key": key},
        json={"contents": [{"role": "user", "parts": [{"text": text}]}], **extra},
        timeout=30,
    )


def seen(stack: Stack) -> list[str]:
    """The accounts of the generation calls the emulator received, in order."""
    return [entry["account"] for entry in stack.upstream_requests(GENERATE)]


@dataclass
class Stored:
    status: str
    status_reason: str | None
    status_url: str | None
    states: dict[str, AccountModelState]


def stored(stack: Stack) -> dict[str, Stored]:
    """Every account's status and (family → state row), straight from the store."""

    async def read(store: Store) -> dict[str, Stored]:
        async with store.sessions() as session:
            accounts = (await session.scalars(select(Account))).all()
            rows = (await session.scalars(select(AccountModelState))).all()
        by_id = {a.id: Stored(a.status, a.status_reason, a.status_url, {}) for a in accounts}
        for row in rows:
            by_id[row.account_id].states[row.model] = row
        return {a.name: by_id[a.id] for a in accounts}

    result: dict[str, Stored] = stack.run(read)
    return result


def state_of(stack: Stack, name: str, *fields: str, family: str = "gemini") -> AccountModelState:
    """The (account, family) row once `fields` are set: the pool writes it off the request path."""
    deadline = time.monotonic() + 5
    while True:
        row = stored(stack)[name].states.get(family)
        if row is not None and all(getattr(row, f) is not None for f in fields):
            return row
        assert time.monotonic() < deadline, f"{name}/{family}: {fields} never written"
        time.sleep(0.05)
