"""Organisations, users and their API tokens.

A user belongs to one organisation, with a role (viewer, editor, admin). A token is a random secret shown once, when
it is made; the register keeps only its SHA-256, its expiry, its revocation and its last use. ``authenticate``
turns a token into the ``Actor`` every store function takes. Every change here is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select, update

from warexempt.register import audit
from warexempt.register.actors import Actor, require, role
from warexempt.register.errors import Conflict, Forbidden, Invalid, NotFound
from warexempt.register.models import ORGS, TOKENS, USERS
from warexempt.register.store import Register, check_label, org_id

PREFIX = "wx_"
DEFAULT_DAYS = 90


@dataclass(frozen=True)
class UserInfo:
    """A user as ``users list`` shows it (never a token's secret or digest)."""

    name: str
    org: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    tokens: int  # tokens that are valid now
    last_used_at: dt.datetime | None


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``secret`` is shown this once and never stored."""

    id: int
    user: str
    org: str
    secret: str
    expires_at: dt.datetime | None


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A time read back (SQLite returns it without its zone: it was written in UTC)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_org(reg: Register, name: str, *, actor_name: str | None = None, request_id: str | None = None) -> int:
    """Create an organisation (``Conflict`` if the name is taken); its id. Its audit chain starts here."""
    from warexempt.register.actors import local_name

    check_label(name)
    with reg.write() as conn:
        if conn.execute(select(ORGS.c.id).where(ORGS.c.name == name)).scalar_one_or_none() is not None:
            raise Conflict("organisation {org} already exists", org=name)
        oid = conn.execute(
            insert(ORGS).values(name=name, created_at=audit.now(), audit_seq=0, audit_head=audit.GENESIS)
        ).inserted_primary_key
        assert oid is not None
        chain = audit.Chain.open(conn, int(oid[0]), request_id)
        chain.add(actor_name or local_name(), "org", None, None, {"name": name})
        chain.flush()
    return int(oid[0])


def orgs(reg: Register) -> list[str]:
    with reg.read() as conn:
        return [str(n) for n in conn.execute(select(ORGS.c.name).order_by(ORGS.c.name)).scalars()]


def add_user(
    reg: Register,
    actor: Actor,
    name: str,
    role_name: str,
    *,
    days: int | None = DEFAULT_DAYS,
    request_id: str | None = None,
) -> NewToken:
    """Add a user to the actor's organisation (an admin's right) with a first token, valid ``days`` days
    (``None``: no expiry)."""
    require(actor, "manage users")
    check_label(name)
    which = role(role_name)
    with reg.write() as conn:
        chain = audit.Chain.open(conn, actor.org_id, request_id)
        try:
            uid = conn.execute(
                insert(USERS).values(org_id=actor.org_id, name=name, role=which, created_at=audit.now())
            ).inserted_primary_key
        except sa_exc.IntegrityError:
            raise Conflict("user {name} already exists in organisation {org}", name=name, org=actor.org) from None
        assert uid is not None
        chain.add(actor.name, "user", None, None, {"user": name, "role": which})
        token = _new_token(conn, chain, actor, int(uid[0]), name, days)
        chain.flush()
    return token


def issue_token(
    reg: Register, actor: Actor, name: str, *, days: int | None = DEFAULT_DAYS, request_id: str | None = None
) -> NewToken:
    """A new token for the user ``name`` of the actor's organisation."""
    require(actor, "manage users")
    with reg.write() as conn:
        chain = audit.Chain.open(conn, actor.org_id, request_id)
        uid, revoked = _user(conn, actor, name)
        if revoked is not None:
            raise Invalid("user {name} was revoked; add a new user instead", name=name)
        token = _new_token(conn, chain, actor, uid, name, days)
        chain.flush()
    return token


def _new_token(conn: object, chain: audit.Chain, actor: Actor, uid: int, name: str, days: int | None) -> NewToken:
    from sqlalchemy import Connection

    assert isinstance(conn, Connection)
    if days is not None and days <= 0:
        raise Invalid("{days} is not a number of days a token is valid; expected a whole number above 0", days=days)
    secret = PREFIX + secrets.token_urlsafe(32)
    made = audit.now()
    expires = made + dt.timedelta(days=days) if days is not None else None
    tid = conn.execute(
        insert(TOKENS).values(user_id=uid, digest=token_digest(secret), created_at=made, expires_at=expires)
    ).inserted_primary_key
    assert tid is not None
    chain.add(actor.name, "token", None, None, {"user": name, "token": int(tid[0]), "expires_at": expires})
    return NewToken(int(tid[0]), name, actor.org, secret, expires)


