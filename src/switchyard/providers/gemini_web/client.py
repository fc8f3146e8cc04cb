"""The Gemini web provider: one initialised `gemini_webapi.GeminiClient` per account, unmodified.

Each account's client is built with the account's proxy and, when configured, the extra CA bundle
(`verify=<path>`, never `verify=False`): production, tests and the demo run this same code path and
differ only in the proxy and the CA. Clients are initialised lazily, kept, and rebuilt only when
the account's cookies change.

Why the library's own background refresh is off (`auto_refresh=False`): it rotates cookies but
keeps the result in its process-local cookie file, so a restart would go back to the stored,
older `__Secure-1PSIDTS`. Our keeper task rotates every `gemini_web_refresh_interval_s` with the
library's `rotate_1psidts` and hands the new value to `AccountHooks.rotated`, which re-seals it in
the store; the library's plaintext cookie file is never written (`keep_cookies_off_disk`). Why every call passes `current_retry=0`: the library would otherwise retry a failed
turn five times with 5–25 s pauses on the same account; the pool retries on another account
instead.

Each turn yields canonical Gemini response events (`providers/__init__.py`): thoughts as
`thought` parts, text as it grows (the library computes deltas from the full-text frames), tool
calls parsed from the prompt protocol (`tools.py`), generated images downloaded through the
account's session, and a last event with `finishReason`, estimated usage and `webConversation`
(the chat metadata that continues this conversation on this account).

Models are resolved against each account's own picker (otAQ7b, protocols/gemini-web.md §13.1) by
the categories of `picker.json`, never by a hard-coded name or hex: an account whose picker lacks
the model is not used for it. The model that really answered is read from the answer's `[42]`
(the library does not expose it, so its frame parser is wrapped to observe it) and compared with
the one asked, to say a silent downgrade (§13.2). The first event carries it as `webServed`.
An HTTP 200 with no content frame (error 1155, §13.2) is retried once on the same account.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
from gemini_webapi import GeminiClient
from gemini_webapi import client as library_client
from gemini_webapi.constants import AccountStatus
from gemini_webapi.exceptions import APIError, AuthError, ModelInvalidError, TemporarilyBlockedError
from gemini_webapi.types import AvailableModel
from gemini_webapi.utils import rotate_1psidts
from gemini_webapi.utils.parsing import StreamingFrameParser

from switchyard.config import Settings
from switchyard.errors import AccountForbidden, UpstreamError, UpstreamNotFound
from switchyard.fetch import create_media_client
from switchyard.logs import route_library_logs
from switchyard.providers import UpstreamAccount
from switchyard.providers.gemini_web import media, special
from switchyard.providers.gemini_web.errors import IP_BLOCK_COOLDOWN_S, classify, cookies_expired
from switchyard.providers.gemini_web.files import MediaFiles
from switchyard.providers.gemini_web.models import PickerRoute, WebModel, configure_routes
from switchyard.providers.gemini_web.prompt import WebFile
from switchyard.providers.gemini_web.tools import ToolCallFilter, ToolOffer

log = logging.getLogger("switchyard.gemini_web")
PROVIDER = "gemini_web"
CHARS_PER_TOKEN = 4
IMAGE_PROMPT = "Generate an image (use the image generation tool): "
VIDEO_PROMPT = "Generate a video (use the video generation tool): "
Event = dict[str, Any]


class AccountHooks(Protocol):
    """What the provider reports about accounts; the app wires it to the pool and the store."""

    async def accounts(self) -> list[UpstreamAccount]: ...

    async def rotated(self, account: UpstreamAccount, secret: dict[str, str]) -> None: ...

    async def dead(self, account: UpstreamAccount, reason: str) -> None: ...

    async def blocked(self, account: UpstreamAccount, seconds: float, reason: str) -> None: ...

    async def picker(self, account: UpstreamAccount, entries: list[dict[str, Any]]) -> None: ...


def _no_cookie_file(cookies: Any, verbose: bool = False) -> None:
    """Stands in for the library's `save_cookies` (see `keep_cookies_off_disk`)."""


