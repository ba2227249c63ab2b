"""The audit log: every write appends a row (actor, time, action, case, before/after, request id), hash-chained
per organisation over RFC 8785 canonical JSON.

A row's hash is the SHA-256 of the canonical JSON of its fields with the previous row's hash (the first row's
previous hash is 64 zeros); the organisation's row in ``orgs`` keeps the head (last seq and hash), so that a removed
last row is found as well. ``verify`` walks each chain and reports the first broken link: a row altered (its hash
is not that of its fields), removed (a gap in the numbers, or the head names a row that is not there) or reordered
(a row that does not follow the one before it). The database refuses UPDATE and DELETE of the rows (triggers);
the chain finds what someone with the power to drop the triggers changed.

Notes never enter the log in clear: an event's or a case's notes are recorded as the SHA-256 of their ciphertext,
so destroying an organisation's key leaves the chain verifiable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from sqlalchemy import Connection, select, update

from warexempt.register.db import insert_rows
from warexempt.register.models import AUDIT, ORGS

GENESIS = "0" * 64


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def jsonable(value: Any) -> Any:
    """``value`` with dates as ISO text and tuples as lists, so that RFC 8785 can encode it."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def canonical(value: Any) -> str:
    """RFC 8785 canonical JSON of ``value``.

    For the values the register logs — text, whole numbers, booleans, null, lists and mappings with ASCII keys —
    RFC 8785 is exactly Python's compact, key-sorted ``json.dumps`` without ASCII escaping (the same escapes, the
    same key order), which is many times faster than the ``rfc8785`` package's pure-Python encoder; anything else
    (a float, a non-ASCII key) goes through ``rfc8785`` itself. ``tests/test_register_store.py`` holds them equal."""
    try:
        data = _plain(value)
    except _NotPlain:
        return rfc8785.dumps(jsonable(value)).decode("utf-8")
    return _ENCODER.encode(data)


# one encoder for every call (``json.dumps`` with options builds a new one each time)
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def plain_json(value: Any) -> str:
    """``canonical(value)`` of a value its caller built of plain JSON only — text, whole numbers below 2**53,
    booleans, null, and lists and mappings (exact ``dict``s with ASCII keys) of them — by Python's encoder alone,
    without ``canonical``'s walk: a writer's own audit fields and entries, made of known types, pay one C call
    each. Anything else goes through ``canonical``."""
    return _ENCODER.encode(value)


class _NotPlain(Exception):
    """A value ``canonical`` leaves to the ``rfc8785`` package (a float, a non-ASCII key, a huge whole number)."""


def _plain(value: Any) -> Any:
    """``jsonable(value)`` in the same walk that checks it is plain (else ``_NotPlain``): one pass, not two.

    Every audit row passes here (its before, its after, then its fields for the hash), so the common leaves — text,
    ``None``, booleans — are taken by their exact type inside the container's loop, without a call each."""
    kind = type(value)
    if kind is dict:
        out = {}
        for k, v in value.items():
            key = k if type(k) is str else str(k)
            if not key.isascii():
                raise _NotPlain
            leaf = type(v)
            out[key] = v if leaf is str or v is None or leaf is bool else _plain(v)
        return out
    if kind is list or kind is tuple:
        return [v if type(v) is str or v is None else _plain(v) for v in value]
    return _plain_other(value)


