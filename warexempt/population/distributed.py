"""A bulk run on a Dask cluster (``warexempt bulk --dask local[:N]`` or ``--dask tcp://HOST:PORT``).

The file is cut into parts of rows as for a run on one machine (``population.stream``), and each part is a partition
of a ``dask.dataframe`` made by ``from_map`` with an explicit ``meta``: the partition function reads its rows (a
slice of the Parquet file: only the row groups it needs) and, with an events file, only its own cases' events, and
decides them with ``stream.decide_chunk`` — the one function a run on one machine uses. The worker writes the
part's decisions to a file of its own in a temporary folder beside the output, exactly as a local run's
``output.Appender`` writes that part (``parts.write_part``), and counts them if asked. A partition's value is one
small row: the part file's name, its errors and events-file errors (Arrow IPC bytes), its counts. This process takes
the partitions back in the file's order, a few at a time, and joins the part files into the output without decoding
them (``parts.Joiner``: bytes copied, the Parquet footer rewritten); so the output equals the local one byte for
byte, and the decisions never pass through this process (which would do a quarter of the run's work on the same
cores: encoding the output).

A CSV file is read here once (its rows must be counted to be numbered) and its readable rows written to a temporary
Parquet file beside the output, which the workers read. The workers must see the input (and those folders) at the
same paths: true of ``local``; for a remote scheduler, a shared file system.

``local`` starts a ``distributed.LocalCluster`` of N worker processes (default 2), one thread each (Polars too:
the workers share the machine's cores), kept quiet (``_LOCAL_CONFIG``), and stops it at the end. The cluster starts
while this process finds the file's repeated ids (``stream.Plan``), and each worker loads the law meanwhile (``warm``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import pickle
import re
import secrets
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from warexempt._marks import N_
from warexempt.law.tables import LawTables
from warexempt.population.events import scan_events
from warexempt.population.parts import write_part
from warexempt.population.source import read_cases
from warexempt.population.stream import Chunk, Plan, decide_chunk, tally

if TYPE_CHECKING:
    import pandas as pd
    from distributed import Client

__all__ = ["DaskAddressError", "Partition", "cluster", "dask_chunks", "decide_partition", "parse_address"]

DEFAULT_WORKERS = 2
_LOCAL = re.compile(r"local(?::(\d+))?")
_TCP = re.compile(r"(tcp|tls)://[^\s:/]+:\d{1,5}")


class DaskAddressError(ValueError):
    """A ``--dask`` value that is neither ``local[:N]`` nor a scheduler's ``tcp://HOST:PORT``, or a cluster that
    cannot be reached or started: ``template`` (an English msgid) filled with ``values``, so the CLI can say it in
    the run's language."""

    def __init__(self, template: str, **values: str) -> None:
        self.template, self.values = template, values
        super().__init__(template.format(**values))


WRONG = N_(
    "--dask {value}: expected local, local:N (N worker processes on this machine) or tcp://HOST:PORT "
    "(a running Dask scheduler)"
)


def parse_address(text: str) -> tuple[str, int]:
    """``("local", N)`` or ``(address, 0)`` from a ``--dask`` value; a wrong one raises with what was expected."""
    value = text.strip()
    local = _LOCAL.fullmatch(value.lower())
    if local:
        workers = int(local.group(1) or DEFAULT_WORKERS)
        if not 1 <= workers <= 256:
            raise DaskAddressError(N_("--dask {value}: the number of workers must be 1 to 256"), value=repr(text))
        return "local", workers
    if _TCP.fullmatch(value):
        return value, 0
    raise DaskAddressError(WRONG, value=repr(text))


# A ``local`` cluster runs one job on the cores it decides on, so it is kept quiet: glibc's own malloc (see
# ``cluster``); no statistical profiler (a thread sampling the task's stack every 10 ms under the GIL), no dashboard,
# no work stealing (the parts are alike and queued: a free worker takes the next), and the event loops' health
# checks, system and memory monitors at a slower pace. Measured idle, the defaults cost 0.1 s of CPU a second
# across the client and two workers: on a shared two-core machine, a tenth of a core for the whole run.
_LOCAL_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.work-stealing": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.system-monitor.disk": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.client.scheduler-info-interval": "10s",
}


