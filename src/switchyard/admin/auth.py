"""Admin authentication: the admin key, signed session cookies, CSRF tokens and a failure brake.

The admin key is `SWITCHYARD_ADMIN_KEY`, or one generated on first start: it is printed once on
stdout (never to the log, which may be shipped elsewhere) and only its SHA-256 is kept, in
`data_dir/admin_key.sha256` (0600). Lost it? Delete that file and restart: a new key is printed.
A PostgreSQL deployment still has a data folder for this file; several instances behind a load
balancer should share `SWITCHYARD_ADMIN_KEY` (and `SWITCHYARD_SECRET_KEY`) instead.

Sessions are stateless signed cookies (`id.expiry.signature`), so any instance that shares the
signing key accepts them. The signing key is derived from `SWITCHYARD_SECRET_KEY` when set, else it
is a random file in the data folder. The signature also covers the admin key's hash: changing the
admin key logs every browser out. Logout revokes the session id until it expires: in this process,
and on every instance through Redis when `SWITCHYARD_REDIS_URL` is set (`auth_redis.py`), which
also counts wrong admin keys across instances.

CSRF: every form carries an HMAC of the session id; JSON calls made with the cookie (not the Bearer
key) must send it in `X-CSRF-Token`. The cookie is SameSite=Lax, not Strict, because Google's
redirect back to `/admin/accounts/oauth/callback` is a cross-site navigation that must carry it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from switchyard.admin.auth_redis import FAILURE_ERRORS, RedisAdminState
from switchyard.config import Settings

log = logging.getLogger("switchyard.admin")

KEY_HASH_FILE = "admin_key.sha256"
SESSION_KEY_FILE = "admin_session.key"
ADMIN_KEY_PREFIX = "sy-admin-"
SESSION_COOKIE = "switchyard_admin"
LOGIN_CSRF_COOKIE = "switchyard_login"
SESSION_TTL_S = 12 * 3600
FAILURES_PER_MINUTE = 10
FAILURE_WINDOW_S = 60.0
"""Wrong admin keys accepted per client address per minute before it is told to wait: enough for
typos, far too few to guess a 192-bit key (which is hopeless anyway) or to flood the log."""


def hash_admin_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _write_private(path: Path, content: str) -> bool:
    """Create `path` with mode 0600; False when it exists already (another instance won the race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(content + "\n")
    return True


@dataclass
class AdminAuth:
    """Checks admin keys, issues and verifies session cookies and CSRF tokens."""

    key_hash: str
    session_key: bytes
    revoked: dict[str, float] = field(default_factory=dict)
    failures: dict[str, deque[float]] = field(default_factory=dict)
    shared: RedisAdminState | None = None
    """Logouts and wrong keys shared with the other instances (None: this process only)."""

    # --- the admin key ------------------------------------------------------------------------

    def check_key(self, presented: str) -> bool:
        return hmac.compare_digest(hash_admin_key(presented.strip()), self.key_hash)

    async def throttled(self, client: str) -> float | None:
        """Seconds until `client` may present an admin key again, after too many wrong ones in the
        last minute; None when it may now.

        While throttled no key from `client` is evaluated, the right one included: otherwise the
        brake would still answer every guess, right or wrong (issue 17 #9). Refused attempts do not
        extend the wait, so an operator behind the same address waits at most a minute, and a
        session cookie keeps working meanwhile.
        """
        if self.shared is not None:
            try:
                moments = await self.shared.recent_failures(client, FAILURE_WINDOW_S)
            except FAILURE_ERRORS as error:
                log.warning("admin brake: Redis unreachable (%s); counting this instance's only", error)
            else:
                return _wait(moments[-FAILURES_PER_MINUTE:], time.time())
        recent = self.failures.get(client)
        return _wait(list(recent), time.time()) if recent else None

    async def note_failure(self, client: str) -> None:
        if len(self.failures) > 10_000:  # bounded: a scan from many addresses must not grow memory
            self.failures.clear()
        self.failures.setdefault(client, deque(maxlen=FAILURES_PER_MINUTE)).append(time.time())
        if self.shared is not None:
            try:
                await self.shared.note_failure(client, FAILURES_PER_MINUTE, FAILURE_WINDOW_S)
            except FAILURE_ERRORS as error:
                log.warning("admin brake: could not count a wrong key in Redis (%s)", error)

    # --- signing ------------------------------------------------------------------------------

    def _mac(self, label: str, value: str) -> str:
        message = f"{label}\x00{self.key_hash}\x00{value}".encode()
        return hmac.new(self.session_key, message, hashlib.sha256).hexdigest()

    def sign(self, label: str, value: str, ttl_s: float) -> str:
        """`value.expiry.mac`: tamper-proof and expiring; `label` keeps one use from passing as another."""
        expires = int(time.time() + ttl_s)
        payload = f"{value}.{expires}"
        return f"{payload}.{self._mac(label, payload)}"

    def unsign(self, label: str, signed: str | None) -> str | None:
        if not signed or signed.count(".") < 2:
            return None
        payload, mac = signed.rsplit(".", 1)
        value, expires = payload.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(label, payload)):
            return None
        if not expires.isdigit() or int(expires) < time.time():
            return None
        return value

    # --- sessions and CSRF --------------------------------------------------------------------

    def new_session(self) -> str:
        return self.sign("session", secrets.token_urlsafe(18), SESSION_TTL_S)

    def local_session_id(self, cookie: str | None) -> str | None:
        """The session as this process knows it (signature, expiry, its own logouts): for choosing
        how to draw an error page, never for granting access (`session_id` is)."""
        session = self.unsign("session", cookie)
        if session is None or session in self.revoked:
            return None
        return session

    async def session_id(self, cookie: str | None) -> str | None:
        """The session id of a valid cookie that no instance has logged out; else None."""
        session = self.local_session_id(cookie)
        if session is None or self.shared is None:
            return session
        try:
            revoked = await self.shared.is_revoked(session)
        except FAILURE_ERRORS as error:
            log.warning("admin sessions: Redis unreachable (%s); only this instance's logouts apply", error)
            return session
        return None if revoked else session

    async def revoke(self, session: str) -> None:
        now = time.time()
        self.revoked = {sid: until for sid, until in self.revoked.items() if until > now}
        self.revoked[session] = now + SESSION_TTL_S
        if self.shared is not None:
            try:
                await self.shared.revoke(session, SESSION_TTL_S)
            except FAILURE_ERRORS as error:
                log.warning("admin sessions: could not share a logout through Redis (%s)", error)

    def csrf_token(self, session: str) -> str:
        return self._mac("csrf", session)

    def check_csrf(self, session: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token(session))


