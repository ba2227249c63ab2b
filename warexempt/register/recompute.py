"""Recompute the cached status of many cases through the vectorised engine, reading, deciding and writing at once.

The cases are taken in spans of their ids, ``PART`` at a time, in a pipeline of three steps that overlap on two
cores: two reading connections read the spans' cases and their cases' events, a thread decides each span as soon
as it is read (``rules.engine.evaluate``, one call a span; superseded events left out by an anti-join), never
waiting for a write, and the write transaction stores the decided spans in order. The rows come straight from the
driver into frames — no Python per row: SQLite as one JSON array per column made by ``json_group_array``, decoded
by Polars; PostgreSQL the cases by ``COPY … TO STDOUT`` as CSV (``pl.read_csv``) and the events, many short rows,
as ``json_agg`` arrays.

Each new status is compared with the cached one by its digest (``cases.status_digest``, which every writer stores
with the status: ``store.cache_values``). A case whose answer came out as cached — after a change of the law files,
nearly every case — gets only its law, seq and day written (``_restamp``: on SQLite one ``UPDATE`` for all of a
span's cases; on PostgreSQL one ``UPDATE … FROM`` a table filled by ``COPY``, only where the row still holds
that status at that seq); a changed one is stored whole (``_store``), only where the case is still at the seq it
was read at. The readers see what the writer saw when it began: SQLite's write transaction (``BEGIN IMMEDIATE``)
lets no other writer commit until it ends; PostgreSQL's exports its snapshot once it holds the organisations'
chains, locked before any case row, in the order every append locks them. One audit row per organisation records
the run.
"""

from __future__ import annotations

import datetime as dt
import io
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl
from sqlalchemy import Connection, func, select

from warexempt.law.catalog import Law
from warexempt.register import audit
from warexempt.register.actors import Actor, local_name
from warexempt.register.models import CASES, ORGS
from warexempt.register.store import Recomputed, status_digest

if TYPE_CHECKING:
    from warexempt.register.store import Register

T = TypeVar("T")

CASE_COLUMNS = {
    "id": pl.Int64,
    "org_id": pl.Int64,
    "charges": pl.String,
    "stage": pl.String,
    "offence_date": pl.Date,
    "fixed": pl.Date,
    "seq": pl.Int64,
    "stale": pl.Int64,
    "old_outcome": pl.String,
    "old_status": pl.String,
}
EVENT_COLUMNS = {
    "case_id": pl.Int64,
    "event_id": pl.String,
    "date": pl.Date,
    "kind": pl.String,
    "ground": pl.String,
    "stage": pl.String,
    "charge": pl.String,
    "supersedes": pl.String,
}
CASE_SQL = (
    "SELECT id, org_id, charges, stage, offence_date, as_of AS fixed, seq, {stale} AS stale, "
    "outcome AS old_outcome, status_digest AS old_status FROM cases {where}"
)
# 1 where a case's cache was not derived under the law (first parameter) at its seq on its day (the fixed one, else
# the second parameter: today), else 0: the one test of a stale case (``_stale_sql`` fills it for a back end)
STALE_SQL = (
    "CASE WHEN status_law {differs} {p} OR status_seq {differs} seq OR status_day {differs} coalesce(as_of, {p}) "
    "THEN 1 ELSE 0 END"
)


def _stale_sql(conn: Connection) -> str:
    """``STALE_SQL`` for ``conn``'s back end: its null-safe ``<>`` and its parameter mark."""
    return STALE_SQL.format(differs="IS DISTINCT FROM" if _postgres(conn) else "IS NOT", p=_mark(conn))


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _mark(conn: Connection) -> str:
    """The driver's mark of a positional parameter."""
    return "%s" if _postgres(conn) else "?"


EVENT_SQL = (
    "SELECT e.case_id AS case_id, e.event_id AS event_id, e.date AS date, e.kind AS kind, e.ground AS ground, "
    "e.stage AS stage, e.charge AS charge, e.supersedes AS supersedes FROM events e {where}"
)


