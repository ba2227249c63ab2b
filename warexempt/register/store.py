"""The register's service API: cases and their append-only events, each write audited, the status derived.

``Register.open(url)`` opens (and migrates) a database; every method takes the acting ``Actor`` (``people``:
``authenticate(token)`` for a user, ``Register.local(org)`` for the local operator) and sees only that actor's
organisation. A case's status is never a fact of its own: it is the rules' answer on its events (``lifecycle``),
cached in the case's row with the law's fingerprint, the event sequence and the day it was judged on, and derived
afresh whenever one of them differs (``recompute`` writes the cache for many cases through the vectorised engine).

Appending an event is one transaction: read the case, judge it with the new event, store it — and the case's row
is moved on only if it is still at the sequence number it was judged at (``expected_seq`` from the caller, else the
one read): a concurrent append to the same case makes it a ``Conflict`` (the caller's ``expected_seq``) or a retry
(none given). ``append_batch`` (``batch``) stores events of many cases with one engine call and one commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy import exc as sa_exc

from warexempt._marks import N_
from warexempt.law.catalog import Law, bundled_law
from warexempt.lifecycle.step import Recorded, StepResult, apply, apply_many, effective
from warexempt.register import audit, crypto, db
from warexempt.register.actors import Actor, local_name, require
from warexempt.register.errors import Conflict, Invalid, NotFound, Refused, StorageError
from warexempt.register.models import CASES, EVENTS, ORGS
from warexempt.rules.case import Case, CaseError, Event
from warexempt.rules.engine import DECISION_SCHEMA

EVENT_FIELDS = ("date", "kind", "ground", "stage", "charge", "award")
STATUS_FIELDS = tuple(c for c in DECISION_SCHEMA if c not in ("case_id", "as_of"))  # the answer and trace
EVENT_IDS_TWICE = N_("event ids used twice: {ids}")
RETRIES = 20  # appends without an expected seq retried on a concurrent append


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: its per-case ``seq``, its id, its facts, the event it supersedes, who and when."""

    seq: int
    event_id: str
    date: dt.date
    kind: str
    ground: str | None
    stage: str | None
    charge: str | None
    award: str | None
    supersedes: str | None
    recorded_at: dt.datetime
    recorded_by: str

    def event(self) -> Event:
        """The stored event as the rules read it (checked when it was recorded, so not checked again)."""
        return Event.model_construct(id=self.event_id, **{k: getattr(self, k) for k in EVENT_FIELDS})

    def facts(self) -> dict[str, Any]:
        """The event in the case format (``id``, ``date``, ``kind`` and the fields it has)."""
        out: dict[str, Any] = {"id": self.event_id}
        out |= {k: getattr(self, k) for k in EVENT_FIELDS if getattr(self, k) is not None}
        return out


@dataclass
class CaseRecord:
    """A case as the register holds it: its facts, every stored event (superseded ones too), its status."""

    label: str
    org: str
    charges: list[str]
    stage: str
    offence_date: dt.date | None
    as_of: dt.date | None
    seq: int
    created_at: dt.datetime
    created_by: str
    events: list[StoredEvent]
    status: dict[str, Any]
    law_fingerprint: str
    has_notes: bool = False
    notes: str | None = None  # only when asked for, and only readable while the key exists

    @property
    def day(self) -> dt.date:
        """The day the status is judged on: the case's own ``as_of``, else today."""
        return self.as_of or dt.date.today()

    def case(self) -> Case:
        """The effective history (superseded events left out) as a ``rules.Case`` judged on ``day``."""
        return make_case(self.label, self.charges, self.stage, self.offence_date, self.day, self.events)

    def facts(self) -> dict[str, Any]:
        """The case in the case format (the acceptance README): ``id`` (the label), ``facts``, ``as_of``."""
        facts: dict[str, Any] = {"charges": list(self.charges), "stage": self.stage}
        if self.offence_date:
            facts["offence_date"] = self.offence_date
        facts["events"] = [e.event().model_dump(exclude_none=True) for e in self.effective_events()]
        out: dict[str, Any] = {"id": self.label, "facts": facts}
        if self.as_of:
            out["as_of"] = self.as_of
        return out

    def effective_events(self) -> list[StoredEvent]:
        replaced = {e.supersedes for e in self.events if e.supersedes}
        return [e for e in self.events if e.event_id not in replaced]