def _wait(moments: list[float], now: float) -> float | None:
    """Seconds until the oldest of the last `FAILURES_PER_MINUTE` wrong keys leaves the window;
    None when fewer than that many fall within it."""
    recent = [moment for moment in moments if moment > now - FAILURE_WINDOW_S]
    if len(recent) < FAILURES_PER_MINUTE:
        return None
    return recent[-FAILURES_PER_MINUTE] + FAILURE_WINDOW_S - now


def _session_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value().encode()
        return hmac.new(secret, b"switchyard admin session v1", hashlib.sha256).digest()
    path = settings.data_dir / SESSION_KEY_FILE
    _write_private(path, secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def load_admin_auth(settings: Settings) -> AdminAuth:
    """Build the admin auth at start-up; generates (and prints once) the admin key when none exists."""
    session_key = _session_key(settings)
    shared = RedisAdminState(settings.redis_url, settings.redis_prefix) if settings.redis_url else None
    if settings.admin_key is not None:
        return AdminAuth(hash_admin_key(settings.admin_key.get_secret_value()), session_key, shared=shared)
    path = settings.data_dir / KEY_HASH_FILE
    if not path.exists():
        key = ADMIN_KEY_PREFIX + secrets.token_urlsafe(24)
        if _write_private(path, hash_admin_key(key)):
            # stdout, not the log: the key must not travel to a log collector.
            print(f"switchyard admin key (shown once, only its hash is stored in {path}): {key}", flush=True)
            log.warning("generated a new admin key and printed it on stdout; its hash is in %s", path)
    key_hash = path.read_text().strip()
    if len(key_hash) != 64:
        raise RuntimeError(f"{path} is not a SHA-256 hex digest; delete it and restart to generate a new key")
    return AdminAuth(key_hash, session_key, shared=shared)
