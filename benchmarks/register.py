"""The register section of ``make bench`` (issue 10, item 8): durable appends per second, and recomputing statuses.

``section(quick, out, log) -> list[Target]`` (``run.py`` PLUGINS) measures

1. **acknowledged durable events per second**, with 1 and with 8 writer processes, both as single-event appends
   (``Register.append``: reported, no target) and as grouped appends (``Register.append_batch`` of ``BATCH`` = 100
   events: 5 cases' 20 events, judged in one engine call, stored with one commit; the cases are registered before
   the clock starts — the row says so — and the targets are read on these rows), on SQLite (a file under
   ``OUT/register``: WAL, ``synchronous=FULL``) and on PostgreSQL (a database of its own on the server of
   ``WAREXEMPT_TEST_PG``, dropped after; the server's ``fsync`` and ``synchronous_commit`` are logged). Each writer
   is a fresh process (``spawn``: its imports are not timed) calling ``Register.append`` — the store's own path:
   read the case, replay it with the new event through the rules, commit — ``EVENTS`` times (full: 10,000, so 8
   writers append 80,000), every 20 events to a new case of its own (``add_case``, then a contract and 19
   petitions), so that histories stay the length of a real case's. An event counts once ``append`` returned. The
   clock runs from the moment all writers are ready to the last one's end. A run stops early at its time budget
   (``WAREXEMPT_BENCH_REGISTER_BUDGET`` seconds, default 60, quick 10; ``0``: no budget, the whole 80,000): the
   row then says how many events were acknowledged in how long. Targets: ≥ 2,000 events/s with 8 writers on
   SQLite, ≥ 5,000 on PostgreSQL, read on the grouped rows (1 writer, and single events: reported, no target).
2. **the time to recompute the status of 100,000 registered cases** of 4 events each (quick: 10,000) through the
   rules path: ``Register.recompute()`` (read every case and event, ``rules.engine.evaluate`` on them in spans of
   12,500 cases, write each case's derivation back: its status, or only its law, seq and day when the status came
   out as cached) after a change of the law: before each timed run every cached status is marked as derived under
   another law (``law_changed``, untimed), so every case is stale and every row is written again — a recompute
   that finds a cache already up to date writes nothing, and is not what is timed. Two rows: a law change that
   leaves the answers as they were (each row gets its law, seq and day), and one that changes every answer (each
   cached status marked as another answer: each row is stored whole).
   The cases are filled by bulk ``INSERT``s straight into the ``cases`` and ``events`` tables (the import path
   stores each case in its own statements with its audit rows: 100,000 cases would take it many minutes), with no
   cached status; the first recompute derives them all (reported on a row of its own, no target). Target: under
   2 s, on SQLite and on PostgreSQL, on both rows; each row gives this process's CPU time beside the wall time
   (PostgreSQL's own work runs in the server's process).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulk import Target, limit_ratio, rows_label, verdict

ORG = "bench"
START = dt.date(2024, 5, 1)
EVENTS = 10_000  # per writer (full)
QUICK_EVENTS = 200
PER_CASE = 20  # events per writer's case before it opens a new one
WRITERS = (1, 8)
WARM = 1  # events each writer appends before the clock (its warm-up)
BATCH = 100  # events per grouped append (``Register.append_batch``): 5 cases' 20 events each
# the targets are for grouped appends (batch > 1); single-event appends are reported beside them, without a target
TARGET_EVENTS_S = {("sqlite", 8): 2_000.0, ("postgresql", 8): 5_000.0}
RECOMPUTE_CASES = 100_000
QUICK_RECOMPUTE_CASES = 10_000
RECOMPUTE_MAX_S = 2.0
BUDGET_ENV = "WAREXEMPT_BENCH_REGISTER_BUDGET"
PG_ENV = "WAREXEMPT_TEST_PG"
SPAWN = multiprocessing.get_context("spawn")


def budget(quick: bool) -> float:
    """Seconds one throughput run may take (0: none)."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    return float(raw) if raw else (10.0 if quick else 60.0)