def _frame(
    conn: Connection,
    sql: str,
    org: int | None,
    columns: dict[str, Any],
    extra: str | None = None,
    first: tuple[Any, ...] = (),
) -> pl.DataFrame:
    """The rows of ``sql`` (``{where}`` filled for ``org``; ``first``: the values of the parameters before it) as a
    frame of ``columns``, read without per-row Python: PostgreSQL sends them as CSV (``COPY``), SQLite as one JSON
    array per column (``_sqlite_columns``)."""
    params = first if org is None else (*first, org)
    if not _postgres(conn):
        frame = _sqlite_columns(conn, sql, org, columns, extra, params)
    elif len(columns) <= len(EVENT_COLUMNS):  # many short rows: the columns as JSON arrays (``_pg_columns``)
        frame = _pg_columns(conn, sql, org, columns, extra, params)
    else:
        frame = _pg_csv(conn, sql, org, columns, extra, params)
    out = []
    for name, kind in columns.items():
        col = pl.col(name)
        if kind == pl.Date:
            out.append(col.cast(pl.String).str.to_date("%Y-%m-%d", strict=False).alias(name))
        else:
            out.append(col.cast(kind).alias(name))
    return frame.select(out)


def _where(sql: str, org: int | None, mark: str, extra: str | None = None) -> str:
    """``sql`` with its ``{where}`` filled: every row, or those of the organisation (bound as ``mark``), and those
    ``extra`` (a condition) keeps."""
    on = [] if extra is None else [extra]
    if org is not None:
        on.append(f"e.case_id IN (SELECT id FROM cases WHERE org_id = {mark})" if "e." in sql else f"org_id = {mark}")
    return sql.format(where=f"WHERE {' AND '.join(on)}" if on else "")


def _pg_csv(
    conn: Connection, sql: str, org: int | None, columns: dict[str, Any], extra: str | None, params: tuple[Any, ...]
) -> pl.DataFrame:
    """PostgreSQL: the rows as CSV from ``COPY … TO STDOUT``, parsed by Polars' native reader (text columns)."""
    raw: Any = conn.connection.driver_connection
    text_schema = {k: pl.String for k in columns}
    buf = io.BytesIO()
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY ({_where(sql, org, '%s', extra)}) TO STDOUT WITH (FORMAT csv)", params or None) as copy,
    ):
        for block in copy:
            buf.write(block)
    data = buf.getvalue()
    if not data:
        return pl.DataFrame(schema=text_schema)
    return pl.read_csv(data, has_header=False, new_columns=list(columns), schema=text_schema)


def _pg_columns(
    conn: Connection, sql: str, org: int | None, columns: dict[str, Any], extra: str | None, params: tuple[Any, ...]
) -> pl.DataFrame:
    """PostgreSQL, for many short rows (the events): one row of one JSON array per column (``json_agg``, sent as
    text), decoded by Polars as ``_sqlite_columns`` does — ``COPY`` sends a message per row, each a Python object
    to the driver; these are a handful of large texts."""
    raw: Any = conn.connection.driver_connection
    arrays = ", ".join(f"json_agg({name})::text" for name in columns)
    with raw.cursor() as cur:
        got = cur.execute(f"SELECT count(*), {arrays} FROM ({_where(sql, org, '%s', extra)}) q", params or None)
        n, *found = got.fetchone()
    return _decode_columns(n, found, columns)


def _decode_columns(n: int, found: list[str], columns: dict[str, Any]) -> pl.DataFrame:
    """The rows of one JSON array per column (``found``, ``n`` rows) as a frame of ``columns`` (text, whole numbers)."""
    if not n:
        return pl.DataFrame(schema={k: pl.String for k in columns})
    wanted = {name: pl.Int64 if kind == pl.Int64 else pl.String for name, kind in columns.items()}
    return pl.DataFrame({name: [text] for name, text in zip(columns, found, strict=True)}).select(
        pl.col(name).str.json_decode(pl.List(kind)).list.explode(empty_as_null=False) for name, kind in wanted.items()
    )


def _sqlite_columns(
    conn: Connection, sql: str, org: int | None, columns: dict[str, Any], extra: str | None, params: tuple[Any, ...]
) -> pl.DataFrame:
    """SQLite: one row of one JSON array per column (``json_group_array``: one scan, the values quoted by SQLite
    itself), each decoded by Polars' native JSON reader — no Python object per value, and a fraction of the cost
    of one JSON object per row (every key repeated) or of ``fetchall``. The arrays line up: they are aggregated in
    the same scan, in the same order."""
    raw: Any = conn.connection.driver_connection
    cur = raw.cursor()
    arrays = ", ".join(f"json_group_array({name})" for name in columns)
    cur.execute(f"SELECT count(*), {arrays} FROM ({_where(sql, org, '?', extra)})", params)
    n, *found = cur.fetchone()
    cur.close()
    return _decode_columns(n, found, columns)


PART = 12_500  # cases in a span: read, decided and written at a time


