"""The Antigravity provider: Cloud Code `v1internal`, the backend of the Antigravity IDE.

Roles, one module each: `oauth` (access tokens, login helpers), `discovery` (the Cloud project),
`models` (public catalogue), `profiles` (what the translators need per model), `protocol` (envelope, headers), `errors` (classification of upstream
error bodies), `sse` and `transport` (HTTP/2 pool, host fallback, streaming), `client` (the API the
gateway calls).
"""

from __future__ import annotations

from .client import AccountCheck, AntigravityClient, ModelQuota
from .errors import classify_error
from .models import ModelSpec, public_model_ids, public_models, resolve_model
from .oauth import OAuthClientNotConfigured, build_auth_url, exchange_code, fetch_userinfo
from .profiles import model_profile

__all__ = [
    "AccountCheck",
    "AntigravityClient",
    "ModelQuota",
    "ModelSpec",
    "OAuthClientNotConfigured",
    "build_auth_url",
    "classify_error",
    "exchange_code",
    "fetch_userinfo",
    "model_profile",
    "public_model_ids",
    "public_models",
    "resolve_model",
]