# ------------------------------------------------------------------------------------------------------------
# databases
# ------------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def pg_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the server of ``admin_url``, dropped afterwards."""
    import sqlalchemy as sa

    name = f"wx_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def database(backend: str, out: Path) -> Iterator[str]:
    """An empty database of ``backend`` with the register's schema and the organisation ``ORG``."""
    from warexempt.register import people
    from warexempt.register.store import Register

    if backend == "sqlite":
        folder = out / "register"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
        try:
            url = f"sqlite:///{path}"
            with Register.open(url) as reg:
                people.create_org(reg, ORG)
            yield url
        finally:
            for extra in ("", "-wal", "-shm"):
                path.with_name(path.name + extra).unlink(missing_ok=True)
        return
    with pg_database(os.environ[PG_ENV]) as url:
        with Register.open(url) as reg:
            people.create_org(reg, ORG)
        yield url


def pg_settings(url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = {k: conn.exec_driver_sql(f"SHOW {k}").scalar() for k in ("fsync", "synchronous_commit")}
    engine.dispose()
    return ", ".join(f"{k}={v}" for k, v in found.items())


# ------------------------------------------------------------------------------------------------------------
# throughput: writer processes
# ------------------------------------------------------------------------------------------------------------
def open_cases(reg: Any, actor: Any, labels: list[str]) -> None:
    """Register the cases ``labels`` (no events yet) in one audited transaction, their statuses judged in one
    engine call: the grouped writers' cases, made before the clock starts."""
    from warexempt.lifecycle.step import statuses
    from warexempt.register import audit
    from warexempt.register.store import parse_case, store_new_case

    cases = [parse_case(label, ["158:3:в"], "pre_trial", None, None, ()) for label in labels]
    found = statuses([c.model_copy(update={"as_of": dt.date.today()}) for c in cases], reg.law)
    with reg.write() as conn:
        chain = audit.Chain.open(conn, actor.org_id)
        for case, status in zip(cases, found, strict=True):
            store_new_case(conn, chain, actor, case, False, None, reg.law, status)
        chain.flush()


def event_of(w: int, i: int) -> tuple[str, dict[str, str]]:
    """The ``i``-th event of writer ``w``: case ``w{w}-{i // PER_CASE}``, a contract, then petitions."""
    k = i % PER_CASE
    kind = "contract_signed" if k == 0 else "command_petition"
    return f"w{w}-{i // PER_CASE}", {
        "id": f"e{k + 1}",
        "date": (START + dt.timedelta(days=k)).isoformat(),
        "kind": kind,
    }


def writer(url: str, w: int, n: int, batch: int, deadline_after: float, ready: Any, go: Any, results: Any) -> None:
    """One writer process: open the register, say it is ready, wait for the start, then append up to ``n`` events
    (stopping once ``deadline_after`` seconds have passed, if not 0); report (writer, acknowledged, seconds,
    warm-up events). ``batch`` 1: one ``Register.append`` per event, each case opened by ``add_case`` on the clock;
    else ``Register.append_batch`` of ``batch`` events at a time, the cases registered before the clock starts.
    Before the clock, one event is appended the same way to a case of its own (``WARM`` events per writer, counted
    apart): a process's first write pays for compiling the law and the statements, not for the write."""
    from warexempt.register.store import Register

    with Register.open(url, migrate=False) as reg:
        actor = reg.local(ORG)
        reg.add_case(actor, f"warm-{w}", ["158:3:в"], "pre_trial")
        warm = {"id": "e1", "date": START.isoformat(), "kind": "contract_signed"}
        if batch > 1:
            reg.append_batch(actor, [(f"warm-{w}", warm)])
        else:
            reg.append(actor, f"warm-{w}", warm)
        if batch > 1:
            for lo in range(0, n, 100 * PER_CASE):
                open_cases(
                    reg,
                    actor,
                    [f"w{w}-{c}" for c in range(lo // PER_CASE, -(-min(n, lo + 100 * PER_CASE) // PER_CASE))],
                )
            ready.put(w)
            go.wait()
            t0 = time.perf_counter()
            done = 0
            for lo in range(0, n, batch):
                if deadline_after and time.perf_counter() - t0 > deadline_after:
                    break
                chunk = [event_of(w, i) for i in range(lo, min(n, lo + batch))]
                reg.append_batch(actor, chunk)
                done += len(chunk)
            results.put((w, done, time.perf_counter() - t0, WARM))
            return
        ready.put(w)
        go.wait()
        t0 = time.perf_counter()
        done = 0
        for i in range(n):
            if deadline_after and time.perf_counter() - t0 > deadline_after:
                break
            label, event = event_of(w, i)
            if i % PER_CASE == 0:
                reg.add_case(actor, label, ["158:3:в"], "pre_trial")
            reg.append(actor, label, event)
            done += 1
        results.put((w, done, time.perf_counter() - t0, WARM))


@dataclass
class Throughput:
    writers: int
    batch: int
    planned: int
    acked: int
    wall: float
    stopped: bool  # at the budget
    error: str = ""
    warm: int = 0  # events appended before the clock (each writer's warm-up), in the database but not counted

    @property
    def rate(self) -> float:
        return self.acked / self.wall if self.wall > 0 else 0.0


def throughput(url: str, writers: int, n: int, batch: int, limit: float) -> Throughput:
    """``writers`` processes × up to ``n`` appends each (``batch`` at a time); acknowledged events, wall time."""
    ready, results, go = SPAWN.Queue(), SPAWN.Queue(), SPAWN.Event()
    procs = [SPAWN.Process(target=writer, args=(url, w, n, batch, limit, ready, go, results)) for w in range(writers)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=300)
        t0 = time.perf_counter()
        go.set()
        got = [results.get(timeout=(limit or 36_000) + 120) for _ in procs]
        wall = time.perf_counter() - t0
    except queue.Empty:
        for p in procs:
            p.kill()
        codes = [p.exitcode for p in procs]
        return Throughput(writers, batch, writers * n, 0, 0.0, False, f"a writer did not report (exit codes {codes})")
    for p in procs:
        p.join(60)
    acked = sum(g[1] for g in got)
    return Throughput(writers, batch, writers * n, acked, wall, acked < writers * n, warm=sum(g[3] for g in got))


def stored_events(url: str) -> int:
    import sqlalchemy as sa

    from warexempt.register import db
    from warexempt.register.models import EVENTS

    engine = db.make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(EVENTS)).scalar_one()
    engine.dispose()
    return int(n)


def throughput_rows(quick: bool, out: Path, log: Callable[[str], None]) -> list[Target]:
    n = QUICK_EVENTS if quick else EVENTS
    limit = budget(quick)
    rows: list[Target] = []
    for backend in ("sqlite", "postgresql"):
        name = "SQLite" if backend == "sqlite" else "PostgreSQL"
        if backend == "postgresql" and not os.environ.get(PG_ENV):
            for batch in (1, BATCH):
                for w in WRITERS:
                    target = TARGET_EVENTS_S.get((backend, w)) if batch > 1 else None
                    rows.append(
                        Target(
                            f"register: acknowledged durable events/s, {kind_label(w, batch)}, {name}",
                            "-",
                            "-" if target is None else f"≥ {target:,.0f}/s",
                            "-",
                            f"skipped: no PostgreSQL ({PG_ENV} is not set)",
                        )
                    )
            continue
        for batch in (1, BATCH):
            for w in WRITERS:
                with database(backend, out) as url:
                    if backend == "postgresql":
                        log(f"register: PostgreSQL {pg_settings(url)}")
                    log(f"register: {w} writer(s) × {n:,} events, batches of {batch}, on {name} (budget {limit:g} s)")
                    run = throughput(url, w, n, batch, limit)
                    in_db = stored_events(url) if not run.error else 0
                rows.append(throughput_row(backend, name, run, in_db, log))
    return rows


def kind_label(writers: int, batch: int) -> str:
    """What a throughput row measures, in words: single-event appends, or grouped ones of ``batch`` events."""
    who = f"{writers} writer{'s' if writers > 1 else ''}"
    if batch == 1:
        return f"{who}, single-event appends (info)"
    return f"{who}, batches of {batch} (cases registered beforehand)"


def throughput_row(backend: str, name: str, run: Throughput, in_db: int, log: Callable[[str], None]) -> Target:
    target = TARGET_EVENTS_S.get((backend, run.writers)) if run.batch > 1 else None
    planned = f"{run.writers} × {rows_label(run.planned // run.writers)} events"
    row = Target(
        f"register: acknowledged durable events/s, {kind_label(run.writers, run.batch)}, {planned}, {name}",
        "-",
        "-" if target is None else f"≥ {target:,.0f}/s",
    )
    if run.error:
        row.figure, row.result = f"failed: {run.error}"[:160], "FAIL"
        log(f"!! register {name}: {run.error}")
        return row
    if in_db != run.acked + run.warm:
        row.figure, row.result = f"{run.acked:,} acknowledged (+ {run.warm} warm-up) but {in_db:,} stored", "FAIL"
        log(f"!! register {name}: {run.acked:,} events acknowledged + {run.warm} warm-up, {in_db:,} in the database")
        return row
    stop = f"; budget reached after {run.acked:,} events" if run.stopped else ""
    row.figure = f"{run.rate:,.0f}/s ({run.acked:,} in {run.wall:.1f} s{stop})"
    log(f"   {row.measure}: {row.figure}")
    if target is not None:
        row.ratio = f"{run.rate / target:.2f}× of target"
        row.result = verdict(run.rate >= target)
    return row


# ------------------------------------------------------------------------------------------------------------
# recompute
# ------------------------------------------------------------------------------------------------------------
CHARGES = ("158:3:в", "158:2:в", "228:2", "111:1", "161:1", "264.1:1", "105:1", "159:4")
LAST = (
    {"kind": "state_award", "award": "медаль «За отвагу»"},
    {"kind": "discharged", "ground": "health"},
    {"kind": "discharged", "ground": "other"},
    {"kind": "died"},
)


def populate(url: str, n: int) -> None:
    """``n`` cases of 4 events each (contract, petition, suspension, then an award, a discharge or a death), by
    bulk INSERTs into the store's tables, with no cached status (every case stale)."""
    import sqlalchemy as sa

    from warexempt.register import db
    from warexempt.register.models import CASES, EVENTS, ORGS

    engine = db.make_engine(url)
    when = dt.datetime.now(dt.UTC)
    fields = ("ground", "stage", "charge", "award")
    with engine.begin() as conn:
        org = conn.execute(sa.select(ORGS.c.id).where(ORGS.c.name == ORG)).scalar_one()
        first = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(CASES.c.id), 0))).scalar_one()) + 1
        for lo in range(0, n, 20_000):
            cases, events = [], []
            for i in range(lo, min(n, lo + 20_000)):
                cid = first + i
                d0 = START + dt.timedelta(days=i % 400)
                cases.append(
                    {
                        "id": cid,
                        "org_id": org,
                        "label": f"r-{i}",
                        "charges": CHARGES[i % len(CHARGES)],
                        "stage": "trial" if i % 5 == 0 else "pre_trial",
                        "offence_date": dt.date(2023, 11, 2),
                        "as_of": None,
                        "notes": None,
                        "created_at": when,
                        "created_by": "bench",
                        "seq": 4,
                    }
                )
                steps = [{"kind": "contract_signed"}, {"kind": "command_petition"}, {"kind": "suspended"}]
                steps.append(LAST[i % len(LAST)])
                for seq, (step, gap) in enumerate(zip(steps, (0, 7, 20, 200), strict=True), 1):
                    events.append(
                        {
                            "case_id": cid,
                            "seq": seq,
                            "event_id": f"e{seq}",
                            "date": d0 + dt.timedelta(days=gap),
                            "kind": step["kind"],
                            **{k: step.get(k) for k in fields},
                            "supersedes": None,
                            "recorded_at": when,
                            "recorded_by": "bench",
                        }
                    )
            conn.execute(sa.insert(CASES), cases)
            conn.execute(sa.insert(EVENTS), events)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE cases")
            conn.exec_driver_sql("VACUUM ANALYZE events")
    engine.dispose()