def recompute(reg: Register, org: int | None, force: bool, actor: Actor | None) -> Recomputed:
    """Derive and store the status of every stale case (of ``org``, else of all organisations).

    Unless ``force``, the stale cases are counted first, by the database (a read: nothing stale is answered without
    taking the write lock — a read-only SQLite file too); then all of it is done in one write transaction, in the
    pipeline the module's docstring describes (``_run``)."""
    if not force:
        with reg.read() as conn:
            cases, stale = _stale_count(conn, org, reg.law)
        if not stale:
            return Recomputed(cases=cases, law_fingerprint=reg.law.fingerprint)
    with reg.write() as conn:
        return _run(reg, conn, org, force, actor)


def _stale_count(conn: Connection, org: int | None, law: Law) -> tuple[int, int]:
    """The cases (of ``org``, else all) and how many of them are stale, counted by the database in one scan."""
    sql = _where(f"SELECT count(*), coalesce(sum({_stale_sql(conn)}), 0) FROM cases {{where}}", org, _mark(conn))
    params = (law.fingerprint, dt.date.today().isoformat(), *(() if org is None else (org,)))
    cases, n = conn.exec_driver_sql(sql, params).one()
    return int(cases), int(n)


def _run(reg: Register, conn: Connection, org: int | None, force: bool, actor: Actor | None) -> Recomputed:
    """The recompute in the write transaction ``conn``: the report, with one audit row per organisation whose
    cases it derived."""
    law = reg.law
    # the chains first: an append locks its organisation's chain, then its case (no deadlock with it)
    orgs = [org] if org is not None else list(conn.execute(select(ORGS.c.id).order_by(ORGS.c.id)).scalars())
    chains = {org_no: audit.Chain.open(conn, org_no) for org_no in orgs}
    ids = select(func.min(CASES.c.id), func.max(CASES.c.id), func.count())
    first, last, total = conn.execute(ids if org is None else ids.where(CASES.c.org_id == org)).one()
    report = Recomputed(cases=int(total), law_fingerprint=law.fingerprint)
    if not total:
        return report
    today = dt.date.today()  # (the day a case without a fixed one is judged on: the same for every span)
    snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()) if _postgres(conn) else None
    spans = _spans(int(first), int(last), -(-int(total) // PART))
    stop = threading.Event()
    cases_read: queue.SimpleQueue[pl.DataFrame | BaseException] = queue.SimpleQueue()
    events_read: queue.SimpleQueue[pl.DataFrame | BaseException] = queue.SimpleQueue()
    counts: list[pl.DataFrame] = []
    decided: queue.SimpleQueue[Future[Part] | BaseException | None] = queue.SimpleQueue()
    with ThreadPoolExecutor(3) as pool, ThreadPoolExecutor(1) as decider:  # (readers and feeder; the decider)
        try:
            pool.submit(_reader, reg, snapshot, spans, _span_cases(org, law, today), cases_read, stop)
            pool.submit(_reader, reg, snapshot, spans, _span_events(org), events_read, stop)
            pool.submit(_feed, spans, (cases_read, events_read), decider, force, today, law, decided)
            while (got := decided.get()) is not None:
                _written(conn, _taken(got).result(), law, report, counts)
        finally:
            stop.set()  # (on an error: the readers stop at their next span)
    if not counts:
        return report
    names = dict(conn.execute(select(ORGS.c.id, ORGS.c.name)).all())
    totals = pl.concat(counts).group_by("org_id").agg(pl.col("n").sum(), pl.col("changed").sum()).sort("org_id")
    for org_no, n, n_changed in totals.iter_rows():
        chain = chains[org_no]
        who = actor.name if actor is not None else local_name()
        chain.add(who, "recompute", None, None, {"law": law.fingerprint, "cases": n, "changed": n_changed})
        chain.flush()
        report.by_org[names[org_no]] = n
    return report


def _spans(first: int, last: int, n: int) -> list[tuple[int, int]]:
    """``first``..``last`` (case ids) cut in ``n`` spans (fewer when there are fewer numbers)."""
    step = max(1, -(-(last - first + 1) // max(1, n)))
    return [(lo, min(last, lo + step - 1)) for lo in range(first, last + 1, step)] or [(first, last)]


Read = Callable[[Connection, int, int], pl.DataFrame]


def _span_cases(org: int | None, law: Law, today: dt.date) -> Read:
    """What reads a span's cases (``CASE_COLUMNS``): whether each is stale under ``law`` on ``today`` (judged by
    the database: one number, not the three columns it is judged on), and the cached status as its digest (64
    bytes, all that ``_part`` compares)."""

    def read(conn: Connection, lo: int, hi: int) -> pl.DataFrame:
        sql = CASE_SQL.replace("{stale}", _stale_sql(conn))
        return _frame(conn, sql, org, CASE_COLUMNS, f"id BETWEEN {lo} AND {hi}", (law.fingerprint, today.isoformat()))

    return read


def _span_events(org: int | None) -> Read:
    """What reads the events of a span's cases (found by the index on the case and seq)."""

    def read(conn: Connection, lo: int, hi: int) -> pl.DataFrame:
        return _frame(conn, EVENT_SQL, org, EVENT_COLUMNS, f"e.case_id BETWEEN {lo} AND {hi}")

    return read


def _reader(
    reg: Register,
    snapshot: str | None,
    spans: list[tuple[int, int]],
    read: Read,
    out: queue.SimpleQueue[pl.DataFrame | BaseException],
    stop: threading.Event,
) -> None:
    """Read every span with ``read`` on a connection of its own, in order, into ``out`` (an error too, and then
    nothing more), until ``stop``."""
    try:
        with _reading(reg, snapshot) as conn:
            for lo, hi in spans:
                if stop.is_set():  # (the feeder may be waiting for this span: it is told)
                    out.put(Stopped())
                    return
                out.put(read(conn, lo, hi))
    except BaseException as exc:  # (given to the writer, which raises it in its own transaction)
        out.put(exc)


@contextmanager
def _reading(reg: Register, snapshot: str | None) -> Iterator[Connection]:
    """A read transaction that sees what the writer sees: on PostgreSQL in the writer's exported ``snapshot``; on
    SQLite any read begun while the writer holds the write lock."""
    if snapshot is None:
        with reg.read() as conn:
            yield conn
        return
    with reg.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        yield conn


class Stopped(Exception):
    """The run ended (the writer failed) before a span was read."""


def _taken(got: T | BaseException) -> T:
    """What a thread of the pipeline handed on (its error raised here)."""
    if isinstance(got, BaseException):
        raise got
    return got


def _feed(
    spans: list[tuple[int, int]],
    reads: tuple[queue.SimpleQueue[pl.DataFrame | BaseException], queue.SimpleQueue[pl.DataFrame | BaseException]],
    decider: ThreadPoolExecutor,
    force: bool,
    today: dt.date,
    law: Law,
    out: queue.SimpleQueue[Future[Part] | BaseException | None],
) -> None:
    """Hand each span, as soon as its cases and events are read, to ``decider``, and its future to ``out`` (in
    order; ``None`` at the end, an error instead of the rest): the spans are decided one after another while the
    writer writes, never waiting for a write to end."""
    try:
        for _ in spans:
            frame = _stale(_taken(reads[0].get()), force, today)
            events = _taken(reads[1].get())
            if not frame.is_empty():
                out.put(decider.submit(_part, frame, events, law))
        out.put(None)
    except BaseException as exc:  # (raised by the writer, in its transaction)
        out.put(exc)


def _stale(frame: pl.DataFrame, force: bool, today: dt.date) -> pl.DataFrame:
    """A span's cases with the day they are judged on (``as_of``: the fixed day, else today), the stale ones only
    unless ``force``."""
    frame = frame.with_columns(pl.col("fixed").fill_null(today).alias("as_of"))
    return frame if force else frame.filter(pl.col("stale") == 1)


def _written(conn: Connection, part: Part, law: Law, report: Recomputed, counts: list[pl.DataFrame]) -> None:
    """Store a decided span and count it in ``report`` and ``counts``."""
    _store(conn, part.store, law.fingerprint)
    _restamp(conn, part.restamp, law.fingerprint)
    report.recomputed += part.recomputed
    report.changed += part.changed
    counts.append(part.counts)


@dataclass
class Part:
    """One span decided: the cases whose status changed (``_store``'s frame) and those whose status came out as
    cached (``_restamp``'s), the cases derived and whose outcome changed, and both counted per organisation
    (``counts``: org_id, n, changed)."""

    store: pl.DataFrame
    restamp: pl.DataFrame
    recomputed: int
    changed: int
    counts: pl.DataFrame


def _part(frame: pl.DataFrame, events: pl.DataFrame, law: Law) -> Part:
    """One span's stale cases judged (``_decide``), each new status compared with the cached one by its digest (as every
    writer stores it: ``store.status_digest``; a case with no digest cached is stored whole)."""
    from warexempt.register.store import STATUS_FIELDS

    frame, decided = _decide(frame, events, law)
    status = decided.select(pl.struct(list(STATUS_FIELDS)).struct.json_encode().alias("status"))["status"]
    digest = pl.Series("digest", [status_digest(text) for text in status], pl.String)
    out = frame.with_columns(decided["outcome"], decided["eligible"], decided["record_cleared"], status, digest)
    changed = pl.col("old_outcome").ne_missing(pl.col("outcome"))
    same = pl.col("old_status").eq(pl.col("digest")).fill_null(False)
    day = pl.col("as_of").cast(pl.String)
    return Part(
        out.filter(~same).select("id", "seq", "outcome", "eligible", "record_cleared", "status", day, "digest"),
        out.filter(same).select("id", "seq", day, "digest"),
        out.height,
        int(out.select(changed.sum()).item()),
        out.group_by("org_id").agg(pl.len().alias("n"), changed.sum().alias("changed")),
    )


def _decide(frame: pl.DataFrame, events: pl.DataFrame, law: Law) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The engine's decision (``rules.engine.evaluate``, one call) on every case of ``frame`` with its effective
    events (superseded ones left out by an anti-join), each event matched to its case's row ``_k`` by the case's
    number (no text keys). Cases whose charge codes the present law no longer reads are left out (and so keep their
    cached status); the cases decided and their decisions, row for row."""
    from warexempt.rules.engine import ChargeErrors

    replaced = events.filter(pl.col("supersedes").is_not_null()).select(
        "case_id", pl.col("supersedes").alias("event_id")
    )
    events = events.join(replaced, on=["case_id", "event_id"], how="anti")
    try:
        return frame, _evaluate(frame, events, law)
    except ChargeErrors as exc:  # codes the present law no longer reads: those cases are left as they were
        frame = frame.with_row_index("_r").filter(~pl.col("_r").is_in(sorted(exc.rows))).drop("_r")
    return frame, _evaluate(frame, events, law)


def _evaluate(frame: pl.DataFrame, events: pl.DataFrame, law: Law) -> pl.DataFrame:
    """One ``rules.engine.evaluate`` call on the cases of ``frame`` and their events, in the order they are stored."""
    from warexempt.rules.engine import evaluate

    cases = frame.select(
        pl.col("id").cast(pl.String).alias("case_id"),
        pl.col("charges").str.split(";"),
        "stage",
        "offence_date",
        "as_of",
    )
    index = frame.select(pl.col("id").alias("case_id")).with_row_index("_k")
    own = events.join(index, on="case_id", how="inner", maintain_order="left").select(
        pl.col("_k").cast(pl.Int64), "event_id", "date", "kind", "ground", "stage", "charge"
    )
    return evaluate(cases, own, law)


def _store(conn: Connection, frame: pl.DataFrame, law: str) -> None:
    """Write the statuses (``frame``: id, seq, outcome, eligible, record_cleared, status, day, digest) of the cases
    still at the seq they were read at (a concurrent append keeps its own, newer status), leaving alone every row
    whose cache already holds exactly this (a forced recompute under an unchanged law rewrites nothing).

    PostgreSQL: one ``COPY`` (CSV that Polars writes) into a temporary table, then one ``UPDATE … FROM``. SQLite:
    one ``executemany`` of the ``UPDATE`` in the write transaction — cheaper than filling a temporary table and
    joining it, as each row is found by its primary key."""
    if frame.is_empty():
        return
    if _postgres(conn):
        columns = "id int, seq int, outcome text, eligible boolean, record_cleared boolean, status text, day date"
        _pg_staged(conn, f"_status ({columns}, digest text)", frame, PG_UPDATE, law)
        return
    raw: Any = conn.connection.driver_connection
    cur = raw.cursor()
    flags = [pl.col(name).cast(pl.Int8) for name in ("eligible", "record_cleared")]  # (ints bind without an adapter)
    order = ("outcome", "eligible", "record_cleared", "status", "as_of", "id", "seq")
    rows = frame.with_columns(flags).select(*order, pl.lit(law).alias("law"), "digest").iter_rows()
    cur.executemany(SQLITE_UPDATE, rows)
    cur.close()


def _restamp(conn: Connection, frame: pl.DataFrame, law: str) -> None:
    """The cases whose status came out as the one cached (a law change that leaves their answer as it was: the
    common case) keep their status text; only what it was derived from is written — the law, the seq, the day.
    ``frame``: id, seq, as_of (the day), digest (of the status this law gives the case at that seq on that day).

    PostgreSQL: from one ``COPY`` of a few values per case instead of the whole status, and only where the row
    still holds exactly that status at that seq (its digest), so that a status another writer stored meanwhile is
    never stamped with this law. SQLite: one ``UPDATE`` per day stamped (nearly always one: today), its cases' ids
    as one JSON array — no statement per case; the write transaction has held the database since the cases were
    read, so every row is still as read."""
    if frame.is_empty():
        return
    if _postgres(conn):
        _pg_staged(conn, "_restamp (id int, seq int, day date, digest text)", frame, PG_RESTAMP, law)
        return
    raw: Any = conn.connection.driver_connection
    cur = raw.cursor()
    ids = pl.format("[{}]", pl.col("id").cast(pl.String).str.join(","))  # (a JSON array of whole numbers)
    for day, each in frame.group_by("as_of").agg(ids).iter_rows():
        cur.execute(SQLITE_RESTAMP, (law, day, each))
    cur.close()


def _pg_staged(conn: Connection, table: str, frame: pl.DataFrame, update: str, law: str) -> None:
    """PostgreSQL: a span's rows (``frame``, its columns in the order of ``table``: the temporary table's name and
    columns) sent by one ``COPY`` (CSV that Polars writes) into that table, then ``update`` run from it over the
    span's ids (``lo``..``hi``: the table has no statistics, and without the bound the planner hashes the whole
    ``cases`` table for every span). The table is made by the run's first span and emptied for each next one."""
    raw: Any = conn.connection.driver_connection
    name = table.split(" ", 1)[0]
    with raw.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} ON COMMIT DROP")
        cur.execute(f"TRUNCATE {name}")
        with cur.copy(f"COPY {name} FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(frame.write_csv(include_header=False).encode("utf-8"))
        cur.execute(update, {"law": law, "lo": frame["id"].min(), "hi": frame["id"].max()})


PG_RESTAMP = (
    "UPDATE cases SET status_law = %(law)s, status_seq = s.seq, status_day = s.day FROM _restamp s "
    "WHERE cases.id BETWEEN %(lo)s AND %(hi)s AND cases.id = s.id AND cases.seq = s.seq "
    "AND cases.status_digest = s.digest AND (cases.status_law IS DISTINCT FROM %(law)s "
    "OR cases.status_seq IS DISTINCT FROM s.seq OR cases.status_day IS DISTINCT FROM s.day)"
)
SQLITE_RESTAMP = (
    "UPDATE cases SET status_law = ?1, status_seq = seq, status_day = ?2 WHERE id IN (SELECT value FROM json_each(?3)) "
    "AND (status_law IS NOT ?1 OR status_seq IS NOT seq OR status_day IS NOT ?2)"
)

# a row is written only where the case is still at the seq read, and only if its cache differs (PostgreSQL: over
# the span's ids, ``_pg_staged``)
PG_UPDATE = (
    "UPDATE cases SET outcome = s.outcome, eligible = s.eligible, record_cleared = s.record_cleared, "
    "status = s.status, status_digest = s.digest, status_law = %(law)s, status_seq = s.seq, status_day = s.day "
    "FROM _status s WHERE cases.id BETWEEN %(lo)s AND %(hi)s AND cases.id = s.id AND cases.seq = s.seq "
    "AND (cases.status IS DISTINCT FROM s.status "
    "OR cases.status_digest IS DISTINCT FROM s.digest "
    "OR cases.status_law IS DISTINCT FROM %(law)s OR cases.status_seq IS DISTINCT FROM s.seq "
    "OR cases.status_day IS DISTINCT FROM s.day OR cases.outcome IS DISTINCT FROM s.outcome "
    "OR cases.eligible IS DISTINCT FROM s.eligible OR cases.record_cleared IS DISTINCT FROM s.record_cleared)"
)
SQLITE_UPDATE = (
    "UPDATE cases SET outcome = ?1, eligible = ?2, record_cleared = ?3, status = ?4, status_law = ?8, "
    "status_digest = ?9, status_seq = seq, status_day = ?5 WHERE id = ?6 AND seq = ?7 AND (status IS NOT ?4 "
    "OR status_digest IS NOT ?9 OR status_law IS NOT ?8 OR status_seq IS NOT seq OR status_day IS NOT ?5 "
    "OR outcome IS NOT ?1 OR eligible IS NOT ?2 OR record_cleared IS NOT ?3)"
)
