"""Grouped appends: events of many cases judged in one engine call and stored with one commit.

A writer that receives events in bulk (an import stream, a sync from another register) pays for a commit, an audit
chain update and an engine call once per batch instead of once per event. The cases are read and judged, and their
rows and audit entries made (``prepare_batch``), outside the write lock — under it only the chain's hashes are
computed — then stored in one write transaction that checks, under the organisation's audit chain lock
(``audit.Chain.open``; on SQLite the write lock of ``BEGIN IMMEDIATE``), that none of them moved on meanwhile.

Each event is judged by ``lifecycle.step.apply_groups``, the many-case form of ``apply_many``: every prefix of every
case's history with its new events in one ``rules`` call.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy import exc as sa_exc

from warexempt.law.catalog import Law
from warexempt.lifecycle.step import StepResult, apply_groups
from warexempt.register import audit, db
from warexempt.register.actors import Actor
from warexempt.register.errors import NotFound, Refused
from warexempt.register.models import CASES, EVENTS
from warexempt.register.store import (
    RETRIES,
    Appended,
    CaseRecord,
    _conflict,
    audit_entries,
    cache_values,
    event_values,
    events_of,
    load_record,
    name_events,
    parse_events,
)
from warexempt.rules.case import Event

if TYPE_CHECKING:
    from warexempt.register.store import Register


def parse_batch(batch: Sequence[tuple[str, Event | Mapping[str, Any]]]) -> list[tuple[str, Event]]:
    """The batch's events checked (in one validation), every problem named by its place ``batch[i].FIELD``."""
    events = parse_events([event for _, event in batch], lambda i: f"batch[{i}]")
    return [(label, event) for (label, _), event in zip(batch, events, strict=True)]


def append_batch(
    reg: Register, actor: Actor, batch: Sequence[tuple[str, Event | Mapping[str, Any]]], request: str | None
) -> list[Appended]:
    """``Register.append_batch``: the appended events in the batch's order.

    Optimistic, as a batch is mostly judging: the cases are read and judged outside the write lock (writers judge
    on every core at once), then stored under the organisation's chain lock only if no case moved on meanwhile
    (SQLite: checked first in the write transaction; PostgreSQL: by the one statement that stores the batch); if
    one did, the batch is read and judged again (``store.RETRIES``)."""
    news = parse_batch(batch)
    if not news:
        return []
    labels = list(dict.fromkeys(label for label, _ in news))
    places: dict[str, list[int]] = {label: [] for label in labels}
    for i, (label, _) in enumerate(news, 1):
        places[label].append(i)
    postgres = reg.engine.dialect.name == "postgresql"
    for _ in range(RETRIES):
        if postgres:
            # one transaction: read and judged in it holding no lock (READ COMMITTED: nothing is kept from other
            # writers meanwhile), then stored under the chain's lock — one connection and commit a batch, not two
            try:
                with reg.write() as conn:
                    rows, records = read_cases(conn, actor, labels)
                    steps_of, ready = _judge(reg, actor, news, places, rows, records)
                    request = request or audit.request_id()
                    made = pg_batch(ready, actor.org_id, request)  # (before the lock: all but the hashes)
                    chain = audit.Chain.open(conn, actor.org_id, request)  # the organisation's writers queue here
                    store_pg(conn, chain, ready, made)
                return appended(labels, rows, places, steps_of)
            except Moved:  # (rolled back) read, judge and try again
                moved = labels
                continue
        with reg.read() as conn:
            rows, records = read_cases(conn, actor, labels)
        steps_of, ready = _judge(reg, actor, news, places, rows, records)
        with reg.write() as conn:
            chain = audit.Chain.open(conn, actor.org_id, request)  # (SQLite: under the database's write lock)
            ids = [rows[label].id for label in labels]
            now_at = {i: seq for i, seq in conn.execute(select(CASES.c.id, CASES.c.seq).where(CASES.c.id.in_(ids)))}
            moved = [label for label in labels if now_at.get(rows[label].id) != rows[label].seq]
            if not moved:
                store_batch(conn, chain, ready)
                chain.flush()
        if not moved:
            return appended(labels, rows, places, steps_of)
    label = moved[0]
    raise _conflict(label, rows[label].seq, rows[label].seq + 1)


