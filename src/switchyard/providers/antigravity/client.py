"""`AntigravityClient`: the gateway's one way to call Cloud Code `v1internal` as an account.

It composes the role modules — `oauth` (access tokens), `discovery` (the Cloud project), `catalogue`
(public name → upstream model, learned from `fetchAvailableModels`), `request_fit`, `protocol` (envelope and headers), `transport` (pooled
clients, host fallback, SSE) — and raises the classified errors of `switchyard.errors`. It
keeps no per-account state beyond cached access tokens; the pool decides what an error means for
the account, and the caller persists what was learned (a discovered project).

Three recoveries of §12 live here because they need the request: a refusal sent as a 200 answer
(`refusals`) becomes an error before any byte reaches the client — `generate` inspects the whole
reply, `stream` hands `events.iter_events` a `RefusalGuard` for its first events; a system prompt
met by the bare 429 is retried once cloaked (`cloak`, via `transport.open_on_hosts`); and a 403
saying the project is not the account's clears it, rediscovers it once and retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import orjson

from switchyard.config import Settings
from switchyard.errors import (
    AccountForbidden,
    ModelRetired,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamTransient,
    UpstreamUnauthenticated,
)
from switchyard.providers import UpstreamAccount
from switchyard.shared.flight import SharedFlight

from . import discovery
from .catalogue import Catalogue
from .cloak import cloak_envelope, has_system_instruction
from .errors import is_project_error, parse_rfc3339
from .events import iter_events
from .oauth import TokenCache, TokenGrant, refresh_access_token
from .protocol import (
    COUNT_TOKENS_PATH,
    FETCH_MODELS_PATH,
    GENERATE_PATH,
    STREAM_PATH,
    build_envelope,
    count_tokens_body,
    request_headers,
    unwrap_response,
    user_agent_for,
)
from .refusals import RefusalGuard, refusal_error, refusal_in
from .request_fit import fit_request
from .signature_recovery import is_signature_error, without_bad_signatures
from .transport import http_clients, open_on_hosts, read_json, upstreams

log = logging.getLogger(__name__)

T = TypeVar("T")
SHARED_PROJECT_S = 600.0
"""How long other instances take a discovered project from Redis; by then the store has it."""


@dataclass(frozen=True)
class ModelQuota:
    """One model's remaining quota (`fetchAvailableModels` `quotaInfo`)."""

    remaining_fraction: float
    reset_at: float | None


@dataclass
class AccountCheck:
    """What `switchyard accounts check` shows for a healthy account."""

    project_id: str
    project_discovered: bool
    """True when the project was discovered by this check; the caller should persist it."""
    tier_id: str | None
    token_expires_at: float | None
    quotas: dict[str, ModelQuota] = field(default_factory=dict)
    """The lowest remaining fraction per quota group (§12.1: Gemini, and Claude + gpt-oss)."""
    drift: list[str] = field(default_factory=list)
    """Where the account's catalogue and the shipped metadata disagree (`Catalogue.drift`)."""


def group_quotas(catalogue: Catalogue, quotas: Mapping[str, ModelQuota]) -> dict[str, ModelQuota]:
    """Per quota group, the model with the least left; internal ids (a fraction, no reset) are skipped."""
    served = set(catalogue.current_ids())
    result: dict[str, ModelQuota] = {}
    for model, quota in quotas.items():
        if model not in served:
            continue
        group = catalogue.meta(model).quota_group
        known = result.get(group)
        if known is None or quota.remaining_fraction < known.remaining_fraction:
            result[group] = quota
    return result


def parse_quotas(models_reply: Mapping[str, Any]) -> dict[str, ModelQuota]:
    """`quotaInfo` per upstream model; a missing `remainingFraction` is 0 (proto3 omits zeros)."""
    quotas: dict[str, ModelQuota] = {}
    models = models_reply.get("models")
    if not isinstance(models, Mapping):
        return quotas
    for name, info in models.items():
        quota = info.get("quotaInfo") if isinstance(info, Mapping) else None
        if not isinstance(quota, Mapping):
            continue
        reset = quota.get("resetTime")
        quotas[name] = ModelQuota(
            remaining_fraction=float(quota.get("remainingFraction") or 0.0),
            reset_at=parse_rfc3339(reset) if isinstance(reset, str) else None,
        )
    return quotas