def make_case(
    label: str,
    charges: Sequence[str],
    stage: str,
    offence_date: dt.date | None,
    day: dt.date,
    events: Sequence[StoredEvent],
) -> Case:
    history = effective(Recorded(e.event(), e.supersedes) for e in events)
    return Case.model_construct(
        case_id=label, charges=list(charges), stage=stage, offence_date=offence_date, events=history, as_of=day
    )


@dataclass(frozen=True)
class Appended:
    """An event stored: the lifecycle's judgement of it (``step``) and the seq it was stored at."""

    step: StepResult
    seq: int
    event_id: str


@dataclass
class Recomputed:
    """What ``recompute`` did: cases looked at, recomputed (stale or forced), whose answer changed."""

    cases: int = 0
    recomputed: int = 0
    changed: int = 0
    law_fingerprint: str = ""
    by_org: dict[str, int] = field(default_factory=dict)


def status_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A decision row as stored in the cache (JSON values)."""
    out: dict[str, Any] = audit.jsonable({k: row[k] for k in STATUS_FIELDS})
    return out


def brief(status: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the audit log records of a status."""
    if not status:
        return None
    return {k: status.get(k) for k in ("eligible", "outcome", "record_cleared", "reasons")}


class Register:
    """A register database: the service API over one engine (``open``)."""

    def __init__(self, engine: Engine, law: Law | None = None) -> None:
        self.engine = engine
        self.law = law or bundled_law()

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True, law: Law | None = None) -> Register:
        """Open the database at ``url`` (``db.default_url()`` when none), upgrading its schema to the newest
        shipped unless ``migrate=False``."""
        engine = db.make_engine(url)
        reg = cls(engine, law)
        if migrate:
            with reg._errors():
                if db.current(engine) != db.head():
                    db.migrate(engine)
        return reg

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Database failures as ``StorageError``s in words (read-only, full, unreachable, dropped)."""
        try:
            yield
        except sa_exc.DBAPIError as exc:
            raise storage_error(exc) from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: ``BEGIN IMMEDIATE``), committed at the end, rolled back on any error."""
        with self._errors(), self.engine.connect().execution_options(write=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    # ------------------------------------------------------------------ actors
    def local(self, org: str) -> Actor:
        """The local operator acting as an admin of ``org`` (the CLI on the database's own machine)."""
        with self.read() as conn:
            return Actor(local_name(), org, org_id(conn, org), "admin")

    # ------------------------------------------------------------------ cases
    def add_case(
        self,
        actor: Actor,
        label: str,
        charges: Sequence[str],
        stage: str,
        *,
        offence_date: dt.date | str | None = None,
        as_of: dt.date | str | None = None,
        notes: str | None = None,
        events: Sequence[Event | Mapping[str, Any]] = (),
        request_id: str | None = None,
    ) -> CaseRecord:
        """Register a new case (``Conflict`` if its label is taken); its facts are checked as ``check`` checks
        them, and its events replayed through the rules (``Refused`` for a history that cannot be true)."""
        require(actor, "write cases")
        case = parse_case(label, charges, stage, offence_date, as_of, events)
        with self.write() as conn:
            chain = audit.Chain.open(conn, actor.org_id, request_id)
            store_new_case(conn, chain, actor, case, as_of is not None, notes, self.law)
            chain.flush()
        return self.get(actor, label)

    def append(
        self,
        actor: Actor,
        label: str,
        event: Event | Mapping[str, Any],
        *,
        expected_seq: int | None = None,
        supersedes: str | None = None,
        request_id: str | None = None,
    ) -> Appended:
        """Append one event to a case (a correction when ``supersedes`` names an earlier event id).

        ``Refused`` when the history with it cannot be true; ``Conflict`` when ``expected_seq`` is given and the
        case is no longer at it. The answer (``Appended.step``) says whether the event changed the status."""
        require(actor, "write cases")
        new = parse_event(event)
        for _ in range(RETRIES):
            try:
                # one transaction: read the case, judge it with the event, store it (SQLite: under the write lock
                # from the start; PostgreSQL: the case's row is updated only if it is still at the seq read)
                with self.write() as conn:
                    row = case_row(conn, actor, label)
                    if expected_seq is not None and expected_seq != row.seq:
                        raise _conflict(label, expected_seq, row.seq)
                    record = load_record(conn, actor.org, row)
                    check_supersedes(record, supersedes)
                    event_id = new.id or next_event_id(record)
                    if event_id in {e.event_id for e in record.events}:
                        raise Invalid("case {label} already has an event {event}", label=label, event=event_id)
                    step = apply(record.case(), new.model_copy(update={"id": event_id}), self.law, supersedes)
                    if step.refused:
                        raise Refused("the event cannot be recorded", problems=step.problems)
                    chain = audit.Chain.open(conn, actor.org_id, request_id)
                    store_event(conn, chain, actor, row, step, self.law, record.day)
                    chain.flush()
            except Conflict:
                if expected_seq is not None:
                    raise
                continue
            return Appended(step, row.seq + 1, event_id)
        raise _conflict(label, row.seq, row.seq + 1)

    def append_many(
        self,
        actor: Actor,
        label: str,
        events: Sequence[Event | Mapping[str, Any]],
        *,
        expected_seq: int | None = None,
        request_id: str | None = None,
    ) -> list[Appended]:
        """Append several events to one case in one transaction (one commit, one engine call): all or none.

        Each event is judged against the history with the ones before it (``lifecycle.step.apply_many``);
        ``Refused`` names the first that cannot be true; ``Conflict`` as ``append``."""
        require(actor, "write cases")
        news = [parse_event(e) for e in events]
        for _ in range(RETRIES):
            try:
                with self.write() as conn:
                    row = case_row(conn, actor, label)
                    seen = row.seq
                    if expected_seq is not None and expected_seq != seen:
                        raise _conflict(label, expected_seq, seen)
                    record = load_record(conn, actor.org, row)
                    named = name_events(record, news)
                    steps = apply_many(record.case(), named, self.law)
                    if steps and steps[-1].refused:
                        where = f"events[{len(steps)}]"
                        problems = [(where, m) for _, m in steps[-1].problems]
                        raise Refused("the event cannot be recorded", problems=problems)
                    chain = audit.Chain.open(conn, actor.org_id, request_id)
                    store_events(conn, chain, actor, row, steps, self.law, record.day)
                    chain.flush()
            except Conflict:
                if expected_seq is not None:
                    raise
                continue
            return [Appended(s, seen + i, str(s.event.id)) for i, s in enumerate(steps, 1)]
        raise _conflict(label, seen, seen + 1)

    def append_batch(
        self, actor: Actor, batch: Sequence[tuple[str, Event | Mapping[str, Any]]], *, request_id: str | None = None
    ) -> list[Appended]:
        """Append events to many cases at once (``batch``: (label, event) pairs, in order): every case's new events
        judged in ONE engine call, stored in one transaction (one statement per table, one audit chain update, one
        commit): all or none. ``Refused`` names the first event that cannot be true as ``batch[i]``."""
        require(actor, "write cases")
        from warexempt.register.batch import append_batch

        return append_batch(self, actor, batch, request_id)

    def get(self, actor: Actor, label: str, *, with_notes: bool = False) -> CaseRecord:
        """The case ``label`` of the actor's organisation, with its status (derived afresh if the cache is
        stale); its notes too when ``with_notes`` (an editor's right)."""
        require(actor, "read notes" if with_notes else "read")
        with self.read() as conn:
            row = case_row(conn, actor, label)
            record = load_record(conn, actor.org, row)
            if with_notes:
                record.notes = crypto.decrypt(conn, actor.org_id, row.notes)
        if not fresh(row, self.law):
            record.status = derive([record], self.law)[0]
        record.law_fingerprint = self.law.fingerprint
        return record

    def cases(self, actor: Actor, *, outcome: str | None = None) -> list[CaseRecord]:
        """Every case of the actor's organisation (label order), each with its status; ``outcome`` keeps those
        whose status has that outcome."""
        require(actor, "read")
        with self.read() as conn:
            rows = conn.execute(select(CASES).where(CASES.c.org_id == actor.org_id).order_by(CASES.c.label)).all()
            events = events_of(conn, [r.id for r in rows])
            records = [load_record(conn, actor.org, r, events.get(r.id, [])) for r in rows]
        stale = [i for i, r in enumerate(rows) if not fresh(r, self.law)]
        for i, status in zip(stale, derive([records[i] for i in stale], self.law), strict=True):
            records[i].status = status
        for r in records:
            r.law_fingerprint = self.law.fingerprint
        return [r for r in records if outcome is None or r.status.get("outcome") == outcome]

    def set_notes(self, actor: Actor, label: str, text: str | None, *, request_id: str | None = None) -> None:
        """Replace a case's notes (``None`` removes them), encrypted under the organisation's key."""
        require(actor, "write cases")
        with self.write() as conn:
            chain = audit.Chain.open(conn, actor.org_id, request_id)
            row = case_row(conn, actor, label)
            blob = None if text is None else crypto.encrypt(conn, actor.org_id, text)
            conn.execute(update(CASES).where(CASES.c.id == row.id).values(notes=blob))
            chain.add(
                actor.name,
                "notes",
                label,
                {"notes_sha256": crypto.fingerprint(row.notes)},
                {"notes_sha256": crypto.fingerprint(blob)},
            )
            chain.flush()

    def destroy_key(self, actor: Actor, *, request_id: str | None = None) -> bool:
        """Destroy the organisation's notes key: every note stored so far becomes unreadable for good."""
        require(actor, "destroy the key")
        with self.write() as conn:
            chain = audit.Chain.open(conn, actor.org_id, request_id)
            found = crypto.destroy(conn, actor.org_id)
            chain.add(actor.name, "destroy_key", None, None, {"destroyed": found})
            chain.flush()
        return found

    def recompute(self, actor: Actor | None = None, *, force: bool = False) -> Recomputed:
        """Derive and cache the status of every stale case (``force``: every case) — of the actor's organisation,
        or of all organisations when ``actor`` is ``None`` (the local operator) — through the vectorised engine, in
        parts of ``recompute.PART`` cases (``register.recompute``)."""
        if actor is not None:
            require(actor, "recompute")
        from warexempt.register.recompute import recompute

        return recompute(self, None if actor is None else actor.org_id, force, actor)

    def verify(self, org: str | None = None) -> audit.Report:
        """Verify the audit chains (every organisation's, or ``org``'s)."""
        with self.read() as conn:
            if org is not None:
                org_id(conn, org)
            return audit.verify(conn, org)

    def audit_log(self, actor: Actor, label: str | None = None) -> list[dict[str, Any]]:
        """The organisation's audit rows (of one case), oldest first."""
        require(actor, "read")
        with self.read() as conn:
            return audit.entries(conn, actor.org_id, label)


# ---------------------------------------------------------------------- helpers (inside a transaction)
def storage_error(exc: sa_exc.DBAPIError) -> StorageError:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    low = text.lower()
    if "readonly" in low or "read-only" in low or "read only" in low:
        return StorageError("the database cannot be written: {detail}", detail=text)
    if "full" in low or "no space" in low:
        return StorageError("the database is full: {detail}", detail=text)
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) or exc.connection_invalidated:
        return StorageError("the database cannot be reached: {detail}", detail=text)
    return StorageError("the database failed: {detail}", detail=text)


