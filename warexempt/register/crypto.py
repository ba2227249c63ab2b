"""Notes encrypted at rest with a per-organisation key (Fernet: AES-128-CBC with HMAC-SHA256, ``cryptography``).

The key lives in ``org_keys``, one row per organisation; ``destroy`` deletes it, after which the organisation's notes
are ciphertext nobody can read (crypto-shredding), while the audit chain, which holds only the SHA-256 of each
ciphertext, still verifies.
"""

from __future__ import annotations

import hashlib

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, delete, insert, select

from warexempt.register.audit import now
from warexempt.register.models import KEYS


def key_of(conn: Connection, org_id: int) -> bytes | None:
    found = conn.execute(select(KEYS.c.key).where(KEYS.c.org_id == org_id)).scalar_one_or_none()
    return None if found is None else bytes(found)


def ensure_key(conn: Connection, org_id: int) -> bytes:
    """The organisation's key, made now if it has none (a new organisation, or one whose key was destroyed)."""
    key = key_of(conn, org_id)
    if key is None:
        key = Fernet.generate_key()
        conn.execute(insert(KEYS).values(org_id=org_id, key=key, created_at=now()))
    return key


def encrypt(conn: Connection, org_id: int, text: str) -> bytes:
    return Fernet(ensure_key(conn, org_id)).encrypt(text.encode("utf-8"))


def decrypt(conn: Connection, org_id: int, blob: bytes | None) -> str | None:
    """The notes in clear; ``None`` when there are none or the key that encrypted them is gone."""
    if blob is None:
        return None
    key = key_of(conn, org_id)
    if key is None:
        return None
    try:
        return Fernet(key).decrypt(bytes(blob)).decode("utf-8")
    except InvalidToken:  # encrypted under a key destroyed since (a new key was made for later notes)
        return None


def fingerprint(blob: bytes | None) -> str | None:
    """What the audit log records of some notes: the SHA-256 of their ciphertext."""
    return None if blob is None else hashlib.sha256(bytes(blob)).hexdigest()


def destroy(conn: Connection, org_id: int) -> bool:
    """Delete the organisation's key; whether there was one."""
    return bool(conn.execute(delete(KEYS).where(KEYS.c.org_id == org_id)).rowcount)
