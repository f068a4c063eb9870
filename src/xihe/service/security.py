"""Secrets: API tokens (random, shown once, stored as SHA-256) and passwords (argon2)."""

from __future__ import annotations

import hashlib
import secrets
import string
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# quafu-sdk refuses any token but ``qf_`` + letters and digits, offline; every client accepts this shape. Tokens
# issued earlier (``xh_`` + URL-safe) stay valid: only their SHA-256 is looked up.
TOKEN_PREFIX = "qf_"
_TOKEN_ALPHABET = string.ascii_letters + string.digits


def new_token() -> str:
    """A fresh API token: 43 random base62 characters (256 bits), with a recognisable prefix (as GitHub's ``ghp_``)."""
    return TOKEN_PREFIX + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(43))


def hash_token(token: str) -> str:
    """SHA-256 hex digest: tokens are long and random, so a fast hash is safe and a lookup is one index hit."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(12)


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; never raises for a wrong password or a malformed hash."""
    if not password_hash:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