def _conflict(label: str, expected: int, actual: int) -> Conflict:
    return Conflict(
        "case {label} has moved on: expected event sequence {expected}, it is at {actual}; read it again and retry",
        expected=expected,
        actual=actual,
        label=label,
    )


def org_id(conn: Connection, name: str) -> int:
    found = conn.execute(select(ORGS.c.id).where(ORGS.c.name == name)).scalar_one_or_none()
    if found is None:
        raise NotFound("no organisation {org}", org=repr(name))
    return int(found)


def case_row(conn: Connection, actor: Actor, label: str) -> Any:
    row = conn.execute(select(CASES).where(CASES.c.org_id == actor.org_id, CASES.c.label == label)).one_or_none()
    if row is None:
        raise NotFound("no case {label} in organisation {org}", label=repr(label), org=repr(actor.org))
    return row


def events_of(conn: Connection, case_ids: Sequence[int]) -> dict[int, list[StoredEvent]]:
    """The stored events of some cases, in seq order."""
    out: dict[int, list[StoredEvent]] = {}
    if not case_ids:
        return out
    query = select(EVENTS).order_by(EVENTS.c.case_id, EVENTS.c.seq)
    if len(case_ids) < 500:
        query = query.where(EVENTS.c.case_id.in_(list(case_ids)))
    wanted = set(case_ids)
    for r in conn.execute(query):
        if r.case_id in wanted:
            out.setdefault(r.case_id, []).append(
                StoredEvent(
                    r.seq,
                    r.event_id,
                    r.date,
                    r.kind,
                    r.ground,
                    r.stage,
                    r.charge,
                    r.award,
                    r.supersedes,
                    r.recorded_at,
                    r.recorded_by,
                )
            )
    return out