def _plain_other(value: Any) -> Any:
    """``_plain`` of anything but an exact dict, list or tuple (subclasses too)."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        if abs(value) >= 2**53:  # larger ones RFC 8785 refuses (``rfc8785`` says so)
            raise _NotPlain
        return value
    if isinstance(value, dict):
        return _plain(dict(value))
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise _NotPlain


HASHED = ("org_id", "seq", "at", "actor", "action", "case_label", "before", "after", "request_id", "prev_hash")


def digest(row: dict[str, Any]) -> str:
    """The hash of one audit row: SHA-256 of the RFC 8785 canonical JSON of its fields with ``prev_hash`` (what
    ``verify`` recomputes; ``Chain.seal`` makes the same text from its parts)."""
    return hashlib.sha256(canonical({k: row[k] for k in HASHED}).encode("utf-8")).hexdigest()


def request_id() -> str:
    return uuid.uuid4().hex


Entry = tuple[str, str, str | None, str | None, str | None]  # actor, action, case, before and after as canonical JSON


def encode(actor: str, action: str, case_label: str | None = None, before: Any = None, after: Any = None) -> Entry:
    """An audit entry's fields with its before/after as canonical JSON (what ``Chain.add_encoded`` takes)."""
    return (
        actor,
        action,
        case_label,
        None if before is None else canonical(before),
        None if after is None else canonical(after),
    )


@dataclass(frozen=True)
class Sealable:
    """An audit entry made ready to be chained before the chain's lock is taken: the canonical JSON of its hashed
    fields (``HASHED``, in RFC 8785's key order) but for the three only known under the lock — the time, the
    previous hash and the seq — as the texts around them (``Chain.seal`` puts them in: one format and one SHA-256
    per row while the organisation's writers wait)."""

    entry: Entry
    hashed: tuple[str, str, str]
    encoded: Entry  # the entry's fields each as JSON (what a writer may send the row as)

    @classmethod
    def of(cls, entry: Entry, org_id: int, request: str) -> Sealable:
        if type(org_id) is not int or not 0 <= org_id < 2**53:
            raise ValueError(f"an organisation's id is a whole number, not {org_id!r}")
        # (the keys: action, actor, after, at, before, case_label, org_id, prev_hash, request_id, seq — sorted, as
        # RFC 8785 orders ASCII keys; each value as ``canonical`` encodes it)
        actor, action, case_label, before, after = encoded = tuple(_ENCODER.encode(v) for v in entry)
        first = f'{{"action":{action},"actor":{actor},"after":{after},"at":'
        middle = f',"before":{before},"case_label":{case_label},"org_id":{org_id},"prev_hash":'
        return cls(entry, (first, middle, f',"request_id":{_ENCODER.encode(request)},"seq":'), encoded)  # type: ignore[arg-type]


