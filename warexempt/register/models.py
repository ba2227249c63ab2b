"""The register's tables (SQLAlchemy 2 declarative models); the migrations in ``migrations/versions`` create them.

- ``orgs``, ``org_keys`` (the organisation's Fernet key, in a table of its own so that destroying it is one
  deletion), ``users``, ``tokens`` (only the SHA-256 of a token's secret);
- ``cases``: the facts a case starts from (label, charges, initial stage, offence date, the question's day if fixed),
  the encrypted notes, and the *cache* of its derived status with what it was derived from (the law's fingerprint,
  the event sequence, the day): the status is never a fact of its own;
- ``events``: append-only, one row per event, numbered per case (``seq``, unique with the case: the optimistic
  concurrency check); a correction is a new row whose ``supersedes`` names an earlier event id;
- ``audit``: append-only, hash-chained per organisation (``register.audit``).

UPDATE and DELETE of ``events`` and ``audit`` are refused by triggers in the database (the first migration).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("viewer", "editor", "admin")


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # the head of the organisation's audit chain (its last row's seq and hash): a removed last row is found too,
    # and locking this row serialises the organisation's writers on PostgreSQL
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64))


class OrgKey(Base):
    __tablename__ = "org_keys"
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_users_org_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("org_id", "label", name="uq_cases_org_label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    charges: Mapped[str] = mapped_column(Text)  # the codes as typed, joined by ";" (no code holds one)
    stage: Mapped[str] = mapped_column(String(20))
    offence_date: Mapped[dt.date | None] = mapped_column(Date)
    as_of: Mapped[dt.date | None] = mapped_column(Date)  # the question's day, when the case fixes one; else today
    notes: Mapped[bytes | None] = mapped_column(LargeBinary)  # Fernet ciphertext under the org's key
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(Integer, default=0)  # the last event's seq (0: none)
    # the derived status, cached with what it was derived from
    outcome: Mapped[str | None] = mapped_column(String(40))  # not indexed: no query reads it (migration 0002)
    eligible: Mapped[bool | None] = mapped_column(Boolean)
    record_cleared: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[str | None] = mapped_column(Text)  # the decision row as JSON
    status_digest: Mapped[str | None] = mapped_column(String(64))  # its SHA-256, hex (``store.status_digest``)
    status_law: Mapped[str | None] = mapped_column(String(64))
    status_seq: Mapped[int | None] = mapped_column(Integer)
    status_day: Mapped[dt.date | None] = mapped_column(Date)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
        UniqueConstraint("case_id", "event_id", name="uq_events_case_event"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(100))
    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(40))
    ground: Mapped[str | None] = mapped_column(String(40))
    stage: Mapped[str | None] = mapped_column(String(20))
    charge: Mapped[str | None] = mapped_column(String(40))
    award: Mapped[str | None] = mapped_column(String(200))
    supersedes: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(100))


class AuditRow(Base):
    __tablename__ = "audit"
    __table_args__ = (UniqueConstraint("org_id", "seq", name="uq_audit_org_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, as hashed
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    case_label: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    after: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    request_id: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _table(model: type[Base]) -> Table:
    found = model.__table__
    assert isinstance(found, Table)
    return found


# the tables, typed as Core tables for the statements of the store
ORGS = _table(Org)
KEYS = _table(OrgKey)
USERS = _table(User)
TOKENS = _table(Token)
CASES = _table(CaseRow)
EVENTS = _table(EventRow)
AUDIT = _table(AuditRow)
TABLES = {t.name: t for t in (ORGS, KEYS, USERS, TOKENS, CASES, EVENTS, AUDIT)}