def load_record(conn: Connection, org: str, row: Any, events: list[StoredEvent] | None = None) -> CaseRecord:
    if events is None:
        events = events_of(conn, [row.id]).get(row.id, [])
    return CaseRecord(
        label=row.label,
        org=org,
        charges=row.charges.split(";"),
        stage=row.stage,
        offence_date=row.offence_date,
        as_of=row.as_of,
        seq=row.seq,
        created_at=row.created_at,
        created_by=row.created_by,
        events=events,
        status=json.loads(row.status) if row.status else {},
        law_fingerprint=row.status_law or "",
        has_notes=row.notes is not None,
    )


def fresh(row: Any, law: Law) -> bool:
    """Whether a case's cached status was derived from its present events, under the present law, on its day."""
    day = row.as_of or dt.date.today()
    return (
        bool(row.status) and row.status_law == law.fingerprint and row.status_seq == row.seq and row.status_day == day
    )


def derive(records: Sequence[CaseRecord], law: Law) -> list[dict[str, Any]]:
    """The status of some cases, in one engine call."""
    from warexempt.lifecycle.step import statuses

    return [status_json(r) for r in statuses([r.case() for r in records], law)]


def parse_event(event: Event | Mapping[str, Any]) -> Event:
    """One event, checked as ``check`` checks it (``Invalid`` naming each problem as ``event.FIELD``)."""
    return parse_events([event], lambda _: "event")[0]


