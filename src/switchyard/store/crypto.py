"""Encryption of upstream secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from `SWITCHYARD_SECRET_KEY` (any string; it is stretched with SHA-256) or from a key
file generated on first start in the data folder with mode 0600. Losing the key file makes stored
account secrets unreadable, which is the point: a copied database alone reveals nothing.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import orjson
from cryptography.fernet import Fernet, InvalidToken

KEY_FILE_NAME = "secret.key"


class SecretBox:
    """Encrypts and decrypts small JSON secrets (refresh tokens, cookies)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_passphrase(cls, passphrase: str) -> SecretBox:
        return cls(base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest()))

    def seal(self, secret: dict[str, str]) -> str:
        return self._fernet.encrypt(orjson.dumps(secret)).decode()

    def open(self, token: str) -> dict[str, str]:
        try:
            data = orjson.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ValueError(
                "cannot decrypt a stored secret: SWITCHYARD_SECRET_KEY or the key file changed"
            ) from exc
        return {str(k): str(v) for k, v in data.items()}


def load_secret_box(passphrase: str | None, data_dir: Path) -> SecretBox:
    """The configured key, or the key file in `data_dir`, created (0600) when missing."""
    if passphrase:
        return SecretBox.from_passphrase(passphrase)
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    return SecretBox(path.read_bytes().strip())
