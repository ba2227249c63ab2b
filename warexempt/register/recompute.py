"""Recompute the cached status of many cases in one call of the vectorised engine.

The cases and their events are read straight from the driver (PostgreSQL: ``COPY … TO STDOUT`` as CSV, read by
``pl.read_csv``; SQLite: one JSON array per column made by ``json_group_array``, decoded by Polars) into one case
frame and one events frame — no Python per row; superseded events are left out by an anti-join; the engine
(``rules.engine.evaluate``) decides every case at once. The answers go back only where the case is still at the
sequence number it was read at (a concurrent append keeps its own, newer status) and only where the cache differs:
PostgreSQL through a temporary table filled by ``COPY`` and one ``UPDATE … FROM`` (a case whose status came out as
cached gets only its law, seq and day written: ``_restamp``); SQLite through one ``executemany`` in the write
transaction. One audit row per organisation records the run; its chain is locked before the cases' rows, in the
order every append locks them.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Connection, select

from warexempt.law.catalog import Law
from warexempt.register import audit
from warexempt.register.actors import Actor, local_name
from warexempt.register.models import ORGS

if TYPE_CHECKING:
    from warexempt.register.store import Recomputed, Register

CASE_COLUMNS = {
    "id": pl.Int64,
    "org_id": pl.Int64,
    "charges": pl.String,
    "stage": pl.String,
    "offence_date": pl.Date,
    "fixed": pl.Date,
    "seq": pl.Int64,
    "status_law": pl.String,
    "status_seq": pl.Int64,
    "status_day": pl.Date,
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
    "SELECT id, org_id, charges, stage, offence_date, as_of AS fixed, seq, status_law, status_seq, status_day, "
    "outcome AS old_outcome, {status} AS old_status FROM cases {where} ORDER BY id"
)
EVENT_SQL = (
    "SELECT e.case_id AS case_id, e.event_id AS event_id, e.date AS date, e.kind AS kind, e.ground AS ground, "
    "e.stage AS stage, e.charge AS charge, e.supersedes AS supersedes FROM events e {where}"
)


def _frame(conn: Connection, sql: str, org: int | None, columns: dict[str, Any]) -> pl.DataFrame:
    """The rows of ``sql`` (``{where}`` filled for ``org``) as a frame of ``columns``, read without per-row Python:
    PostgreSQL sends them as CSV (``COPY``), SQLite as one JSON array per column (``_sqlite_columns``)."""
    if conn.dialect.name == "postgresql":
        frame = _pg_csv(conn, sql, org, columns)
    else:
        frame = _sqlite_columns(conn, sql, org, columns)
    out = []
    for name, kind in columns.items():
        col = pl.col(name)
        if kind == pl.Date:
            out.append(col.cast(pl.String).str.to_date("%Y-%m-%d", strict=False).alias(name))
        else:
            out.append(col.cast(kind).alias(name))
    return frame.select(out)


def _where(sql: str, org: int | None, mark: str) -> str:
    """``sql`` with its ``{where}`` filled: every row, or those of the organisation (bound as ``mark``)."""
    if org is None:
        return sql.format(where="")
    on = f"e.case_id IN (SELECT id FROM cases WHERE org_id = {mark})" if "e." in sql else f"org_id = {mark}"
    return sql.format(where=f"WHERE {on}")


def _pg_csv(conn: Connection, sql: str, org: int | None, columns: dict[str, Any]) -> pl.DataFrame:
    """PostgreSQL: the rows as CSV from ``COPY … TO STDOUT``, parsed by Polars' native reader (text columns)."""
    raw: Any = conn.connection.driver_connection
    text_schema = {k: pl.String for k in columns}
    buf = io.BytesIO()
    with (
        raw.cursor() as cur,
        cur.copy(
            f"COPY ({_where(sql, org, '%s')}) TO STDOUT WITH (FORMAT csv)", None if org is None else (org,)
        ) as copy,
    ):
        for block in copy:
            buf.write(block)
    data = buf.getvalue()
    if not data:
        return pl.DataFrame(schema=text_schema)
    return pl.read_csv(data, has_header=False, new_columns=list(columns), schema=text_schema)