def parse_events(events: Sequence[Event | Mapping[str, Any]], place: Callable[[int], str]) -> list[Event]:
    """Events checked as ``check`` checks them, all in one validation (a batch pays for one, not one per event);
    ``Invalid`` names every problem by ``place(i)`` of its event (the ``i``-th, from 1) and its field."""
    given = [(i, dict(e)) for i, e in enumerate(events, 1) if not isinstance(e, Event)]
    found: dict[int, Event] = {}
    if given:
        try:
            case = Case.parse({"charges": ["158:1"], "stage": "pre_trial", "events": [e for _, e in given]})
        except CaseError as exc:
            problems = [(_place(f, given, place), m) for f, m in exc.problems]
            raise Invalid("the event cannot be recorded", problems=problems) from None
        found = {i: e for (i, _), e in zip(given, case.events, strict=True)}
    return [e if isinstance(e, Event) else found[i] for i, e in enumerate(events, 1)]


def _place(field: str, given: Sequence[tuple[int, Any]], place: Callable[[int], str]) -> str:
    """A problem's field ``events[j].FIELD`` of the validated list as ``place(i).FIELD`` of the caller's event."""
    head, sep, rest = field.partition("]")
    if not head.startswith("events[") or not sep:
        return field
    return place(given[int(head[len("events[") :]) - 1][0]) + rest


def parse_case(
    label: str,
    charges: Sequence[str],
    stage: str,
    offence_date: dt.date | str | None,
    as_of: dt.date | str | None,
    events: Sequence[Event | Mapping[str, Any]],
) -> Case:
    """The facts of a new case, checked as ``check`` checks them (``Invalid`` naming every problem); events without
    an id get ``e1``, ``e2``… by their place."""
    check_label(label)
    data: dict[str, Any] = {"case_id": label, "charges": list(charges), "stage": stage, "events": []}
    data["events"] = [e.model_dump(exclude_none=True) if isinstance(e, Event) else e for e in events]
    if offence_date is not None:
        data["offence_date"] = offence_date
    if as_of is not None:
        data["as_of"] = as_of
    try:
        case = Case.parse(data, label)
    except CaseError as exc:
        raise Invalid("the case cannot be recorded", problems=exc.problems) from None
    from warexempt.rules.charges import book

    problems = []
    for i, code in enumerate(case.charges, 1):
        try:
            book(bundled_law()).code(code)
        except ValueError as exc:
            problems.append((f"charges[{i}]", str(exc)))
    if problems:
        raise Invalid("the case cannot be recorded", problems=problems)
    ids = case.event_ids()
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise Invalid("the case cannot be recorded", problems=[("events", EVENT_IDS_TWICE.format(ids=", ".join(dup)))])
    events_with_ids = [e.model_copy(update={"id": i}) for e, i in zip(case.events, ids, strict=True)]
    return case.model_copy(update={"events": events_with_ids})


