"""Personal data at rest: AES-256-GCM encryption and keyed hashes for exact lookup.

The master key is FIELD_ENCRYPTION_KEY (base64 of 32 bytes). Outside production, when it is
not set, it is derived from SECRET_KEY so the demo needs no setup; the deploy check warns.
Purpose-specific subkeys are derived with HKDF, so the lookup hash of a national ID cannot be
used to forge an audit chain and vice versa.
"""

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_FORMAT_VERSION = b"\x01"
_NONCE_BYTES = 12


class DecryptionError(Exception):
    """The ciphertext was altered, or was written with a key this server does not have."""


def master_key() -> bytes:
    return _master_key(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


@lru_cache(maxsize=4)
def _master_key(configured: str | None, secret_key: str) -> bytes:
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError as exc:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be base64") from exc
        if len(key) != 32:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must decode to 32 bytes")
        return key
    return hashlib.sha256(b"civicstack-development-field-key:" + secret_key.encode()).digest()


@lru_cache(maxsize=16)
def _subkey(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)


def subkey(purpose: str) -> bytes:
    return _subkey(master_key(), purpose)


def key_id() -> bytes:
    """4 bytes naming the key a ciphertext was written with, so rotation can tell them apart."""
    return hashlib.sha256(subkey("key-id")).digest()[:4]


def encrypt(plaintext: str, *, purpose: str) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(subkey(f"encrypt:{purpose}")).encrypt(nonce, plaintext.encode(), purpose.encode())
    return _FORMAT_VERSION + key_id() + nonce + sealed


def decrypt(blob: bytes, *, purpose: str) -> str:
    blob = bytes(blob)
    if blob[:1] != _FORMAT_VERSION or blob[1:5] != key_id():
        raise DecryptionError("unknown format or key")
    nonce, sealed = blob[5 : 5 + _NONCE_BYTES], blob[5 + _NONCE_BYTES :]
    try:
        return AESGCM(subkey(f"encrypt:{purpose}")).decrypt(nonce, sealed, purpose.encode()).decode()
    except InvalidTag as exc:
        raise DecryptionError("ciphertext failed authentication") from exc


def lookup_digest(value: str, *, purpose: str) -> str:
    """Keyed hash (HMAC-SHA256, hex) for exact-match lookup of an encrypted value."""
    return hmac.new(subkey(f"lookup:{purpose}"), value.encode(), hashlib.sha256).hexdigest()


def mac(message: bytes, *, purpose: str) -> str:
    return hmac.new(subkey(f"mac:{purpose}"), message, hashlib.sha256).hexdigest()
