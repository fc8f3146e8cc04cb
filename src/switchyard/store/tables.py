"""The schema. Times are Unix seconds (float): portable across SQLite and PostgreSQL, cheap to compare.

Every text column is `Storable*` (store/text.py): whatever text a client or upstream chose, the
store can hold it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from switchyard.store.text import StorableString, StorableText


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class ClientKey(Base):
    """A client key ("license"): only its SHA-256 is stored; limits are optional."""

    __tablename__ = "client_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(StorableString(200), unique=True)
    key_hash: Mapped[str] = mapped_column(StorableString(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(StorableString(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    models: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    rpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_concurrent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quota_requests: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    quota_requests_period: Mapped[str | None] = mapped_column(StorableString(8), nullable=True)
    quota_tokens: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    quota_tokens_period: Mapped[str | None] = mapped_column(StorableString(8), nullable=True)


class Account(Base):
    """An upstream account. `secret` is a Fernet token of a JSON object (never plaintext)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(StorableString(32), index=True)
    name: Mapped[str] = mapped_column(StorableString(200), unique=True)
    secret: Mapped[str] = mapped_column(StorableText)
    secret_fingerprint: Mapped[str] = mapped_column(StorableString(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(StorableString(32), default="active")
    status_reason: Mapped[str | None] = mapped_column(StorableText, nullable=True)
    status_url: Mapped[str | None] = mapped_column(StorableText, nullable=True)
    project_id: Mapped[str | None] = mapped_column(StorableString(200), nullable=True)
    email: Mapped[str | None] = mapped_column(StorableString(320), nullable=True)
    proxy_url: Mapped[str | None] = mapped_column(StorableText, nullable=True)
    user_agent: Mapped[str | None] = mapped_column(StorableText, nullable=True)
    """Antigravity: this account's client fingerprint, over the gateway's setting (not a secret)."""
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_error: Mapped[str | None] = mapped_column(StorableText, nullable=True)


class AccountModelState(Base):
    """Per (account, model family) state: cooldown, quota, counters. Survives restarts."""

    __tablename__ = "account_model_state"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(StorableString(100), primary_key=True)
    cooldown_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    cooldown_reason: Mapped[str | None] = mapped_column(StorableText, nullable=True)
    quota_remaining: Mapped[float | None] = mapped_column(Float, nullable=True)
    quota_reset_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_error: Mapped[str | None] = mapped_column(StorableText, nullable=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[float] = mapped_column(Float)


class UsageEvent(Base):
    """One client request: who, what, which account, how it ended, tokens and timings."""

    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_key_time", "key_id", "created_at"),
        Index("ix_usage_time", "created_at"),
        Index("ux_usage_event_id", "event_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)
    request_id: Mapped[str] = mapped_column(StorableString(64))
    event_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The gateway's id of this event: a re-delivered event is not written twice (migration 0006)."""
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    key_name: Mapped[str | None] = mapped_column(StorableString(200), nullable=True)
    surface: Mapped[str] = mapped_column(StorableString(32))
    provider: Mapped[str] = mapped_column(StorableString(32))
    model: Mapped[str | None] = mapped_column(StorableString(100), nullable=True)
    account: Mapped[str | None] = mapped_column(StorableString(200), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    error_class: Mapped[str | None] = mapped_column(StorableString(32), nullable=True)
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float)
    ttfb_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


class WebConversation(Base):
    """A Gemini web conversation the gateway can continue: the digest of the messages it covers
    (client key, model and every message up to the last answer) → the account and chat metadata."""

    __tablename__ = "web_conversations"

    key_hash: Mapped[str] = mapped_column(StorableString(64), primary_key=True)
    account: Mapped[str] = mapped_column(StorableString(200))
    model: Mapped[str] = mapped_column(StorableString(100))
    chat_metadata: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class StoredResponse(Base):
    """An OpenAI Responses `response` kept for `previous_response_id` and `GET /v1/responses/{id}`:
    the items it was given (its history included) and the response with its whole output."""

    __tablename__ = "openai_responses"

    id: Mapped[str] = mapped_column(StorableString(64), primary_key=True)
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    provider: Mapped[str] = mapped_column(StorableString(32))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class ThoughtSignature(Base):
    """A thought signature the gateway replays for clients that drop it (issue 13): bounded and
    expiring (`store.thought_signatures`). Keyed by the SHA-256 of the cache key (`call:<id>`,
    `think:<digest>`, `media:<digest>`), so ids of any length fit."""

    __tablename__ = "thought_signatures"

    key_hash: Mapped[str] = mapped_column(StorableString(64), primary_key=True)
    family: Mapped[str] = mapped_column(StorableString(20))
    signature: Mapped[str] = mapped_column(StorableText)
    thinking: Mapped[str | None] = mapped_column(StorableText, nullable=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