def check_label(label: str) -> None:
    if not isinstance(label, str) or not label.strip() or len(label) > 100 or "\n" in label or "\r" in label:
        raise Invalid("{value} is not a valid label: expected 1 to 100 characters, no line breaks", value=repr(label))


def check_supersedes(record: CaseRecord, supersedes: str | None) -> None:
    if supersedes is None:
        return
    ids = {e.event_id for e in record.events}
    if supersedes not in ids:
        raise NotFound("case {label} has no event {event}", label=repr(record.label), event=repr(supersedes))
    later = next((e.event_id for e in record.events if e.supersedes == supersedes), None)
    if later is not None:
        raise Invalid(
            "event {event} of case {label} was already superseded by {later}; correct the later event instead",
            event=supersedes,
            label=record.label,
            later=later,
        )


def next_event_id(record: CaseRecord) -> str:
    ids = {e.event_id for e in record.events}
    n = record.seq + 1
    while f"e{n}" in ids:
        n += 1
    return f"e{n}"


def name_events(record: CaseRecord, news: Sequence[Event]) -> list[Event]:
    """New events of a case with their ids: the given one, else ``e<seq>`` (primed while that id is taken)."""
    taken = {e.event_id for e in record.events}
    named = []
    for i, new in enumerate(news, 1):
        event_id = new.id or f"e{record.seq + i}"
        while event_id in taken:
            event_id += "'"
        taken.add(event_id)
        named.append(new.model_copy(update={"id": event_id}))
    return named


