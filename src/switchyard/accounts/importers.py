"""`switchyard accounts import FILE`: read the credential exports people already have, then store them.

Formats, detected from the content (not the file name):

- CLIProxyAPI auth files: one JSON object per file, `{"type": "antigravity", "refresh_token", "project_id",
  "email", ...}`; a directory of them is read file by file (other `type`s are reported, not guessed at).
  A `user_agent` (top level, or in `attributes` / `metadata`, as CPA reads it) becomes the account's own.
- antigravity2api-nodejs `accounts.json`: a JSON list of `{"refresh_token", "projectId"|"project_id",
  "email", "enable"}` (also accepted inside `{"accounts": [...]}`).
- Plain refresh tokens: a JSON list of strings, or a text file with one per line (`#` comments).
- Gemini web: a JSON list of `{"psid", "psidts"}` or `{"__Secure-1PSID", "__Secure-1PSIDTS"}` objects;
  a browser cookie export (cookie-editor's JSON list of `{name, value, domain}`); a Netscape cookies.txt.
- JSON Lines (one object per line), so one broken line costs one entry, not the file.

Parsing is pure (`read_source` returns candidates and the entries it rejected, with why); only
`import_accounts` touches the store. Reasons never quote a secret.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from switchyard.accounts import service
from switchyard.store import accounts as repository
from switchyard.store.db import Store

GOOGLE_DOMAIN = "google.com"
PSID_KEYS = ("__secure-1psid", "psid", "secure_1psid", "1psid")
PSIDTS_KEYS = ("__secure-1psidts", "psidts", "secure_1psidts", "1psidts")
REFRESH_KEYS = ("refresh_token", "refreshtoken")
PROJECT_KEYS = ("project_id", "projectid", "project")
USER_AGENT_KEYS = ("user_agent", "user-agent", "useragent")


@dataclass
class Candidate:
    """One credential found in the source, not yet checked against the store."""

    provider: str
    secret: dict[str, str] = field(repr=False)
    source: str
    email: str | None = None
    project_id: str | None = None
    user_agent: str | None = None

    @property
    def identity(self) -> str:
        return self.secret[service.IDENTITY_FIELD[self.provider]]


@dataclass
class SkippedEntry:
    """An entry that was not imported, and why (never the secret itself)."""

    source: str
    reason: str
    email: str | None = None


@dataclass
class ImportedAccount:
    name: str
    provider: str
    source: str
    secret_fingerprint: str
    email: str | None
    project_id: str | None


@dataclass
class ImportReport:
    imported: list[ImportedAccount] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"imported": [asdict(a) for a in self.imported], "skipped": [asdict(s) for s in self.skipped]}


@dataclass
class Parsed:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)

    def extend(self, other: Parsed) -> None:
        self.candidates += other.candidates
        self.skipped += other.skipped


def _skip(source: str, reason: str, email: str | None = None) -> Parsed:
    return Parsed(skipped=[SkippedEntry(source, reason, email)])


# --- reading ----------------------------------------------------------------------------------


def read_source(path: Path, provider: str | None = None) -> Parsed:
    """Everything importable in `path` (a file or a directory of JSON files).

    `provider` (`antigravity` or `gemini_web`) decides what bare strings are and refuses entries of
    the other provider. Raises FileNotFoundError when `path` does not exist.
    """
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {path}")
    if not path.is_dir():
        return read_file(path, path.name, provider)
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".json")
    if not files:
        return _skip(str(path), "no .json files in this directory")
    parsed = Parsed()
    for file in files:
        parsed.extend(read_file(file, file.name, provider))
    return parsed


def read_file(path: Path, label: str, provider: str | None) -> Parsed:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return _skip(label, f"cannot read the file ({type(exc).__name__})")
    return parse_text(text, label, provider)


def parse_text(text: str, label: str, provider: str | None) -> Parsed:
    """Detect the format of one file's content and parse it."""
    stripped = text.strip()
    if not stripped:
        return _skip(label, "empty file")
    if _is_netscape(stripped):
        return parse_netscape(stripped, label, provider)
    if stripped[0] not in "[{":
        return parse_lines(text, label, provider)
    try:
        data = json.loads(text)  # not `stripped`: error line numbers must match the file
        return parse_json(data, label, provider)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines):
            return parse_json_lines(text, label, provider)
        return _skip(label, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except RecursionError:  # no export nests this deep; the parser and the walk are recursive
        return _skip(label, "the JSON nests arrays or objects too deeply to be an export")


def parse_json_lines(text: str, label: str, provider: str | None) -> Parsed:
    parsed = Parsed()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        source = f"{label} line {number}"
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            parsed.extend(_skip(source, f"invalid JSON at line {number}, column {exc.colno}: {exc.msg}"))
            continue
        parsed.extend(parse_entry(entry, source, provider))
    return parsed


def parse_json(data: Any, label: str, provider: str | None) -> Parsed:
    if isinstance(data, Mapping) and isinstance(data.get("accounts"), list):
        data = data["accounts"]
    if isinstance(data, Mapping):
        return parse_entry(data, label, provider)
    if not isinstance(data, list):
        return _skip(label, "not a JSON object or list")
    if data and all(isinstance(item, Mapping) and "name" in item and "value" in item for item in data):
        return parse_cookie_export(data, label, provider)
    parsed = Parsed()
    for number, item in enumerate(data, start=1):
        source = f"{label} entry {number}"
        if isinstance(item, str):
            parsed.extend(parse_bare(item, source, provider))
        else:
            parsed.extend(parse_entry(item, source, provider))
    return parsed


def parse_lines(text: str, label: str, provider: str | None) -> Parsed:
    """One token (or, for Gemini web, one `__Secure-1PSID` value) per line."""
    parsed = Parsed()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            parsed.extend(parse_bare(line, f"{label} line {number}", provider))
    return parsed


def parse_bare(value: str, source: str, provider: str | None) -> Parsed:
    token = value.strip()
    if not token:
        return _skip(source, "missing token: empty value")
    if any(ch.isspace() for ch in token):
        return _skip(source, "does not look like a token (it contains spaces)")
    if provider == "gemini_web":
        return Parsed(candidates=[Candidate("gemini_web", {"psid": token, "psidts": ""}, source)])
    return Parsed(candidates=[Candidate("antigravity", {"refresh_token": token}, source)])


def _field(entry: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    lowered = {str(key).lower(): value for key, value in entry.items()}
    for key in keys:
        value = lowered.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _disabled(entry: Mapping[str, Any]) -> bool:
    return entry.get("enable") is False or entry.get("enabled") is False or entry.get("disabled") is True


def parse_entry(entry: Any, source: str, provider: str | None) -> Parsed:
    """One account object: a CLIProxyAPI auth file, an antigravity2api entry, or Gemini cookies."""
    if not isinstance(entry, Mapping):
        return _skip(source, "not an account object")
    email = _field(entry, ("email",))
    psid = _field(entry, PSID_KEYS)
    token = _field(entry, REFRESH_KEYS)
    nested = entry.get("token")
    if token is None and isinstance(nested, Mapping):  # older CLIProxyAPI files nest the OAuth token
        token = _field(nested, REFRESH_KEYS)
    kind = entry.get("type")
    if psid is None and isinstance(kind, str) and kind.lower() != "antigravity":
        return _skip(source, f"a CLIProxyAPI {kind!r} auth file, not Antigravity", email)
    found = "gemini_web" if psid else "antigravity" if token else None
    if found is None:
        return _skip(source, "missing token: no refresh_token or __Secure-1PSID field", email)
    if provider is not None and found != provider:
        wanted = service.display_provider(provider)
        return _skip(
            source, f"a {service.display_provider(found)} entry, but --provider {wanted} was given", email
        )
    if _disabled(entry):
        return _skip(source, "disabled in source", email)
    if found == "gemini_web":
        secret = {"psid": psid or "", "psidts": _field(entry, PSIDTS_KEYS) or ""}
        return Parsed(candidates=[Candidate("gemini_web", secret, source, email)])
    candidate = Candidate(
        "antigravity",
        {"refresh_token": token or ""},
        source,
        email,
        _field(entry, PROJECT_KEYS),
        _user_agent(entry),
    )
    return Parsed(candidates=[candidate])


def _user_agent(entry: Mapping[str, Any]) -> str | None:
    """CPA's per-credential `user_agent`: an attribute or a metadata field (§12.3); unusable → none."""
    for holder in (entry, entry.get("attributes"), entry.get("metadata")):
        value = _field(holder, USER_AGENT_KEYS) if isinstance(holder, Mapping) else None
        if value is not None:
            try:
                return repository.validate_user_agent(value)
            except ValueError:
                return None
    return None


# --- browser cookie exports ---------------------------------------------------------------------


def _google_domain(domain: str) -> bool:
    host = domain.lstrip(".").lower()
    return not host or host == GOOGLE_DOMAIN or host.endswith("." + GOOGLE_DOMAIN)


def _cookies_to_candidate(
    cookies: Mapping[str, tuple[str, float | None]], label: str, provider: str | None
) -> Parsed:
    """`cookies`: name → (value, expiry as Unix time or None), already limited to google.com."""
    if provider == "antigravity":
        return _skip(label, "a browser cookie export (Gemini web), but --provider antigravity was given")
    psid = cookies.get("__Secure-1PSID")
    if psid is None or not psid[0]:
        return _skip(label, "no __Secure-1PSID cookie for google.com in the export")
    expires = psid[1]
    if expires and expires < time.time():
        moment = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return _skip(label, f"the __Secure-1PSID cookie expired on {moment}; export it again")
    psidts = cookies.get("__Secure-1PSIDTS", ("", None))[0]
    return Parsed(candidates=[Candidate("gemini_web", {"psid": psid[0], "psidts": psidts}, label)])


def parse_cookie_export(items: list[Any], label: str, provider: str | None) -> Parsed:
    """cookie-editor style JSON: `[{"name", "value", "domain", "expirationDate"?}, ...]`."""
    cookies: dict[str, tuple[str, float | None]] = {}
    for item in items:
        if not _google_domain(str(item.get("domain") or "")):
            continue
        expiry = item.get("expirationDate")
        cookies[str(item["name"])] = (str(item["value"]).strip(), float(expiry) if expiry else None)
    return _cookies_to_candidate(cookies, label, provider)


def _is_netscape(text: str) -> bool:
    first = text.lstrip().splitlines()[0]
    if first.startswith(("# Netscape HTTP Cookie File", "# HTTP Cookie File")):
        return True
    return any(len(line.split("\t")) == 7 for line in text.splitlines() if not line.startswith("# "))


def parse_netscape(text: str, label: str, provider: str | None) -> Parsed:
    """cookies.txt: domain, subdomains flag, path, secure, expiry, name, value (tab-separated)."""
    cookies: dict[str, tuple[str, float | None]] = {}
    for line in text.splitlines():
        if line.startswith("#HttpOnly_"):
            line = line.removeprefix("#HttpOnly_")
        elif line.startswith("#") or not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) != 7 or not _google_domain(fields[0]):
            continue
        expiry = float(fields[4]) if fields[4].strip().isdigit() and int(fields[4]) > 0 else None
        cookies[fields[5]] = (fields[6].strip(), expiry)
    return _cookies_to_candidate(cookies, label, provider)


# --- storing --------------------------------------------------------------------------------


async def import_accounts(
    store: Store, path: Path, *, provider: str | None = None, proxy_url: str | None = None
) -> ImportReport:
    """Import every credential in `path`; duplicates (stored already, or twice in the source) are
    skipped with the account name they duplicate. Raises ValueError for a bad proxy or provider and
    FileNotFoundError for a missing path; everything else is reported per entry."""
    repository.validate_proxy(proxy_url)
    wanted = service.provider_id(provider) if provider else None
    parsed = read_source(path, wanted)
    report = ImportReport(skipped=list(parsed.skipped))
    taken = await service.taken_names(store)
    known = {p: await service.credential_index(store, p) for p in ("antigravity", "gemini_web")}
    seen: dict[str, str] = {}
    for candidate in parsed.candidates:
        duplicate = _duplicate_reason(candidate, known[candidate.provider], seen)
        if duplicate is not None:
            report.skipped.append(SkippedEntry(candidate.source, duplicate, candidate.email))
            continue
        report.imported.append(await _store(store, candidate, taken, proxy_url))
        seen[candidate.identity] = candidate.source
    return report


def _duplicate_reason(candidate: Candidate, stored: Mapping[str, str], seen: Mapping[str, str]) -> str | None:
    what = "refresh token" if candidate.provider == "antigravity" else "__Secure-1PSID cookie"
    if candidate.identity in stored:
        return f"duplicate: this {what} is already stored as account {stored[candidate.identity]!r}"
    if candidate.identity in seen:
        return f"duplicate of {seen[candidate.identity]} in this import"
    return None


async def _store(
    store: Store, candidate: Candidate, taken: set[str], proxy_url: str | None
) -> ImportedAccount:
    name = service.name_for(candidate.provider, candidate.email, taken)
    taken.add(name)
    account = await repository.add_account(
        store,
        provider=candidate.provider,
        name=name,
        secret=candidate.secret,
        project_id=candidate.project_id,
        email=candidate.email,
        proxy_url=proxy_url,
        user_agent=candidate.user_agent,
        meta={"imported_from": candidate.source},
    )
    return ImportedAccount(
        name=account.name,
        provider=service.display_provider(account.provider),
        source=candidate.source,
        secret_fingerprint=account.secret_fingerprint,
        email=account.email,
        project_id=account.project_id,
    )
