"""Outbound credentials at rest: Fernet with ``settings.CREDENTIALS_KEY``. Plaintext secrets
exist only in memory, on their way into an outbound request."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnavailableError(Exception):
    """The stored secret cannot be decrypted (the key changed); the admin must re-enter it."""


def _fernet() -> Fernet:
    return Fernet(settings.CREDENTIALS_KEY)


def secret_encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def secret_decrypt(ciphertext: str) -> str:
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnavailableError(
            "The stored Secret Token cannot be decrypted with the current CREDENTIALS_KEY."
        ) from None