@dataclass
class Chain:
    """The audit rows one write transaction appends to one organisation's chain, written together by ``flush``.

    ``open`` locks the organisation's row first (PostgreSQL ``FOR UPDATE``; on SQLite the write transaction holds
    the database's lock already), so the organisation's writes are serialised and the chain has no fork."""

    conn: Connection
    org_id: int
    seq: int
    head: str
    request: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def open(cls, conn: Connection, org_id: int, request: str | None = None) -> Chain:
        query = select(ORGS.c.audit_seq, ORGS.c.audit_head).where(ORGS.c.id == org_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        seq, head = conn.execute(query).one()
        return cls(conn, org_id, int(seq), str(head), request or request_id())

    def add(
        self,
        actor: str,
        action: str,
        case_label: str | None = None,
        before: Any = None,
        after: Any = None,
        at: dt.datetime | None = None,
    ) -> None:
        self.add_encoded(encode(actor, action, case_label, before, after), at)

    def add_encoded(self, entry: Entry, at: dt.datetime | None = None) -> None:
        """``add`` of an entry whose before/after are already canonical JSON (``encode``): a writer encodes its
        entries before it takes the chain's lock, so that only the hashes are computed while it holds it."""
        actor, action, case_label, before, after = entry
        when = (at or now()).isoformat()
        seq, prev, digest_ = self.seal([Sealable.of(entry, self.org_id, self.request)], when)[0]
        self.rows.append(
            {
                "org_id": self.org_id,
                "seq": seq,
                "at": when,
                "actor": actor,
                "action": action,
                "case_label": case_label,
                "before": before,
                "after": after,
                "request_id": self.request,
                "prev_hash": prev,
                "hash": digest_,
            }
        )

    def seal(self, items: Sequence[Sealable], at: str) -> list[tuple[int, str, str]]:
        """Chain ``items`` (made for this chain's organisation and request) at the time ``at`` (ISO text): each
        one's (seq, previous hash, hash), the head moved on. Its rows are the caller's to store (``flush`` stores
        only those of ``add``)."""
        at_json = _ENCODER.encode(at)
        out = []
        seq, head = self.seq, self.head
        for item in items:
            seq += 1
            first, middle, last = item.hashed
            text = f'{first}{at_json}{middle}"{head}"{last}{seq}}}'
            digest_ = hashlib.sha256(text.encode("utf-8")).hexdigest()
            out.append((seq, head, digest_))
            head = digest_
        self.seq, self.head = seq, head
        return out

    def flush(self) -> None:
        if not self.rows:
            return
        insert_rows(self.conn, AUDIT, self.rows)
        self.conn.execute(update(ORGS).where(ORGS.c.id == self.org_id).values(audit_seq=self.seq, audit_head=self.head))
        self.rows = []


@dataclass(frozen=True)
class Break:
    """The first broken link of an organisation's chain: where (``seq``) and what (``kind``: altered, removed,
    reordered), in words (``detail``)."""

    org: str
    seq: int
    kind: str
    detail: str


@dataclass(frozen=True)
class Report:
    """What ``verify`` found: the rows checked per organisation, and the first broken link of each broken chain."""

    checked: dict[str, int]
    breaks: list[Break]

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify_org(conn: Connection, org_id: int, name: str) -> tuple[int, Break | None]:
    """Walk one organisation's chain in seq order; the rows checked and the first broken link, if any."""
    org = conn.execute(select(ORGS.c.audit_seq, ORGS.c.audit_head).where(ORGS.c.id == org_id)).one()
    rows = conn.execute(select(AUDIT).where(AUDIT.c.org_id == org_id).order_by(AUDIT.c.seq)).mappings()
    prev, expected, n = GENESIS, 1, 0
    for row in rows:
        n += 1
        r = dict(row)
        if r["seq"] != expected:
            missing = f"{expected}" if r["seq"] == expected + 1 else f"{expected}-{r['seq'] - 1}"
            return n, Break(name, expected, "removed", f"audit row {missing} is missing (removed)")
        if r["prev_hash"] != prev:
            return n, Break(name, r["seq"], "reordered", f"audit row {r['seq']} does not follow row {r['seq'] - 1}")
        if digest(r) != r["hash"]:
            return n, Break(name, r["seq"], "altered", f"audit row {r['seq']} was altered: its hash does not match")
        prev, expected = r["hash"], expected + 1
    if org.audit_seq != expected - 1 or org.audit_head != prev:
        return n, Break(
            name,
            expected,
            "removed",
            f"the chain ends at row {expected - 1}, but its head is row {org.audit_seq}: rows were removed",
        )
    return n, None


def verify(conn: Connection, org: str | None = None) -> Report:
    """Verify every organisation's chain (or ``org``'s)."""
    query = select(ORGS.c.id, ORGS.c.name).order_by(ORGS.c.id)
    if org is not None:
        query = query.where(ORGS.c.name == org)
    checked: dict[str, int] = {}
    breaks: list[Break] = []
    for org_id, name in conn.execute(query).all():
        n, broken = verify_org(conn, org_id, name)
        checked[name] = n
        if broken:
            breaks.append(broken)
    return Report(checked, breaks)


def entries(
    conn: Connection, org_id: int, case_label: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """The audit rows of an organisation (of one case), oldest first, with before/after as JSON values."""
    query = select(AUDIT).where(AUDIT.c.org_id == org_id).order_by(AUDIT.c.seq)
    if case_label is not None:
        query = query.where(AUDIT.c.case_label == case_label)
    if limit is not None:
        query = query.limit(limit)
    out = []
    for row in conn.execute(query).mappings():
        r = dict(row)
        r["before"] = None if r["before"] is None else json.loads(r["before"])
        r["after"] = None if r["after"] is None else json.loads(r["after"])
        out.append(r)
    return out