def _user(conn: object, actor: Actor, name: str) -> tuple[int, dt.datetime | None]:
    from sqlalchemy import Connection

    assert isinstance(conn, Connection)
    row = conn.execute(
        select(USERS.c.id, USERS.c.revoked_at).where(USERS.c.org_id == actor.org_id, USERS.c.name == name)
    ).one_or_none()
    if row is None:
        raise NotFound("no user {name} in organisation {org}", name=repr(name), org=repr(actor.org))
    return int(row.id), row.revoked_at


def revoke_user(reg: Register, actor: Actor, name: str, *, request_id: str | None = None) -> int:
    """Revoke a user and every token of theirs; the number of tokens revoked."""
    require(actor, "manage users")
    when = audit.now()
    with reg.write() as conn:
        chain = audit.Chain.open(conn, actor.org_id, request_id)
        uid, revoked = _user(conn, actor, name)
        if revoked is None:
            conn.execute(update(USERS).where(USERS.c.id == uid).values(revoked_at=when))
        n = conn.execute(
            update(TOKENS).where(TOKENS.c.user_id == uid, TOKENS.c.revoked_at.is_(None)).values(revoked_at=when)
        ).rowcount
        chain.add(actor.name, "revoke", None, {"user": name}, {"user": name, "tokens": n})
        chain.flush()
    return int(n)


def revoke_token(reg: Register, actor: Actor, token_id: int, *, request_id: str | None = None) -> None:
    """Revoke one token of a user of the actor's organisation."""
    require(actor, "manage users")
    with reg.write() as conn:
        chain = audit.Chain.open(conn, actor.org_id, request_id)
        found = conn.execute(
            select(TOKENS.c.id, USERS.c.name)
            .join(USERS, USERS.c.id == TOKENS.c.user_id)
            .where(TOKENS.c.id == token_id, USERS.c.org_id == actor.org_id)
        ).one_or_none()
        if found is None:
            raise NotFound("no token {token} in organisation {org}", token=token_id, org=actor.org)
        conn.execute(update(TOKENS).where(TOKENS.c.id == token_id).values(revoked_at=audit.now()))
        chain.add(actor.name, "revoke_token", None, None, {"user": found.name, "token": token_id})
        chain.flush()


def authenticate(reg: Register, secret: str, *, now: dt.datetime | None = None) -> Actor:
    """The actor a token stands for (``Forbidden`` if it is unknown, expired or revoked, or its user is); its
    last use is recorded."""
    when = now or audit.now()
    with reg.write() as conn:
        row = conn.execute(
            select(
                TOKENS.c.id,
                TOKENS.c.expires_at,
                TOKENS.c.revoked_at,
                USERS.c.id.label("uid"),
                USERS.c.name,
                USERS.c.role,
                USERS.c.revoked_at.label("user_revoked"),
                ORGS.c.id.label("oid"),
                ORGS.c.name.label("org"),
            )
            .join(USERS, USERS.c.id == TOKENS.c.user_id)
            .join(ORGS, ORGS.c.id == USERS.c.org_id)
            .where(TOKENS.c.digest == token_digest(secret.strip()))
        ).one_or_none()
        expires = _utc(row.expires_at) if row is not None else None
        if row is None or row.revoked_at or row.user_revoked or (expires is not None and expires <= when):
            raise Forbidden("the token is not valid: unknown, expired or revoked")
        conn.execute(update(TOKENS).where(TOKENS.c.id == row.id).values(last_used_at=when))
    return Actor(row.name, row.org, int(row.oid), row.role, int(row.uid))


def users(reg: Register, actor: Actor) -> list[UserInfo]:
    """The users of the actor's organisation (an admin's right)."""
    require(actor, "manage users")
    now = audit.now()
    with reg.read() as conn:
        rows = conn.execute(select(USERS).where(USERS.c.org_id == actor.org_id).order_by(USERS.c.name)).all()
        tokens = conn.execute(
            select(TOKENS).join(USERS, USERS.c.id == TOKENS.c.user_id).where(USERS.c.org_id == actor.org_id)
        ).all()
    out = []
    for u in rows:
        mine = [t for t in tokens if t.user_id == u.id]
        valid = [t for t in mine if t.revoked_at is None and (t.expires_at is None or _utc(t.expires_at) > now)]  # type: ignore[operator]
        used = [
            t.last_used_at.replace(tzinfo=dt.UTC) if t.last_used_at.tzinfo is None else t.last_used_at
            for t in mine
            if t.last_used_at is not None
        ]
        out.append(
            UserInfo(u.name, actor.org, u.role, u.created_at, _utc(u.revoked_at), len(valid), max(used, default=None))
        )
    return out


__all__ = [
    "NewToken",
    "UserInfo",
    "add_user",
    "authenticate",
    "create_org",
    "issue_token",
    "org_id",
    "orgs",
    "revoke_token",
    "revoke_user",
    "token_digest",
    "users",
]