def _sqlite_columns(conn: Connection, sql: str, org: int | None, columns: dict[str, Any]) -> pl.DataFrame:
    """SQLite: one row of one JSON array per column (``json_group_array``: one scan, the values quoted by SQLite
    itself), each decoded by Polars' native JSON reader — no Python object per value, and a fraction of the cost
    of one JSON object per row (every key repeated) or of ``fetchall``. The arrays line up: they are aggregated in
    the same scan, in the same order."""
    raw: Any = conn.connection.driver_connection
    cur = raw.cursor()
    arrays = ", ".join(f"json_group_array({name})" for name in columns)
    cur.execute(f"SELECT count(*), {arrays} FROM ({_where(sql, org, '?')})", () if org is None else (org,))
    n, *found = cur.fetchone()
    cur.close()
    if not n:
        return pl.DataFrame(schema={k: pl.String for k in columns})
    wanted = {name: pl.Int64 if kind == pl.Int64 else pl.String for name, kind in columns.items()}
    return pl.DataFrame({name: [text] for name, text in zip(columns, found, strict=True)}).select(
        pl.col(name).str.json_decode(pl.List(kind)).list.explode(empty_as_null=False) for name, kind in wanted.items()
    )


def recompute(reg: Register, org: int | None, force: bool, actor: Actor | None) -> Recomputed:
    """Derive and store the status of every stale case (of ``org``, else of all organisations)."""
    from warexempt.register.store import STATUS_FIELDS, Recomputed

    law = reg.law
    today = dt.date.today()
    with reg.read() as conn:
        postgres = conn.dialect.name == "postgresql"
        # the cached status itself is read on PostgreSQL only (``_restamp``): on SQLite rewriting a row costs about
        # what sending its status back to compare it would (one executemany either way)
        case_sql = CASE_SQL.replace("{status}", "status" if postgres else "NULL")
        frame = _frame(conn, case_sql, org, CASE_COLUMNS).with_columns(pl.col("fixed").fill_null(today).alias("as_of"))
        report = Recomputed(cases=frame.height, law_fingerprint=law.fingerprint)
        if not force:
            frame = frame.filter(
                pl.col("status_law").ne_missing(law.fingerprint)
                | pl.col("status_seq").ne_missing(pl.col("seq"))
                | pl.col("status_day").ne_missing(pl.col("as_of"))
            )
        if frame.is_empty():
            return report
        events = _frame(conn, EVENT_SQL, org, EVENT_COLUMNS)
    frame, decided = _decide(frame, events, law)
    kept = ("id", "org_id", "seq", "as_of", "old_outcome", "old_status", "status_law", "status_seq", "status_day")
    out = frame.select(kept).with_columns(
        decided["outcome"],
        decided["eligible"],
        decided["record_cleared"],
        decided.select(pl.struct(list(STATUS_FIELDS)).struct.json_encode().alias("status"))["status"],
    )
    report.recomputed = out.height
    changed = pl.col("old_outcome").ne_missing(pl.col("outcome"))
    report.changed = int(out.select(changed.sum()).item())
    counts = out.group_by("org_id").agg(pl.len().alias("n"), changed.sum().alias("changed")).sort("org_id")
    same = pl.col("old_status").eq_missing(pl.col("status"))
    day = pl.col("as_of").cast(pl.String)
    rows = out.filter(~same).select("id", "seq", "outcome", "eligible", "record_cleared", "status", day)
    restamp = out.filter(same).select(
        "id", "seq", day, "status_law", "status_seq", pl.col("status_day").cast(pl.String).alias("old_day")
    )
    with reg.write() as conn:
        # the chains first: an append locks its organisation's chain, then its case (no deadlock with it)
        chains = {org_no: audit.Chain.open(conn, org_no) for org_no in counts["org_id"]}
        _store(conn, rows, law.fingerprint)
        _restamp(conn, restamp, law.fingerprint)
        names = dict(conn.execute(select(ORGS.c.id, ORGS.c.name)).all())
        for org_no, n, n_changed in counts.iter_rows():
            chain = chains[org_no]
            who = actor.name if actor is not None else local_name()
            chain.add(who, "recompute", None, None, {"law": law.fingerprint, "cases": n, "changed": n_changed})
            chain.flush()
            report.by_org[names[org_no]] = n
    return report


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
    """Write the statuses (``frame``: id, seq, outcome, eligible, record_cleared, status, day) of the cases still at
    the seq they were read at (a concurrent append keeps its own, newer status), leaving alone every row whose cache
    already holds exactly this (a forced recompute under an unchanged law rewrites nothing).

    PostgreSQL: one ``COPY`` (CSV that Polars writes) into a temporary table, then one ``UPDATE … FROM``. SQLite:
    one ``executemany`` of the ``UPDATE`` in the write transaction — cheaper than filling a temporary table and
    joining it, as each row is found by its primary key."""
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE _status (id integer, seq integer, outcome text, eligible boolean, "
                "record_cleared boolean, status text, day date) ON COMMIT DROP"
            )
            with cur.copy("COPY _status FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(frame.write_csv(include_header=False).encode("utf-8"))
            cur.execute(PG_UPDATE, {"law": law})
        return
    cur = raw.cursor()
    columns = [frame[c].to_list() for c in ("outcome", "eligible", "record_cleared", "status", "as_of", "id", "seq")]
    cur.executemany(SQLITE_UPDATE, [(*row, law) for row in zip(*columns, strict=True)])
    cur.close()


def _restamp(conn: Connection, frame: pl.DataFrame, law: str) -> None:
    """PostgreSQL: the cases whose status came out as the one cached (a law change that leaves their answer as it
    was: the common case) keep their status text; only what it was derived from is written — the law, the seq, the
    day — from one ``COPY`` of a few numbers per case instead of the whole status, and only where the row is still
    as read (its seq, and the law, seq and day its cache was derived from), so that a status another writer stored
    meanwhile is never stamped with this law. ``frame``: id, seq, as_of (the day), status_law, status_seq, old_day
    (as read)."""
    if frame.is_empty():
        return
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE _restamp (id integer, seq integer, day date, old_law text, old_seq integer, "
            "old_day date) ON COMMIT DROP"
        )
        with cur.copy("COPY _restamp FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(frame.write_csv(include_header=False).encode("utf-8"))
        cur.execute(PG_RESTAMP, {"law": law})


_AS_READ = "IS NOT DISTINCT FROM"
PG_RESTAMP = (
    "UPDATE cases SET status_law = %(law)s, status_seq = s.seq, status_day = s.day FROM _restamp s "
    f"WHERE cases.id = s.id AND cases.seq = s.seq AND cases.status_law {_AS_READ} s.old_law "
    f"AND cases.status_seq {_AS_READ} s.old_seq AND cases.status_day {_AS_READ} s.old_day "
    "AND (cases.status_law IS DISTINCT FROM %(law)s OR cases.status_seq IS DISTINCT FROM s.seq "
    "OR cases.status_day IS DISTINCT FROM s.day)"
)

# a row is written only where the case is still at the seq read, and only if its cache differs
PG_UPDATE = (
    "UPDATE cases SET outcome = s.outcome, eligible = s.eligible, record_cleared = s.record_cleared, "
    "status = s.status, status_law = %(law)s, status_seq = s.seq, status_day = s.day "
    "FROM _status s WHERE cases.id = s.id AND cases.seq = s.seq AND (cases.status IS DISTINCT FROM s.status "
    "OR cases.status_law IS DISTINCT FROM %(law)s OR cases.status_seq IS DISTINCT FROM s.seq "
    "OR cases.status_day IS DISTINCT FROM s.day OR cases.outcome IS DISTINCT FROM s.outcome "
    "OR cases.eligible IS DISTINCT FROM s.eligible OR cases.record_cleared IS DISTINCT FROM s.record_cleared)"
)
SQLITE_UPDATE = (
    "UPDATE cases SET outcome = ?1, eligible = ?2, record_cleared = ?3, status = ?4, status_law = ?8, "
    "status_seq = seq, status_day = ?5 WHERE id = ?6 AND seq = ?7 AND (status IS NOT ?4 OR status_law IS NOT ?8 "
    "OR status_seq IS NOT seq OR status_day IS NOT ?5 OR outcome IS NOT ?1 OR eligible IS NOT ?2 "
    "OR record_cleared IS NOT ?3)"
)