def outcome_mix(reg: Any) -> str:
    """The cached outcomes after a recompute, counted (that the statuses are real answers, not one value)."""
    import sqlalchemy as sa

    from warexempt.register.models import CASES

    with reg.read() as conn:
        found = conn.execute(sa.select(CASES.c.outcome, sa.func.count()).group_by(CASES.c.outcome)).all()
    return ", ".join(f"{o} {c:,}" for o, c in sorted(found, key=lambda r: -r[1]))


def recompute_rows(quick: bool, out: Path, log: Callable[[str], None]) -> list[Target]:
    from warexempt.register.store import Register

    n = QUICK_RECOMPUTE_CASES if quick else RECOMPUTE_CASES
    rows: list[Target] = []
    for backend in ("sqlite", "postgresql"):
        name = "SQLite" if backend == "sqlite" else "PostgreSQL"
        row = Target(
            f"register: recompute {rows_label(n)} statuses (4 events each), {name}",
            "-",
            f"≤ {RECOMPUTE_MAX_S:g} s",
        )
        rows.append(row)
        if backend == "postgresql" and not os.environ.get(PG_ENV):
            row.result = f"skipped: no PostgreSQL ({PG_ENV} is not set)"
            continue
        with database(backend, out) as url:
            t = time.perf_counter()
            populate(url, n)
            log(
                f"register: {n:,} cases and {4 * n:,} events bulk-inserted into {name} in {time.perf_counter() - t:.1f} s"
            )
            with Register.open(url) as reg:
                # the first derivation (no cached status at all): also the warm-up (the compiled law, the
                # connection, the tables in cache); reported, not the target's figure
                t, c = time.perf_counter(), time.process_time()
                first = reg.recompute()
                first_s, first_cpu = time.perf_counter() - t, time.process_time() - c
                runs = {answers: timed_recomputes(reg, 1 if quick else 3, answers) for answers in (False, True)}
                outcomes = outcome_mix(reg)
        log(
            f"   register: first derivation of {n:,} statuses (no cache) on {name}: {first_s:.2f} s "
            f"(this process's CPU {first_cpu:.2f} s), {first.recomputed:,} recomputed"
        )
        every = Target(
            f"register: recompute {rows_label(n)} statuses, every answer changed (each row stored whole), {name}",
            "-",
            f"≤ {RECOMPUTE_MAX_S:g} s",
        )
        rows.append(every)
        for target, (times, cpu, report) in zip((row, every), runs.values(), strict=True):
            best = min(times)
            if report.recomputed != n or first.recomputed != n:
                target.figure, target.result = f"{report.recomputed:,} of {n:,} recomputed", "FAIL"
                continue
            target.figure = f"{best:.2f} s (best of {len(times)}; {n / best:,.0f} cases/s; CPU here {min(cpu):.2f} s)"
            target.ratio, target.result = limit_ratio(best, RECOMPUTE_MAX_S), verdict(best <= RECOMPUTE_MAX_S)
            log(f"   {target.measure}: {target.figure}; outcomes seen: {outcomes}")
        rows.append(
            Target(
                f"register: first derivation of {rows_label(n)} statuses (no cached status; info), {name}",
                f"{first_s:.2f} s (CPU here {first_cpu:.2f} s)",
            )
        )
    return rows