def keep_cookies_off_disk() -> None:
    """Stop gemini-webapi writing cookies to disk.

    On every `GeminiClient.close()` and after every `rotate_1psidts`, the library's `save_cookies`
    writes the session's Google cookies in plaintext to `.cached_cookies_<__Secure-1PSID>.json`,
    whose very name is the secret (issue 17 #5). The gateway keeps them sealed in its store
    (rotations reach it through `AccountHooks.rotated`), so the library's writer, looked up as a
    module global by both callers, is replaced by a no-op. Without a file, `rotate_1psidts` also
    skips its "rotated less than a minute ago" shortcut, which our keeper's interval makes moot.
    """
    # `gemini_webapi.utils.rotate_1psidts` is the function (re-exported); the module is in sys.modules.
    library_rotation = importlib.import_module("gemini_webapi.utils.rotate_1psidts")
    for module in (library_client, library_rotation):
        setattr(module, "save_cookies", _no_cookie_file)  # noqa: B010  (a module global, on purpose)


RESP_MODEL_NAME, RESP_MODEL_ID = 42, 39
"""Where an answer frame echoes the model that answered (§13.1)."""


@dataclass
class ServedModel:
    """What one turn's answer frames said: any frame at all (an HTTP 200 came), the served model."""

    frames: int = 0
    model_id: str = ""
    display_name: str = ""


_observed: contextvars.ContextVar[ServedModel | None] = contextvars.ContextVar(
    "gemini_web_served_model", default=None
)


def _observe(parts: list[Any]) -> None:
    served = _observed.get()
    if served is None:
        return
    served.frames += len(parts)
    if served.display_name:
        return
    for part in parts:
        text = part[2] if isinstance(part, list) and len(part) > 2 else None
        if not isinstance(text, str) or "rc_" not in text:
            continue
        try:
            inner = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if (
            isinstance(inner, list)
            and len(inner) > RESP_MODEL_NAME
            and isinstance(inner[RESP_MODEL_NAME], str)
        ):
            served.display_name = inner[RESP_MODEL_NAME]
            served.model_id = str(inner[RESP_MODEL_ID] or "")
            return


class _ObservingParser(StreamingFrameParser):
    """The library's frame parser, unchanged, also telling `_observe` what it parsed."""

    def feed(self, content: str) -> list[Any]:
        parts: list[Any] = super().feed(content)  # `flush` is `feed("")`: observed here too
        _observe(parts)
        return parts


def observe_served_models() -> None:
    """Let turns see the frames' `[39]`/`[42]` (the served model), which `ModelOutput` drops."""
    setattr(library_client, "StreamingFrameParser", _ObservingParser)  # noqa: B010  (a module global, on purpose)


def _signed_in(client: GeminiClient) -> UpstreamError | None:
    """Why an initialised client is not a signed-in session, or None. Init succeeds on any page
    token, so expired cookies come back as a guest session (no `SNlM0e`) that would silently get
    Flash-Lite; only the account status of otAQ7b tells (protocols/gemini-web.md §13.2)."""
    status = getattr(client, "account_status", AccountStatus.AVAILABLE)
    if status == AccountStatus.AVAILABLE:
        return None
    if status == AccountStatus.UNAUTHENTICATED:
        return cookies_expired("Gemini answers as a guest: the account status is 1016 (unauthenticated)")
    return AccountForbidden(
        f"Gemini web refuses this account: {status.name} ({status.description})", reason=status.name
    )


def _slug(category: str) -> str:
    return category.strip().lower().replace(" ", "-")


def pick_model(models: list[AvailableModel], route: PickerRoute) -> AvailableModel | None:
    """The account's picker entry for a route: the first category it offers, by the name
    `gemini-webapi` derives from the category (`gemini-<category slug>`), else by an alias."""
    for category in route.picker:
        name = "gemini-" + _slug(category)
        for model in models:
            if model.is_available and model.model_name == name:
                return model
        for model in models:
            if model.is_available and name in model.aliases:
                return model
    return None


def picker_entries(models: list[AvailableModel]) -> list[dict[str, Any]]:
    """The account's picker as shown to operators (`accounts list|check`, the console)."""
    return [
        {
            "name": model.model_name,
            "display_name": model.display_name,
            "id": model.model_id,
            "number": model.model_number,
            "available": model.is_available,
        }
        for model in models
    ]