def store_new_case(
    conn: Connection,
    chain: audit.Chain,
    actor: Actor,
    case: Case,
    fixed_day: bool,
    notes: str | None,
    law: Law,
    status: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Insert a checked case and its events (replayed through the rules: ``Refused`` if impossible) and audit it;
    the status stored. ``status``: the decision row already made for it on its day (an import decides all its
    cases in one call)."""
    from warexempt.lifecycle.step import statuses

    exists = conn.execute(
        select(CASES.c.id).where(CASES.c.org_id == actor.org_id, CASES.c.label == case.case_id)
    ).scalar_one_or_none()
    if exists is not None:
        raise Conflict("case {label} already exists in organisation {org}", label=case.case_id, org=actor.org)
    day = case.as_of if fixed_day else dt.date.today()
    if status is None:
        status = statuses([case.model_copy(update={"as_of": day})], law)[0]
    if status["error"]:
        raise Refused("the case cannot be recorded", problems=[("events", str(status["error"]))])
    when = audit.now()
    blob = None if notes is None else crypto.encrypt(conn, actor.org_id, notes)
    values = {
        "org_id": actor.org_id,
        "label": case.case_id,
        "charges": ";".join(case.charges),
        "stage": case.stage,
        "offence_date": case.offence_date,
        "as_of": case.as_of if fixed_day else None,
        "notes": blob,
        "created_at": when,
        "created_by": actor.name,
        "seq": len(case.events),
    }
    cid = conn.execute(
        insert(CASES).values(**values, **cache_values(status, len(case.events), day, law))
    ).inserted_primary_key
    assert cid is not None
    facts = {k: values[k] for k in ("charges", "stage", "offence_date", "as_of")}
    chain.add(actor.name, "case", case.case_id, None, {**facts, "notes_sha256": crypto.fingerprint(blob)}, when)
    rows = []
    for seq, event in enumerate(case.events, 1):
        rows.append(event_values(cid[0], seq, event, None, actor, when))
        chain.add(actor.name, "event", case.case_id, None, audit_event(rows[-1]), when)
    if rows:
        conn.execute(insert(EVENTS), rows)
    return status_json(status)


def cache_values(status: Mapping[str, Any], seq: int, day: dt.date, law: Law) -> dict[str, Any]:
    """The cached status columns of a case: every write of a status goes through here or ``recompute``, which
    writes the same text and digest (``tests/test_register_recompute.py`` checks that they agree)."""
    # compact, as ``recompute`` writes it (Polars' ``json_encode``): an unchanged status is then the same text
    text = json.dumps(status_json(status), ensure_ascii=False, separators=(",", ":"))
    return {
        "outcome": status["outcome"],
        "eligible": status["eligible"],
        "record_cleared": status["record_cleared"],
        "status": text,
        "status_digest": status_digest(text),
        "status_law": law.fingerprint,
        "status_seq": seq,
        "status_day": day,
    }


def status_digest(text: str) -> str:
    """The digest stored beside a cached status (``cases.status_digest``): what a recompute compares to tell an
    answer that came out as it was (only its law, seq and day restamped) from one that changed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_values(
    case_id: int, seq: int, event: Event, supersedes: str | None, actor: Actor, when: dt.datetime | None
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "seq": seq,
        "event_id": event.id,
        **{k: getattr(event, k) for k in EVENT_FIELDS},
        "supersedes": supersedes,
        "recorded_at": when,
        "recorded_by": actor.name,
    }


def audit_event(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: values[k] for k in ("seq", "event_id", *EVENT_FIELDS, "supersedes") if values[k] is not None}


def store_event(
    conn: Connection, chain: audit.Chain, actor: Actor, row: Any, step: StepResult, law: Law, day: dt.date
) -> None:
    """Insert a judged event at the case's next seq, cache the new status, audit it."""
    store_events(conn, chain, actor, row, [step], law, day)


def store_events(
    conn: Connection, chain: audit.Chain, actor: Actor, row: Any, steps: Sequence[StepResult], law: Law, day: dt.date
) -> None:
    """Insert judged events at the case's next seqs (one statement), cache the last status, audit each."""
    when = audit.now()
    values = [event_values(row.id, row.seq + i, s.event, s.supersedes, actor, when) for i, s in enumerate(steps, 1)]
    seq = row.seq + len(steps)
    moved = conn.execute(  # only if the case is still at the seq it was judged at (a concurrent append: a conflict)
        update(CASES)
        .where(CASES.c.id == row.id, CASES.c.seq == row.seq)
        .values(seq=seq, **cache_values(steps[-1].status, seq, day, law))
    )
    if moved.rowcount != 1:
        raise _conflict(row.label, row.seq, row.seq + 1)
    try:
        conn.execute(insert(EVENTS), values)
    except sa_exc.IntegrityError as exc:  # the same seq stored by a concurrent writer: the unique (case, seq)
        raise _conflict(row.label, row.seq, row.seq + 1) from exc
    audit_steps(chain, actor, row, values, steps, when)


def audit_steps(
    chain: audit.Chain,
    actor: Actor,
    row: Any,
    values: Sequence[Mapping[str, Any]],
    steps: Sequence[StepResult],
    when: dt.datetime,
) -> None:
    """One audit row per stored event (``audit_entries``)."""
    for entry in audit_entries(actor, row, values, steps):
        chain.add_encoded(entry, when)


def audit_entries(
    actor: Actor, row: Any, values: Sequence[Mapping[str, Any]], steps: Sequence[StepResult]
) -> list[audit.Entry]:
    """The audit entries of stored events, encoded: the event, its effect, and the case's status before and after
    it (``values``: the events' rows; their ``recorded_at`` is not logged, so they may be made before it is known).

    An entry is made of JSON values only (texts, the seq, the date as ISO text, the status's booleans and reason
    ids), so its before and after are encoded by ``audit.plain_json`` in one C call each; the status after an event
    is the status before the next, encoded once."""
    before = audit.canonical(brief(json.loads(row.status))) if row.status else None
    out: list[audit.Entry] = []
    for v, step in zip(values, steps, strict=True):
        status = step.answer
        after = {**audit_event(v), "date": v["date"].isoformat(), "effect": step.effect, "status": status}
        out.append((actor.name, "event", row.label, before, audit.plain_json(after)))
        before = audit.plain_json(status)
    return out
