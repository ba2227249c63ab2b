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
    on every core at once), then stored in one write transaction that first checks, under the organisation's chain
    lock, that no case moved on meanwhile; if one did, the batch is read and judged again (``store.RETRIES``)."""
    news = parse_batch(batch)
    if not news:
        return []
    labels = list(dict.fromkeys(label for label, _ in news))
    places: dict[str, list[int]] = {label: [] for label in labels}
    for i, (label, _) in enumerate(news, 1):
        places[label].append(i)
    for _ in range(RETRIES):
        with reg.read() as conn:
            rows, records = read_cases(conn, actor, labels)
        named = {label: name_events(records[label], [news[i - 1][1] for i in places[label]]) for label in labels}
        judged = apply_groups([(records[label].case(), named[label]) for label in labels], reg.law)
        for label, steps in zip(labels, judged, strict=True):
            if steps and steps[-1].refused:
                where = f"batch[{places[label][len(steps) - 1]}]"
                raise Refused("the event cannot be recorded", problems=[(where, m) for _, m in steps[-1].problems])
        steps_of = dict(zip(labels, judged, strict=True))
        # everything but the hashes is made before the lock: the organisation's writers hold it one at a time
        ready = prepare_batch(actor, [(rows[label], steps_of[label], records[label].day) for label in labels], reg.law)
        with reg.write() as conn:
            chain = audit.Chain.open(conn, actor.org_id, request)  # the organisation's writers queue here
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