@dataclass
class WebTurn:
    """One web turn: the prompt, its uploads, the conversation it continues (None: a new one)."""

    prompt: str
    model: WebModel
    files: list[WebFile] = field(default_factory=list)
    metadata: list[Any] | None = None
    offer: ToolOffer | None = None
    full_size_images: bool = False
    trimmed: int = 0
    """How many of the oldest messages were left out to fit the request cap (said in a header)."""


@dataclass
class _Session:
    client: GeminiClient
    psid: str
    psidts: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    models: list[AvailableModel] = field(default_factory=list)
    """The account's picker, read at init (empty until then)."""
    models_at: float = 0.0
    """When `models` was read (monotonic)."""


class GeminiWebProvider:
    """Clients per account, the cookie keeper, and turns as canonical event streams."""

    def __init__(
        self, settings: Settings, hooks: AccountHooks | None = None, files: MediaFiles | None = None
    ) -> None:
        self.settings = settings
        self.hooks = hooks
        self.files = files
        # The library reads a cookie cache in `$GEMINI_COOKIE_PATH` (default: the shared temp
        # folder) and prefers it at init: point it at the private data folder, where nothing is
        # ever written (`keep_cookies_off_disk`), so no planted file can stand in for an account.
        os.environ.setdefault("GEMINI_COOKIE_PATH", str(settings.data_dir / "gemini_web_cookies"))
        keep_cookies_off_disk()
        observe_served_models()
        configure_routes(settings.gemini_web_picker_file)
        route_library_logs()  # also when no `configure_logging` ran (tests, embedding)
        """Where generated media is served from (signed URLs); None serves data URLs only."""
        self.media_client = create_media_client(settings.media_fetch_timeout_s)
        """Downloads the http(s) media URLs of requests (SSRF-safe, `switchyard.fetch`)."""
        self._verify: str | bool = (
            str(settings.gemini_web_ca_bundle) if settings.gemini_web_ca_bundle else True
        )
        self._sessions: dict[int, _Session] = {}
        self._poll_s = settings.gemini_web_poll_interval_s
        self._wait_s = settings.gemini_web_video_timeout_s
        self._keeper: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the cookie keeper (rotation in the background, persisted through the hooks)."""
        if self.hooks is not None and self._keeper is None:
            self._keeper = asyncio.create_task(self._keep_cookies(), name="gemini-web-cookie-keeper")

    async def aclose(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        await self.media_client.aclose()
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.client.close()

    async def _keep_cookies(self) -> None:
        assert self.hooks is not None
        while True:
            await asyncio.sleep(self.settings.gemini_web_refresh_interval_s)
            try:
                for account in await self.hooks.accounts():
                    await self.rotate(account)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the Gemini web cookie keeper failed; retrying at the next interval")

    async def rotate(self, account: UpstreamAccount) -> str | None:
        """Rotate the account's `__Secure-1PSIDTS` now; the new value when it changed."""
        try:
            session = await self._session(account)
        except UpstreamError as error:
            if self.hooks is not None and error.error_class == "account_dead":
                await self.hooks.dead(account, error.message)
            return None
        live = session.client.client
        if live is None:
            return None
        try:
            rotated = await rotate_1psidts(live)
        except AuthError:
            await self._forget(account)
            if self.hooks is not None:
                await self.hooks.dead(
                    account, cookies_expired("RotateCookies refused the session (401)").message
                )
            return None
        except Exception as exc:  # 429 when rotated too often, network trouble: try next time
            log.warning("rotating the cookies of %s failed: %s", account.name, type(exc).__name__)
            return None
        if not rotated or rotated == account.secret.get("psidts"):
            return None
        secret = {**account.secret, "psidts": rotated}
        if self.hooks is not None:
            await self.hooks.rotated(account, secret)
        account.secret = secret
        session.psidts = rotated
        log.info("rotated the Gemini web cookies of %s", account.name)
        return rotated

    async def check(self, account: UpstreamAccount) -> list[dict[str, Any]]:
        """Sign in with the account's cookies (the `/app` page and warm-up RPCs); the account's
        picker. Raises the classified error: `AccountDead` for expired cookies."""
        session = await self._session(account)
        return picker_entries(session.models)

    def picker(self, account_id: int) -> list[dict[str, Any]] | None:
        """The picker an initialised account showed, None when not known yet."""
        session = self._sessions.get(account_id)
        return picker_entries(session.models) if session is not None and session.models else None

    def unfit_accounts(self, model: WebModel) -> set[int]:
        """Accounts whose recently read picker offers none of the model's categories: not chosen for
        it. An older picker is not trusted to refuse (the account may have gained the model)."""
        fresh_since = time.monotonic() - self.settings.gemini_web_picker_recheck_s
        return {
            account_id
            for account_id, session in self._sessions.items()
            if session.models
            and session.models_at > fresh_since
            and pick_model(session.models, model.route) is None
        }

    async def _reread_picker(self, account: UpstreamAccount, session: _Session) -> None:
        """Read the account's picker again (otAQ7b). gemini-webapi has no public call for it, only
        its init; its own reader is reused on a cleared registry (models may also disappear)."""
        client = session.client
        registry = getattr(client, "_model_registry", None)
        fetch = getattr(client, "_fetch_user_status", None)
        if fetch is None or not isinstance(registry, dict) or client.client is None:
            return
        registry.clear()
        try:
            await fetch()
        except Exception as exc:
            log.warning("re-reading a Gemini web picker failed: %s", type(exc).__name__)
        session.models = list(client.list_models() or [])
        session.models_at = time.monotonic()
        await self._report_picker(account, session)

    async def _web_model(
        self, account: UpstreamAccount, session: _Session, model: WebModel
    ) -> AvailableModel:
        picked = pick_model(session.models, model.route)
        if (
            picked is None
            and time.monotonic() - session.models_at >= self.settings.gemini_web_picker_recheck_s
        ):
            await self._reread_picker(account, session)
            picked = pick_model(session.models, model.route)
        if picked is None:
            offered = ", ".join(m.display_name for m in session.models) or "nothing"
            raise UpstreamNotFound(
                f"the Gemini web account '{account.name}' does not offer "
                f"{' or '.join(model.route.picker)} (for {model.public_id}); its picker lists {offered}",
                code="model_not_offered",
            )
        return picked

    # -- clients -------------------------------------------------------------------------------

    async def _session(self, account: UpstreamAccount) -> _Session:
        """The account's initialised client (built or rebuilt when its cookies changed)."""
        psid, psidts = account.secret.get("psid", ""), account.secret.get("psidts", "")
        session = self._sessions.get(account.id)
        if session is None or session.psid != psid or session.psidts != psidts:
            if session is not None:
                with contextlib.suppress(Exception):
                    await session.client.close()
            client = GeminiClient(psid, psidts or None, proxy=account.proxy_url, verify=self._verify)
            session = self._sessions[account.id] = _Session(client, psid, psidts)
        async with session.lock:
            if session.client.client is None:
                try:
                    await session.client.init(
                        timeout=self.settings.gemini_web_request_timeout_s,
                        auto_refresh=False,
                        watchdog_timeout=min(120.0, self.settings.gemini_web_request_timeout_s),
                    )
                except Exception as exc:
                    raise classify(exc, web_model="-") from None
                signed_in = _signed_in(session.client)
                if signed_in is not None:
                    with contextlib.suppress(Exception):
                        await session.client.close()
                    raise signed_in
                session.models = list(session.client.list_models() or [])
                session.models_at = time.monotonic()
                await self._report_picker(account, session)
        return session

    async def _report_picker(self, account: UpstreamAccount, session: _Session) -> None:
        """Hand the picker to the hooks (stored on the account for `accounts list` and the console)."""
        if self.hooks is None:
            return
        try:
            await self.hooks.picker(account, picker_entries(session.models))
        except Exception:
            log.exception("could not record the Gemini web picker of %s", account.name)

    async def _forget(self, account: UpstreamAccount) -> None:
        session = self._sessions.pop(account.id, None)
        if session is not None:
            with contextlib.suppress(Exception):
                await session.client.close()

    async def _failure(self, account: UpstreamAccount, exc: Exception, model: WebModel) -> UpstreamError:
        """Classify a failed turn. A bare `APIError` may hide a session that died mid-flight
        (StreamGenerate answers 401): initialising again tells a dead session from a hiccup."""
        if isinstance(exc, APIError) and not isinstance(exc, AuthError):
            try:
                await self._session(account)
            except UpstreamError as probed:
                if probed.error_class == "account_dead":
                    await self._forget(account)
                    return probed
        error = classify(exc, web_model=model.web_model)
        if error.error_class == "account_dead":
            await self._forget(account)
        if isinstance(exc, TemporarilyBlockedError) and self.hooks is not None:
            await self.hooks.blocked(account, IP_BLOCK_COOLDOWN_S, "IP temporarily blocked (1060)")
        return error

    # -- turns ---------------------------------------------------------------------------------

    async def stream(self, account: UpstreamAccount, turn: WebTurn) -> AsyncIterator[Event]:
        """The turn's canonical events as they arrive (see the module docstring)."""
        session = await self._session(account)
        web = await self._web_model(account, session, turn.model)
        client = session.client
        chat = client.start_chat(model=web, metadata=turn.metadata)
        if "deepsearch" in turn.model.capabilities:
            try:
                reasoning, report = await special.deep_research(
                    client, chat, turn.prompt, poll_s=self._poll_s, timeout_s=self._wait_s
                )
            except UpstreamError:
                raise
            except Exception as exc:
                raise await self._failure(account, exc, turn.model) from None
            yield _event([{"text": reasoning, "thought": True}, {"text": report}])
            yield _final_event([], chat.metadata, turn, report, reasoning)
            return
        if "video" in turn.model.capabilities:
            special.require_video_plan(web.capacity)
        tools = ToolCallFilter(turn.offer) if turn.offer is not None else None
        shown: list[str] = []
        thoughts: list[str] = []
        final: Any = None
        served_said: dict[str, Any] | None = None
        with _files_on_disk(turn.files) as paths:
            for attempt in (1, 2):
                observed = ServedModel()
                token = _observed.set(observed)
                try:
                    async for output in client.generate_content_stream(
                        _prompt_for(turn),
                        files=paths or None,
                        model=web,
                        chat=chat,
                        extended_thinking=turn.model.route.extended_thinking,
                        current_retry=0,
                    ):
                        final = output
                        parts: list[dict[str, Any]] = []
                        if output.thoughts_delta:
                            thoughts.append(output.thoughts_delta)
                            parts.append({"text": output.thoughts_delta, "thought": True})
                        text = tools.feed(output.text_delta) if tools else output.text_delta
                        if text:
                            shown.append(text)
                            parts.append({"text": text})
                        if parts:
                            event = _event(parts)
                            if served_said is None and observed.display_name:
                                served_said = self._served(account, web, observed)
                                event["webServed"] = served_said
                            yield event
                    if final is None:
                        raise APIError("Gemini web answered no candidate")
                    closing = await self._closing_parts(session, final, tools, turn, shown)
                    if served_said is None:
                        served_said = self._served(account, web, observed)
                    break
                except UpstreamError:
                    raise
                except Exception as exc:
                    if attempt == 1 and _empty_answer(exc, observed) and final is None:
                        # 1155: a 200 without a content frame is a transient refusal; retry once
                        log.info("Gemini web answered %s with no content (1155); retrying once", account.name)
                        session = await self._session(account)  # the library closed its client
                        client = session.client
                        chat = client.start_chat(model=web, metadata=turn.metadata)
                        continue
                    if attempt == 1 and isinstance(exc, ModelInvalidError) and final is None:
                        # a stale picker (1052): read the account's picker again, pick again, once
                        log.info(
                            "Gemini web refused %s on %s; re-reading its picker", web.model_name, account.name
                        )
                        await self._forget(account)
                        session = await self._session(account)
                        web = await self._web_model(account, session, turn.model)
                        client = session.client
                        chat = client.start_chat(model=web, metadata=turn.metadata)
                        continue
                    raise await self._failure(account, exc, turn.model) from None
                finally:
                    with contextlib.suppress(ValueError):
                        _observed.reset(token)
        yield _final_event(closing, chat.metadata, turn, "".join(shown), "".join(thoughts), served_said)

    def _served(self, account: UpstreamAccount, web: AvailableModel, observed: ServedModel) -> dict[str, Any]:
        """Which model answered, and whether Google silently served a smaller one (§13.2)."""
        served = observed.display_name or web.display_name
        downgraded = bool(observed.display_name) and observed.display_name != web.display_name
        if downgraded:
            log.warning(
                "Gemini web silently downgraded %s on %s: asked %s, served %s",
                web.model_name,
                account.name,
                web.display_name,
                served,
            )
        return {"asked": web.display_name, "served": served, "downgraded": downgraded}

    async def _closing_parts(
        self,
        session: _Session,
        output: Any,
        tools: ToolCallFilter | None,
        turn: WebTurn,
        shown: list[str],
    ) -> list[dict[str, Any]]:
        """What only the end of a turn can tell: held-back text, tool calls, generated media."""
        parts: list[dict[str, Any]] = []
        if tools is not None:
            tail, calls = tools.finish()
            if tail:
                shown.append(tail)
                parts.append({"text": tail})
            parts.extend({"functionCall": call} for call in calls)
        live = session.client.client
        if "video" in turn.model.capabilities and live is not None:
            cid = str(output.metadata[0]) if output.metadata else ""
            video = await special.wait_for_video(
                session.client, cid, live, poll_s=self._poll_s, timeout_s=self._wait_s
            )
            parts.append({"inlineData": {"mimeType": video.mime, "data": video.data_b64}})
        images = media.generated_images(output)
        if images and live is not None:
            for blob in await media.download_images(images, live, full_size=turn.full_size_images):
                parts.append({"inlineData": {"mimeType": blob.mime, "data": blob.data_b64}})
        return parts