def timed_recomputes(reg: Any, runs: int, answers: bool) -> tuple[list[float], list[float], Any]:
    """``runs`` recomputes, each after ``law_changed(reg, answers)`` (untimed): their wall and CPU times, and the
    last one's report."""
    times, cpu, report = [], [], None
    for _ in range(runs):
        law_changed(reg, answers)
        t, c = time.perf_counter(), time.process_time()
        report = reg.recompute()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return times, cpu, report


EARLIER_LAW = "an earlier law"  # not a fingerprint any law has (they are hex digests)
EARLIER_ANSWER = "an earlier answer"  # not the digest of any status (they are hex digests)


def law_changed(reg: Any, answers: bool = False) -> None:
    """Make every cached status stale as a change of the law files does: the statuses stay, but they were derived
    under another law's fingerprint, so a recompute must judge every case again and write every row — only its law,
    seq and day where the answer came out as cached; with ``answers``, as after a change that alters every case's
    answer (each cached digest is one no status has), so that each row is stored whole (untimed; PostgreSQL is
    vacuumed after it, as autovacuum would be between two law changes)."""
    import sqlalchemy as sa

    from warexempt.register.models import CASES

    stale = {"status_law": EARLIER_LAW, **({"status_digest": EARLIER_ANSWER} if answers else {})}
    with reg.engine.begin() as conn:
        conn.execute(sa.update(CASES).values(**stale))
    if reg.engine.dialect.name == "postgresql":
        with reg.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE cases")


def section(quick: bool, out: Path, log: Callable[[str], None]) -> list[Target]:
    rows: list[Target] = []
    for bench in (throughput_rows, recompute_rows):
        try:
            rows += bench(quick, out, log)
        except Exception as exc:  # a benchmark, not a test: the row says FAIL and the others still run
            log(f"!! register: {bench.__name__} failed: {type(exc).__name__}: {exc}")
            rows.append(
                Target(f"register: {bench.__name__}", f"error: {type(exc).__name__}: {exc}"[:160], result="FAIL")
            )
    return rows
