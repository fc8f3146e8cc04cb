"""Generated media the gateway serves itself, behind signed, expiring URLs.

Google's own URLs need the account's cookies, so a client could never open them. The bytes are
written under the data folder and handed out as `/gemini_official/v1/files/<token>`, where the
token is sealed with the store's secret key (Fernet: encrypted and authenticated), names the file
and its expiry, and cannot be forged or extended. Expired files are deleted on later writes, so
the folder stays bounded by what `ttl_s` lets accumulate.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from switchyard.store.crypto import SecretBox

FILES_PATH = "/gemini_official/v1/files/"
SWEEP_INTERVAL_S = 60.0


@dataclass(frozen=True)
class StoredFile:
    path: Path
    mime: str


class FileExpired(LookupError):
    pass


class MediaFiles:
    def __init__(self, folder: Path, box: SecretBox, ttl_s: float) -> None:
        self.folder = folder
        self.box = box
        self.ttl_s = ttl_s
        self._swept_at = 0.0

    def put(self, data: bytes, mime: str) -> str:
        """Store `data`; the signed token that serves it until it expires."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._sweep()
        file_id = secrets.token_hex(16)
        (self.folder / file_id).write_bytes(data)
        expires = time.time() + self.ttl_s
        return self.box.seal({"id": file_id, "mime": mime, "expires": f"{expires:.0f}"})

    def url(self, base_url: str, data: bytes, mime: str) -> str:
        return base_url.rstrip("/") + FILES_PATH + self.put(data, mime)

    def open(self, token: str) -> StoredFile:
        """The file a token names; `FileExpired` when it is forged, expired or gone."""
        try:
            claims = self.box.open(token)
            expires = float(claims["expires"])
            file_id, mime = claims["id"], claims["mime"]
        except (ValueError, KeyError):
            raise FileExpired("This file link is not valid.") from None
        path = self.folder / file_id
        if expires < time.time() or not file_id.isalnum() or not path.is_file():
            raise FileExpired("This file link has expired; generated files are kept for a limited time.")
        return StoredFile(path, mime)

    def _sweep(self) -> None:
        now = time.time()
        if now - self._swept_at < SWEEP_INTERVAL_S:
            return
        self._swept_at = now
        for path in self.folder.iterdir():
            try:
                if path.stat().st_mtime + self.ttl_s < now:
                    path.unlink()
            except OSError:
                continue