def _prompt_for(turn: WebTurn) -> str:
    """The prompt with the tool the model suffix asks for (the web app picks tools from wording)."""
    if "imagen" in turn.model.capabilities:
        return IMAGE_PROMPT + turn.prompt
    if "video" in turn.model.capabilities:
        return VIDEO_PROMPT + turn.prompt
    return turn.prompt


def _event(parts: list[dict[str, Any]]) -> Event:
    return {"candidates": [{"index": 0, "content": {"role": "model", "parts": parts}}]}


def _empty_answer(exc: Exception, observed: ServedModel) -> bool:
    """A 200 that held frames but no content (1155 or a bare abort): the library raises a plain
    `APIError` for it; a non-200 status raises the same class before any frame is parsed."""
    return type(exc) is APIError and observed.frames > 0 and not observed.display_name


def _final_event(
    parts: list[dict[str, Any]],
    metadata: list[Any],
    turn: WebTurn,
    text: str,
    thoughts: str,
    served: dict[str, Any] | None = None,
) -> Event:
    """The last event: closing parts, `STOP`, estimated usage (the web app reports none)."""
    prompt_tokens = max(1, len(turn.prompt) // CHARS_PER_TOKEN)
    answer_tokens = len(text) // CHARS_PER_TOKEN
    thought_tokens = len(thoughts) // CHARS_PER_TOKEN
    candidate: dict[str, Any] = {"index": 0, "finishReason": "STOP"}
    candidate["content"] = {"role": "model", "parts": parts}
    event: Event = {
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": answer_tokens,
            "thoughtsTokenCount": thought_tokens,
            "totalTokenCount": prompt_tokens + answer_tokens + thought_tokens,
        },
        "webConversation": {"metadata": list(metadata)},
    }
    if served is not None:
        event["webServed"] = served
    return event


@contextlib.contextmanager
def _files_on_disk(files: list[WebFile]) -> Iterator[list[Path]]:
    """The uploads as named files: the library guesses each upload's type from its file name."""
    if not files:
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="switchyard-web-") as folder:
        paths = []
        for file in files:
            path = Path(folder) / file.name
            path.write_bytes(file.data)
            paths.append(path)
        yield paths