def _judge(
    reg: Register,
    actor: Actor,
    news: Sequence[tuple[str, Event]],
    places: Mapping[str, list[int]],
    rows: Mapping[str, Any],
    records: Mapping[str, CaseRecord],
) -> tuple[dict[str, list[StepResult]], Prepared]:
    """The batch's events judged (``Refused`` naming the first that cannot be true as ``batch[i]``) and their rows
    prepared: everything but the hashes is made before the lock, which the organisation's writers hold one at a
    time."""
    labels = list(places)
    named = {label: name_events(records[label], [news[i - 1][1] for i in places[label]]) for label in labels}
    judged = apply_groups([(records[label].case(), named[label]) for label in labels], reg.law)
    for label, steps in zip(labels, judged, strict=True):
        if steps and steps[-1].refused:
            where = f"batch[{places[label][len(steps) - 1]}]"
            raise Refused("the event cannot be recorded", problems=[(where, m) for _, m in steps[-1].problems])
    steps_of = dict(zip(labels, judged, strict=True))
    ready = prepare_batch(actor, [(rows[label], steps_of[label], records[label].day) for label in labels], reg.law)
    return steps_of, ready


def read_cases(conn: Connection, actor: Actor, labels: Sequence[str]) -> tuple[dict[str, Any], dict[str, CaseRecord]]:
    """The rows and the records (with every stored event) of the cases ``labels`` (``NotFound`` for the first
    missing), in two statements."""
    query = select(CASES).where(CASES.c.org_id == actor.org_id, CASES.c.label.in_(labels))
    rows = {r.label: r for r in conn.execute(query)}
    missing = [label for label in labels if label not in rows]
    if missing:
        raise NotFound("no case {label} in organisation {org}", label=repr(missing[0]), org=repr(actor.org))
    stored = events_of(conn, [rows[label].id for label in labels])
    records = {label: load_record(conn, actor.org, rows[label], stored.get(rows[label].id, [])) for label in labels}
    return rows, records


def appended(
    labels: Sequence[str],
    rows: Mapping[str, Any],
    places: Mapping[str, list[int]],
    steps: Mapping[str, list[StepResult]],
) -> list[Appended]:
    """What was stored, in the batch's order: each event's step and seq."""
    out: dict[int, Appended] = {}
    for label in labels:
        for k, (i, step) in enumerate(zip(places[label], steps[label], strict=True), 1):
            out[i] = Appended(step, rows[label].seq + k, str(step.event.id))
    return [out[i] for i in sorted(out)]


@dataclass
class Prepared:
    """A judged batch's rows, made before the write transaction: the events (their ``recorded_at`` is set when
    they are stored), the cases' moves with their cached status, and the audit entries encoded."""

    events: list[dict[str, Any]]
    moves: list[dict[str, Any]]
    entries: list[audit.Entry]
    first: Any  # the first case's row (the one a conflict names)


def prepare_batch(actor: Actor, cases: Sequence[tuple[Any, list[StepResult], dt.date]], law: Law) -> Prepared:
    """The rows ``store_batch`` writes for judged cases ((case row, steps, status day) each)."""
    events: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    entries: list[audit.Entry] = []
    for row, steps, day in cases:
        values = [event_values(row.id, row.seq + i, s.event, s.supersedes, actor, None) for i, s in enumerate(steps, 1)]
        events += values
        seq = row.seq + len(steps)
        moved = {"seq": seq, **cache_values(steps[-1].status, seq, day, law)}
        moves.append({"_id": row.id, "_seen": row.seq, **{f"_{k}": v for k, v in moved.items()}})
        entries += audit_entries(actor, row, values, steps)
    return Prepared(events, moves, entries, cases[0][0])


def store_batch(conn: Connection, chain: audit.Chain, ready: Prepared) -> None:
    """Insert every judged event (one statement), move every case on and cache its last status (one statement),
    audit each event (the chain's rows are written by its ``flush``)."""
    when = audit.now()
    for values in ready.events:
        values["recorded_at"] = when
    columns = [k[1:] for k in ready.moves[0] if k not in ("_id", "_seen")]
    conn.execute(  # (bind names differ from the columns': SQLAlchemy keeps a column's own name for itself)
        update(CASES)
        .where(CASES.c.id == bindparam("_id"), CASES.c.seq == bindparam("_seen"))
        .values({k: bindparam(f"_{k}") for k in columns}),
        ready.moves,
    )
    try:
        db.insert_rows(conn, EVENTS, ready.events)
    except sa_exc.IntegrityError as exc:  # the unique (case, seq): a writer outside the chain's lock got there first
        row = ready.first
        raise _conflict(row.label, row.seq, row.seq + 1) from exc
    for entry in ready.entries:
        chain.add_encoded(entry, when)


