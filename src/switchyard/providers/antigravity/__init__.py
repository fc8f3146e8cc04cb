"""The Antigravity provider: Cloud Code `v1internal`, the backend of the Antigravity IDE.

Roles, one module each: `oauth` (access tokens, login helpers), `discovery` (the Cloud project),
`metadata` and `catalogue` (the live model catalogue, its data file `catalogue.toml`, forwarding),
`request_fit` (a request fitted to its model), `protocol` (envelope, headers), `errors` (classification of upstream
error bodies), `sse` and `transport` (HTTP/2 pool, host fallback, streaming), `client` (the API the
gateway calls).
"""

from __future__ import annotations

from .catalogue import Catalogue, ModelRetiredError, ModelSpec
from .client import AccountCheck, AntigravityClient, ModelQuota
from .errors import classify_error
from .oauth import OAuthClientNotConfigured, build_auth_url, exchange_code, fetch_userinfo

__all__ = [
    "AccountCheck",
    "AntigravityClient",
    "Catalogue",
    "ModelQuota",
    "ModelRetiredError",
    "ModelSpec",
    "OAuthClientNotConfigured",
    "build_auth_url",
    "classify_error",
    "exchange_code",
    "fetch_userinfo",
]
