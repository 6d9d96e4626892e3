"""Protection of personal fields at rest and on display: encryption (MultiFernet, rotatable),
keyed lookup hashes, and masks. ORM-free; keys come from settings at call time."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_KEYS))


def encrypt(value: str | None) -> str:
    if not value:
        return ""
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str | None) -> str:
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # a key was dropped before rotation finished: say so loudly
        raise RuntimeError("a stored value cannot be decrypted with the configured KEHU_FIELD_KEYS") from exc


def rotate(token: str) -> str:
    return fernet().rotate(token.encode()).decode() if token else ""


def lookup_hash(value: str | None) -> str:
    """Keyed hash of a normalised value, stored beside the ciphertext for exact lookup."""
    if not value:
        return ""
    return hmac.new(settings.LOOKUP_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def mask_mobile(value: str | None) -> str:
    """138****5678 (keeps the carrier prefix and the last four digits)."""
    if not value:
        return ""
    digits = value
    if len(digits) <= 7:
        return "*" * len(digits)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    # Other (E.164) numbers can be as short as 8 characters (+683 7012): keep at most 4 at each end
    # and always hide at least 4, so a short number is never shown whole.
    keep = len(digits) - 4
    tail = min(4, keep // 2)
    head = min(4, keep - tail)
    return f"{digits[:head]}****{digits[-tail:]}"


def mask_id_number(value: str | None) -> str:
    """110***********1234: region prefix and last four kept."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_date(value: dt.date | None) -> str:
    return "****-**-**" if value else ""


def mask_text(value: str | None) -> str:
    return "******" if value else ""