@contextlib.contextmanager
def cluster(address: str) -> Iterator[Client]:
    """A client of the cluster ``--dask`` names: a LocalCluster started (and stopped) here, or a scheduler's."""
    import dask
    from distributed import Client, LocalCluster

    where, workers = parse_address(address)
    if where != "local":
        try:
            client = Client(where, timeout="10s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise DaskAddressError(
                N_("--dask {value}: no Dask scheduler answers there ({reason})"), value=address, reason=str(exc)
            ) from None
        with client:
            yield client
        return
    try:
        # Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in their workers (to hand freed memory back at once);
        # that also stops glibc raising its mmap threshold, so every array of the engine's passes (megabytes
        # each) is mapped and faulted in afresh: a fifth more CPU per part, measured. A part's memory is bounded
        # (``stream.CHUNK_ROWS``), so the workers keep glibc's own behaviour, as the local run does.
        with dask.config.set(_LOCAL_CONFIG):
            local = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env={"POLARS_MAX_THREADS": "1"},  # one thread a worker: the workers share the cores
            )
    except Exception as exc:  # (processes that cannot start: any reason is the same answer)
        raise DaskAddressError(
            N_("--dask {value}: the local Dask cluster did not start ({reason})"), value=address, reason=str(exc)
        ) from None
    with local, Client(local) as client:  # type: ignore[no-untyped-call]
        yield client


@dataclass(frozen=True)
class Partition:
    """What a worker needs to decide one part: the file (as ``read_cases`` reads it), its rows, the day, the
    output's kind, the whole file's repeated ids, the events file, the folder the worker writes its part of the
    decisions to (``None``: no decisions written), whether to count them, and (rarely: a part whose columns came
    out in other types than the first part's) the first part's schema to cast them to, as ``Appender`` does."""

    path: str
    offset: int
    rows: int
    as_of: dt.date
    parquet: bool
    ignore_extra_columns: bool
    repeated: tuple[str, ...]
    events: str | None
    folder: str | None = None
    count: bool = False
    cast: bytes | None = None  # (pickled ``pl.Schema``)


META_COLUMNS = ("found", "event_errors", "event_lines", "tally", "schema", "written", "rows", "bad")


def meta() -> pd.DataFrame:
    """The partitions' schema: one row per part: its errors, events-file errors and counts as Arrow IPC bytes (an
    Arrow binary type: Dask reads ``object`` columns as text), the decisions' schema (pickled), the part file the
    worker wrote, the rows checked and set aside. The decisions themselves stay on the worker's disk."""
    import pandas as pd
    import pyarrow as pa

    binary = pd.ArrowDtype(pa.large_binary())
    return pd.DataFrame(
        {
            **{c: pd.Series([], dtype=binary) for c in META_COLUMNS[:5]},
            "written": pd.Series([], dtype=pd.ArrowDtype(pa.large_string())),
            "rows": pd.Series([], dtype="int64"),
            "bad": pd.Series([], dtype="int64"),
        }
    )


def warm() -> None:
    """On a worker, while this process still finds the file's repeated ids: the rules imported and the law's
    tables built (``tables`` caches them), so that the first part does not wait for them."""
    from warexempt.law.catalog import bundled_law
    from warexempt.law.tables import tables
    from warexempt.population import bulk  # noqa: F401  (the rules path)

    tables(bundled_law())


def decide_partition(p: Partition) -> pd.DataFrame:
    """On a worker: one part read and decided by ``stream.decide_chunk``, its decisions written to a part file
    (``parts.write_part``) and counted here, returned as one row of ``meta``."""
    import pandas as pd

    from warexempt.law.catalog import bundled_law
    from warexempt.law.tables import tables

    t = tables(bundled_law())  # (once per worker process: the law is cached)
    events = scan_events(Path(p.events)) if p.events is not None else None
    cases = read_cases(Path(p.path), ignore_extra_columns=p.ignore_extra_columns, with_events=events is not None)
    repeated = pl.Series("case_id", list(p.repeated), dtype=pl.String)
    chunk = decide_chunk(cases.frame, p.offset, p.rows, t, p.as_of, parquet=p.parquet, repeated=repeated, events=events)
    decisions = chunk.decisions
    assert decisions is not None
    if p.cast is not None:
        decisions = decisions.cast(dict(pickle.loads(p.cast)))
    written = None
    if p.folder is not None:
        name = f"part-{p.offset:015d}-{secrets.token_hex(4)}{'.parquet' if p.parquet else '.csv'}"
        written = str(Path(p.folder) / name)
        write_part(decisions, Path(written), parquet=p.parquet, header=p.offset == 0)
    lines = None if chunk.event_lines is None else chunk.event_lines.astype(np.int64).tobytes()
    row = {
        "found": [_ipc(chunk.found)],
        "event_errors": [_ipc(chunk.event_errors)],
        "event_lines": [lines],
        "tally": [_ipc(tally(decisions)) if p.count else None],
        "schema": [pickle.dumps(decisions.schema)],
        "written": [written],
        "rows": [chunk.rows],
        "bad": [chunk.bad],
    }
    return pd.DataFrame(row).astype(meta().dtypes.to_dict())


