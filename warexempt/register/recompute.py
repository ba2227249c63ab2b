"""Recompute the cached status of many cases in one call of the vectorised engine.

The cases and their events are read straight from the driver (PostgreSQL: ``COPY … TO STDOUT`` as CSV, read by
``pl.read_csv``; SQLite: one value of NDJSON made by ``json_object`` and ``group_concat``, read by
``pl.read_ndjson``) into one case frame and one events frame — no Python per row; superseded events are left out by
an anti-join; the engine (``rules.engine.evaluate``) decides every case at once; the answers
go back through a temporary table and one ``UPDATE … FROM`` (PostgreSQL fills it with ``COPY``), only where the case
is still at the sequence number it was read at — a concurrent append keeps its own, newer status. One audit row per
organisation records the run; its chain is locked before the cases' rows, in the order every append locks them.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Connection, select

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
    "outcome AS old_outcome FROM cases {where} ORDER BY id"
)
EVENT_SQL = (
    "SELECT e.case_id AS case_id, e.event_id AS event_id, e.date AS date, e.kind AS kind, e.ground AS ground, "
    "e.stage AS stage, e.charge AS charge, e.supersedes AS supersedes FROM events e {where}"
)


def _frame(conn: Connection, sql: str, org: int | None, columns: dict[str, Any]) -> pl.DataFrame:
    """The rows of ``sql`` (``{where}`` filled for ``org``) as a frame of ``columns``, read without per-row Python
    where the driver allows."""
    raw: Any = conn.connection.driver_connection
    text_schema = {k: pl.String for k in columns}
    if conn.dialect.name == "postgresql":
        where = (
            ""
            if org is None
            else f"WHERE {'e.case_id IN (SELECT id FROM cases WHERE org_id = %s)' if 'e.' in sql else 'org_id = %s'}"
        )
        buf = io.BytesIO()
        with (
            raw.cursor() as cur,
            cur.copy(
                f"COPY ({sql.format(where=where)}) TO STDOUT WITH (FORMAT csv)", (org,) if org is not None else None
            ) as copy,
        ):
            for block in copy:
                buf.write(block)
        data = buf.getvalue()
        frame = (
            pl.read_csv(data, has_header=False, new_columns=list(columns), schema=text_schema)
            if data
            else pl.DataFrame(schema=text_schema)
        )
    else:
        where = (
            ""
            if org is None
            else f"WHERE {'e.case_id IN (SELECT id FROM cases WHERE org_id = ?)' if 'e.' in sql else 'org_id = ?'}"
        )
        # one value: every row as a line of JSON (NDJSON) made by SQLite, parsed by Polars' native reader — no
        # Python per row, and faster than one JSON array decoded as a list column
        cur = raw.cursor()
        fields = ", ".join(f"'{name}', {name}" for name in columns)
        cur.execute(
            f"SELECT group_concat(json_object({fields}), char(10)) FROM ({sql.format(where=where)})",
            (org,) if org is not None else (),
        )
        (found,) = cur.fetchone()
        cur.close()
        frame = (
            pl.read_ndjson(io.BytesIO(found.encode("utf-8")), schema=text_schema)
            if found
            else pl.DataFrame(schema=text_schema)
        )
    out = []
    for name, kind in columns.items():
        col = pl.col(name)
        if kind == pl.Date:
            out.append(col.cast(pl.String).str.to_date("%Y-%m-%d", strict=False).alias(name))
        else:
            out.append(col.cast(kind).alias(name))
    return frame.select(out)


def recompute(reg: Register, org: int | None, force: bool, actor: Actor | None) -> Recomputed:
    """Derive and store the status of every stale case (of ``org``, else of all organisations)."""
    from warexempt.register.store import STATUS_FIELDS, Recomputed
    from warexempt.rules.engine import ChargeErrors, evaluate

    law = reg.law
    today = dt.date.today()
    with reg.read() as conn:
        frame = _frame(conn, CASE_SQL, org, CASE_COLUMNS).with_columns(pl.col("fixed").fill_null(today).alias("as_of"))
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
    replaced = events.filter(pl.col("supersedes").is_not_null()).select(
        "case_id", pl.col("supersedes").alias("event_id")
    )
    events = events.join(replaced, on=["case_id", "event_id"], how="anti").join(
        frame.select(pl.col("id").alias("case_id")), on="case_id", how="semi"
    )
    cases = frame.select(
        pl.col("id").cast(pl.String).alias("case_id"),
        pl.col("charges").str.split(";"),
        "stage",
        "offence_date",
        "as_of",
    )
    events = events.select(pl.col("case_id").cast(pl.String), "event_id", "date", "kind", "ground", "stage", "charge")
    try:
        decided = evaluate(cases, events, law)
    except ChargeErrors as exc:  # codes the present law no longer reads: those cases are left as they were
        keep = cases.with_row_index("_r").filter(~pl.col("_r").is_in(sorted(exc.rows))).drop("_r")
        decided = evaluate(keep, events.join(keep.select("case_id"), on="case_id", how="semi"), law)
        frame = frame.join(keep.select(pl.col("case_id").cast(pl.Int64).alias("id")), on="id", how="semi")
    out = frame.select("id", "org_id", "seq", "as_of", "old_outcome").with_columns(
        decided["outcome"],
        decided["eligible"],
        decided["record_cleared"],
        decided.select(pl.struct(list(STATUS_FIELDS)).struct.json_encode().alias("status"))["status"],
    )
    report.recomputed = out.height
    changed = pl.col("old_outcome").ne_missing(pl.col("outcome"))
    report.changed = int(out.select(changed.sum()).item())
    counts = out.group_by("org_id").agg(pl.len().alias("n"), changed.sum().alias("changed")).sort("org_id")
    rows = out.select("id", "seq", "outcome", "eligible", "record_cleared", "status", pl.col("as_of").cast(pl.String))
    with reg.write() as conn:
        # the chains first: an append locks its organisation's chain, then its case (no deadlock with it)
        chains = {org_no: audit.Chain.open(conn, org_no) for org_no in counts["org_id"]}
        _store(conn, rows, law.fingerprint)
        names = dict(conn.execute(select(ORGS.c.id, ORGS.c.name)).all())
        for org_no, n, n_changed in counts.iter_rows():
            chain = chains[org_no]
            who = actor.name if actor is not None else local_name()
            chain.add(who, "recompute", None, None, {"law": law.fingerprint, "cases": n, "changed": n_changed})
            chain.flush()
            report.by_org[names[org_no]] = n
    return report


UPDATE = (
    "UPDATE cases SET outcome = s.outcome, eligible = s.eligible, record_cleared = s.record_cleared, "
    "status = s.status, status_law = {law}, status_seq = s.seq, status_day = s.day "
    "FROM _status s WHERE cases.id = s.id AND cases.seq = s.seq"
)


def _store(conn: Connection, frame: pl.DataFrame, law: str) -> None:
    """Write the statuses (``frame``: id, seq, outcome, eligible, record_cleared, status, day) through a temporary
    table and one ``UPDATE … FROM``; PostgreSQL fills the table with one ``COPY`` of CSV that Polars writes."""
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE _status (id integer, seq integer, outcome text, eligible boolean, "
                "record_cleared boolean, status text, day date) ON COMMIT DROP"
            )
            with cur.copy("COPY _status FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(frame.write_csv(include_header=False).encode("utf-8"))
            cur.execute(UPDATE.format(law="%s"), (law,))
        return
    rows = frame.rows()
    cur = raw.cursor()
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _status (id INTEGER PRIMARY KEY, seq INTEGER, outcome TEXT, eligible "
        "INTEGER, record_cleared INTEGER, status TEXT, day TEXT)"
    )
    cur.execute("DELETE FROM _status")
    cur.executemany("INSERT INTO _status VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    cur.execute(UPDATE.format(law="?"), (law,))
    cur.execute("DELETE FROM _status")
    cur.close()