class AntigravityClient:
    """Async client for the Antigravity upstream; one per gateway process, built in the lifespan."""

    def __init__(self, settings: Settings, shared: SharedFlight | None = None) -> None:
        """`shared`: several instances refresh each account's token, and discover its project,
        once between them (Redis, `shared/flight.py`)."""
        self.settings = settings
        self.onboard_policy = discovery.OnboardPolicy()
        self._http = http_clients(settings)
        self._upstreams = upstreams(settings)
        self._shared = shared
        self._tokens = TokenCache(self._refresh, shared)
        self._discovering: dict[int, asyncio.Future[str]] = {}
        self.catalogue = Catalogue.from_files(settings.models_file, settings.model_aliases)

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._upstreams.aclose()
        await self._http.aclose()

    # --- credentials -------------------------------------------------------------------------

    async def _refresh(self, account: UpstreamAccount) -> TokenGrant:
        http = self._http.get(account.proxy_url)
        return await refresh_access_token(http, self.settings, account.secret["refresh_token"])

    async def access_token(self, account: UpstreamAccount) -> str:
        """A valid access token, refreshed 5 min before expiry; concurrent refreshes share one."""
        return await self._tokens.get(account)

    async def discover_project(self, account: UpstreamAccount) -> str:
        """The account's Cloud project (loadCodeAssist, else onboarding). The caller persists it."""
        found = await self._discover(account)
        return found.project_id

    async def _discover(self, account: UpstreamAccount) -> discovery.ProjectDiscovery:
        async def call(token: str) -> discovery.ProjectDiscovery:
            http = self._http.get(account.proxy_url)
            return await discovery.discover_project(
                http, self.settings, token, policy=self.onboard_policy, user_agent=account.user_agent
            )

        return await self._with_token(account, call)

    async def _project(self, account: UpstreamAccount, refused: str | None = None) -> str:
        """The project for a generate call, discovered on first use and kept on `account`.

        Concurrent first calls share one discovery (onboarding is slow and must not run twice), on
        every instance when `shared` is set; `refused` is a project the upstream just refused.
        """
        if account.project_id:
            return account.project_id
        future = self._discovering.get(account.id)
        if future is None:
            log.info("account %s has no Cloud project yet; discovering it", account.name)
            future = asyncio.ensure_future(self._discover_once(account, refused))
            self._discovering[account.id] = future
            future.add_done_callback(lambda _: self._discovering.pop(account.id, None))
        account.project_id = await asyncio.shield(future)
        return account.project_id

    async def _discover_once(self, account: UpstreamAccount, refused: str | None) -> str:
        if self._shared is None:
            return await self.discover_project(account)

        async def discover() -> tuple[dict[str, str], float]:
            return {"project_id": await self.discover_project(account)}, SHARED_PROJECT_S

        found = await self._shared.run(
            f"project:{account.id}",
            discover,
            lambda shared: shared.get("project_id") not in (None, "", refused),
        )
        return found["project_id"]

    async def _with_own_project(self, account: UpstreamAccount, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call()`; on a 403 saying the project is not the account's (SERVICE_DISABLED,
        CONSUMER_INVALID: a persisted foreign project, §12.6), forget the project, rediscover it
        with loadCodeAssist and run `call()` once more. A second such 403 is the pool's to act on."""
        try:
            return await call()
        except AccountForbidden as error:
            if not is_project_error(error):
                raise
            log.info(
                "account %s: project %s refused (%s); rediscovering it once",
                account.name,
                account.project_id,
                error.reason,
            )
            refused, account.project_id = account.project_id, None
        await self._project(account, refused)
        return await call()

    async def _with_token(self, account: UpstreamAccount, call: Callable[[str], Awaitable[T]]) -> T:
        """Run `call(token)`; on a 401 refresh once (single flight) and run it again."""
        token = await self._tokens.get(account)
        try:
            return await call(token)
        except UpstreamUnauthenticated:
            log.info("access token of account %s refused; refreshing once", account.name)
            token = await self._tokens.get(account, stale=token)
        return await call(token)

    async def _open(
        self, account: UpstreamAccount, path: str, body: Mapping[str, Any], *, stream: bool
    ) -> aiohttp.ClientResponse:
        """A 2xx response from the first host that gives one (body unread), with the 401 retry.

        A generate envelope with a system prompt may be resent once with it cloaked (§12.6); that
        body is only built if the bare 429 asks for it."""
        content = orjson.dumps(body)
        upstream = self._upstreams.get(account.proxy_url)
        cloaked: Callable[[], bytes] | None = None
        request = body.get("request")
        if (
            path in (GENERATE_PATH, STREAM_PATH)
            and isinstance(request, Mapping)
            and has_system_instruction(request)
        ):
            words = self.settings.antigravity_sensitive_words

            def cloaked() -> bytes:
                return orjson.dumps(cloak_envelope(body, words))

        async def call(token: str) -> aiohttp.ClientResponse:
            headers = request_headers(self.settings, token, stream=stream, user_agent=account.user_agent)
            return await open_on_hosts(
                upstream, self.settings.antigravity_base_urls, path, content, headers, cloaked=cloaked
            )

        return await self._with_token(account, call)

    async def _post_json(self, account: UpstreamAccount, path: str, body: Mapping[str, Any]) -> Any:
        return await read_json(await self._open(account, path, body, stream=False))

    # --- generation --------------------------------------------------------------------------

    async def _envelope(
        self,
        account: UpstreamAccount,
        model: str,
        request: Mapping[str, Any],
        request_type: str | None,
        session_id: str | None,
        show_thoughts: bool = True,
    ) -> dict[str, Any]:
        spec = self.catalogue.resolve(model)
        return build_envelope(
            project=await self._project(account),
            upstream_model=spec.upstream_id,
            request=fit_request(request, spec, show_thoughts=show_thoughts),
            request_type=request_type or spec.request_type,
            session_id=session_id,
        )

    async def generate(
        self,
        account: UpstreamAccount,
        model: str,
        request: Mapping[str, Any],
        *,
        request_type: str | None = None,
        session_id: str | None = None,
        show_thoughts: bool = True,
    ) -> dict[str, Any]:
        """One non-stream generation; the unwrapped `GenerateContentResponse`.

        `model` is the public id; `request_type` defaults to the model's (`image_gen` for image models).
        """

        async def call(sent: Mapping[str, Any]) -> tuple[str, Any]:
            envelope = await self._envelope(account, model, sent, request_type, session_id, show_thoughts)
            return envelope["model"], await self._post_json(account, GENERATE_PATH, envelope)

        upstream_model, payload = await self._with_signature_recovery(account, model, request, call)
        inner = unwrap_response(payload)
        if inner is None:
            raise UpstreamTransient("Antigravity sent a reply without a response")
        refusal = refusal_in(inner)
        if refusal is not None:
            user_agent = user_agent_for(self.settings, account.user_agent)
            error = refusal_error(refusal, model=upstream_model, user_agent=user_agent)
            self._learn(error)
            raise error
        return inner

    async def _with_signature_recovery(
        self,
        account: UpstreamAccount,
        model: str,
        request: Mapping[str, Any],
        call: Callable[[Mapping[str, Any]], Awaitable[T]],
    ) -> T:
        """`call(request)`; on a thought-signature 400, once more with the history's signatures
        recovered (`signature_recovery`, §12.6). Runs before any byte reaches the client."""
        try:
            return await self._with_own_project(account, lambda: call(request))
        except UpstreamBadRequest as error:
            if not is_signature_error(error):
                raise
            log.info(
                "account %s: %s refused a replayed signature; retrying once without", account.name, model
            )
        recovered = without_bad_signatures(
            request, claude=self.catalogue.resolve(model).meta.family == "claude"
        )
        return await self._with_own_project(account, lambda: call(recovered))

    def _learn(self, error: UpstreamError) -> None:
        """A retirement answer teaches the catalogue where the model went (§12.3): from now on its
        names resolve to the replacement, and the pool sends this request again (`decisions`)."""
        if not isinstance(error, ModelRetired):
            return
        error.replacement = self.catalogue.retire(error.model, error.replacement_name)
        if error.replacement is None:
            named = (
                f"; it names {error.replacement_name!r} as the replacement" if error.replacement_name else ""
            )
            error.message = (
                f"Model {error.model} is no longer available on Antigravity{named}, and no account "
                "serves a replacement. Pick one of the models `GET /v1/models` lists."
            )

    def stream(
        self,
        account: UpstreamAccount,
        model: str,
        request: Mapping[str, Any],
        *,
        request_type: str | None = None,
        session_id: str | None = None,
        show_thoughts: bool = True,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield the unwrapped `GenerateContentResponse` events as the upstream sends them, in
        batches of the events that arrived together (never empty).

        Errors before the first event are the classified upstream error (the pool may retry on
        another account); a break after it is `StreamInterrupted`. Closing the iterator (`aclose`,
        or cancelling the consumer) closes the upstream response. The request goes out on the first
        `anext` (the events are read straight from `iter_events`: no generator in between on the
        per-chunk path). The first events are held back while they could be a refusal sentence
        (`RefusalGuard`), so a refusal is an error here, not an answer the client sees.
        """
        guard = RefusalGuard(
            model=model, user_agent=user_agent_for(self.settings, account.user_agent), on_refusal=self._learn
        )

        async def opened() -> aiohttp.ClientResponse:
            async def call(sent: Mapping[str, Any]) -> aiohttp.ClientResponse:
                envelope = await self._envelope(account, model, sent, request_type, session_id, show_thoughts)
                guard.model = envelope["model"]  # the upstream id, as the refusal's error names it
                return await self._open(account, STREAM_PATH, envelope, stream=True)

            return await self._with_signature_recovery(account, model, request, call)

        return iter_events(opened, guard)

    async def count_tokens(
        self, account: UpstreamAccount, model: str, request: Mapping[str, Any]
    ) -> dict[str, Any]:
        """`{"totalTokens": N}`. `model` is accepted for symmetry; the upstream call names none (§1)."""
        body = count_tokens_body(request)
        payload = await self._post_json(account, COUNT_TOKENS_PATH, body)
        if not isinstance(payload, dict):
            raise UpstreamTransient("Antigravity sent an unexpected countTokens reply")
        return payload

    async def fetch_available_models(self, account: UpstreamAccount) -> dict[str, Any]:
        """The account's model catalogue and quotas, as the upstream sends it (§6.3)."""
        body = {"project": account.project_id} if account.project_id else {}
        try:
            payload = await self._post_json(account, FETCH_MODELS_PATH, body)
        except AccountForbidden:
            if not body:
                raise
            payload = await self._post_json(account, FETCH_MODELS_PATH, {})  # AGM: retry without project
        if not isinstance(payload, dict):
            raise UpstreamTransient("Antigravity sent an unexpected fetchAvailableModels reply")
        self.catalogue.observe(account.id, payload)
        return payload

    async def check(self, account: UpstreamAccount) -> AccountCheck:
        """Refresh the token, find the project, read quotas; raises the classified error on failure."""
        await self._tokens.get(account)
        discovered = not account.project_id
        tier_id: str | None = None
        if discovered:
            found = await self._discover(account)
            account.project_id, tier_id = found.project_id, found.tier_id
        assert account.project_id is not None
        models = await self.fetch_available_models(account)
        grant = self._tokens.cached(account)
        return AccountCheck(
            project_id=account.project_id,
            project_discovered=discovered,
            tier_id=tier_id,
            token_expires_at=grant.expires_at if grant else None,
            quotas=group_quotas(self.catalogue, parse_quotas(models)),
            drift=self.catalogue.drift(models, self.settings.antigravity_user_agent),
        )