def _ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    return buffer.getvalue()


def _chunk(row: pd.DataFrame) -> tuple[Chunk, pl.Schema]:
    first = row.iloc[0]
    lines, counted, written = first["event_lines"], first["tally"], first["written"]
    chunk = Chunk(
        decisions=None,
        found=pl.read_ipc(io.BytesIO(first["found"])),
        event_errors=pl.read_ipc(io.BytesIO(first["event_errors"])),
        rows=int(first["rows"]),
        bad=int(first["bad"]),
        event_lines=np.frombuffer(lines, dtype=np.int64) if isinstance(lines, bytes) else None,
        written=Path(written) if isinstance(written, str) else None,
        tally=pl.read_ipc(io.BytesIO(counted)) if isinstance(counted, bytes) else None,
    )
    return chunk, pickle.loads(first["schema"])


def dask_chunks(address: str, in_flight: int = 0) -> Any:
    """The ``chunks`` of ``stream.run_in_parts`` on the cluster ``address``: the parts as partitions of a
    ``dask.dataframe`` (``from_map``, explicit ``meta``), taken back in the file's order with at most
    ``in_flight`` (default: four times the workers) being decided or waiting at once. Each worker writes its
    part's decisions into a temporary folder beside the output, which ``run_in_parts`` joins (``parts.Joiner``)."""

    def chunks(plan: Plan, t: LawTables) -> Iterator[Chunk]:
        import dask.dataframe as dd

        with contextlib.ExitStack() as stack:
            client = stack.enter_context(cluster(address))
            warming = [  # (held: a future let go is a task cancelled)
                client.submit(warm, workers=[worker], pure=False)
                for worker in client.nthreads()  # type: ignore[no-untyped-call]
            ]
            source = plan.path
            if plan.path.suffix.lower() != ".parquet":  # read once here; the workers read its readable rows
                folder = Path(tempfile.mkdtemp(prefix=".warexempt-dask-", dir=_scratch(plan)))
                stack.callback(shutil.rmtree, folder, True)
                source = folder / "cases.parquet"
                plan.cases.frame.sink_parquet(source, row_group_size=min(plan.size, 1 << 20))
            written = None
            if plan.output is not None:  # the workers' part files: beside the output (the same file system)
                written = tempfile.mkdtemp(prefix=".warexempt-dask-parts-", dir=plan.output.resolve().parent)
                stack.callback(shutil.rmtree, written, True)
            repeated = tuple(plan.repeated.to_list())  # (waits for them: found beside the cluster's start)
            parts = [
                Partition(
                    str(source),
                    offset,
                    plan.size,
                    plan.as_of,
                    plan.parquet,
                    plan.ignore_extra_columns,
                    repeated,
                    None if plan.events is None else str(plan.events),
                    written,
                    plan.count,
                )
                for offset in plan.offsets
            ]
            frame = dd.from_map(  # type: ignore[no-untyped-call]
                decide_partition, parts, meta=meta(), enforce_metadata=False, label="warexempt-bulk"
            )
            delayed = frame.to_delayed()
            window = in_flight or 4 * max(len(client.nthreads()), 1)  # type: ignore[no-untyped-call]
            pending: deque[Any] = deque()
            submitted = 0
            first: pl.Schema | None = None
            while submitted < len(delayed) or pending:
                while submitted < len(delayed) and len(pending) < window:
                    pending.append(client.compute(delayed[submitted]))  # type: ignore[no-untyped-call]
                    submitted += 1
                index = submitted - len(pending)
                chunk, schema = _chunk(pending.popleft().result())
                if first is None:
                    first = schema
                elif schema != first:  # (columns typed otherwise than the first part's: decided again, cast)
                    if chunk.written is not None:
                        chunk.written.unlink(missing_ok=True)
                    again = replace(parts[index], cast=pickle.dumps(first))
                    chunk, _ = _chunk(client.submit(decide_partition, again, pure=False).result())
                yield chunk
            del warming

    return chunks


def _scratch(plan: Plan) -> str | None:
    """Where a CSV's readable rows are written for the workers: beside the input (the workers see it), or, if that
    folder cannot be written, the system's temporary folder."""
    folder = plan.path.resolve().parent
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".warexempt-probe-"):
            return str(folder)
    except OSError:
        return None