# PostgreSQL: the whole batch in ONE statement, sent once the chain's lock is held (the organisation's writers wait
# for it one after another, so every round trip and every parameter packed under it is paid by all of them): the
# cases moved on (only where still at the seq read — a case that moved on meanwhile also makes its events' unique
# (case, seq) refuse them), the events and the audit rows inserted, the chain's head moved; the number of cases
# moved is the check. The rows go as three JSON texts (``json_to_recordset``): the cases' and the events' made
# before the lock, the audit rows' (their hashes need the head) under it — one C call each, where array
# parameters are packed value by value in Python.
PG_BATCH = """
WITH moved AS (
  UPDATE cases c SET seq = m.seq, outcome = m.outcome, eligible = m.eligible, record_cleared = m.record_cleared,
    status = m.status, status_digest = m.status_digest, status_law = m.status_law, status_seq = m.status_seq,
    status_day = m.status_day
  FROM json_to_recordset(%(cases)s::json) AS m(id int, seen int, seq int, outcome text, eligible bool,
    record_cleared bool, status text, status_digest text, status_law text, status_seq int, status_day date)
  WHERE c.id = m.id AND c.seq = m.seen
  RETURNING c.id
), stored AS (
  INSERT INTO events (case_id, seq, event_id, date, kind, ground, stage, charge, award, supersedes, recorded_at,
    recorded_by)
  SELECT e.case_id, e.seq, e.event_id, e.date, e.kind, e.ground, e.stage, e.charge, e.award, e.supersedes,
    %(when)s, e.recorded_by
  FROM json_to_recordset(%(events)s::json) AS e(case_id int, seq int, event_id text, date date, kind text,
    ground text, stage text, charge text, award text, supersedes text, recorded_by text)
), logged AS (
  INSERT INTO audit (org_id, seq, at, actor, action, case_label, before, after, request_id, prev_hash, hash)
  SELECT %(org)s, a.seq, %(at)s, a.actor, a.action, a.case_label, a.before, a.after, %(request)s, a.prev_hash, a.hash
  FROM json_to_recordset(%(audit)s::json) AS a(seq int, actor text, action text, case_label text, before text,
    after text, prev_hash text, hash text)
), head AS (
  UPDATE orgs SET audit_seq = %(head_seq)s, audit_head = %(head_hash)s WHERE id = %(org)s
)
SELECT count(*) FROM moved
"""
CASE_FIELDS = (
    *("seq", "outcome", "eligible", "record_cleared", "status", "status_digest", "status_law", "status_seq"),
    "status_day",
)
EVENT_FIELDS = ("case_id", "seq", "event_id", "kind", "ground", "stage", "charge", "award", "supersedes")
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass
class PgBatch:
    """``PG_BATCH``'s parameters as far as they are known before the chain's lock: the cases and events as JSON,
    each audit entry as the members of its JSON object and made ready to be sealed."""

    cases: str
    events: str
    logged: list[str]
    sealable: list[audit.Sealable]


def pg_batch(ready: Prepared, org_id: int, request: str) -> PgBatch:
    """A prepared batch's rows for ``PG_BATCH`` (its audit rows but their seq and hashes), for ``org_id``'s chain
    and the request ``request``."""
    cases = [
        {
            "id": m["_id"],
            "seen": m["_seen"],
            **{k: m[f"_{k}"] for k in CASE_FIELDS},
            "status_day": str(m["_status_day"]),
        }
        for m in ready.moves
    ]
    events = [
        {**{k: v[k] for k in EVENT_FIELDS}, "date": v["date"].isoformat(), "recorded_by": v["recorded_by"]}
        for v in ready.events
    ]
    sealable = [audit.Sealable.of(e, org_id, request) for e in ready.entries]
    logged = [
        f'"actor":{a},"action":{b},"case_label":{c},"before":{d},"after":{e}'
        for a, b, c, d, e in (s.encoded for s in sealable)
    ]
    return PgBatch(_JSON.encode(cases), _JSON.encode(events), logged, sealable)


class Moved(Exception):
    """A case of the batch moved on between its reading and its storing (the transaction is rolled back)."""


def store_pg(conn: Connection, chain: audit.Chain, ready: Prepared, made: PgBatch) -> None:
    """Store a prepared batch on PostgreSQL under the chain's lock (``chain`` just opened, for ``made``'s request):
    the audit rows sealed, then ``PG_BATCH`` once; ``Moved`` (the caller's transaction to be rolled back) if a
    case moved on."""
    when = audit.now()
    at = when.isoformat()
    logged = ",".join(
        f'{{"seq":{seq},"prev_hash":"{prev}","hash":"{digest}",{row}}}'
        for (seq, prev, digest), row in zip(chain.seal(made.sealable, at), made.logged, strict=True)
    )
    params: dict[str, Any] = {"cases": made.cases, "events": made.events, "audit": f"[{logged}]"}
    params |= {"when": when, "at": at, "org": chain.org_id, "request": chain.request}
    params |= {"head_seq": chain.seq, "head_hash": chain.head}
    raw: Any = conn.connection.driver_connection
    try:
        with raw.cursor() as cur:
            moved = cur.execute(PG_BATCH, params).fetchone()
    except conn.dialect.loaded_dbapi.IntegrityError as exc:  # the unique (case, seq): a case moved on meanwhile
        raise Moved from exc
    if moved is None or moved[0] != len(ready.moves):
        raise Moved
