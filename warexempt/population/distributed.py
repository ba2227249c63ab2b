"""A bulk run on a Dask cluster (``warexempt bulk --dask local[:N]`` or ``--dask tcp://HOST:PORT``).

The file is cut into parts of rows as for a run on one machine (``population.stream``), and each part is a partition
of a ``dask.dataframe`` made by ``from_map`` with an explicit ``meta``: the partition function reads its rows (a
slice of the Parquet file: only the row groups it needs) and, with an events file, only its own cases' events, and
decides them with ``stream.decide_chunk`` — the one function a run on one machine uses. A partition's value is one
row: the part's decisions, errors and events-file errors as Arrow IPC bytes, and its counts. This process takes the
partitions back in the file's order, a few at a time (so memory stays bounded on both sides), and appends them to
the output exactly as a local run does; so the output equals the local one row for row.

A CSV file is read here once (its rows must be counted to be numbered) and its readable rows written to a temporary
Parquet file beside the output, which the workers read. The workers must see the input (and that folder) at the same
path: true of ``local``; for a remote scheduler, a shared file system.

``local`` starts a ``distributed.LocalCluster`` of N worker processes (default 2), one thread each (Polars too:
the workers share the machine's cores), and stops it at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import re
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from warexempt._marks import N_
from warexempt.law.tables import LawTables
from warexempt.population.events import scan_events
from warexempt.population.source import read_cases
from warexempt.population.stream import Chunk, Plan, decide_chunk

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


@contextlib.contextmanager
def cluster(address: str) -> Iterator[Client]:
    """A client of the cluster ``--dask`` names: a LocalCluster started (and stopped) here, or a scheduler's."""
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
        local = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # (a free port: never one another cluster holds)
            silence_logs=logging.ERROR,
            env={"POLARS_MAX_THREADS": "1"},  # one thread a worker: the workers share the cores with each other
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
    output's kind, the whole file's repeated ids and the events file."""

    path: str
    offset: int
    rows: int
    as_of: dt.date
    parquet: bool
    ignore_extra_columns: bool
    repeated: tuple[str, ...]
    events: str | None


META_COLUMNS = ("decisions", "found", "event_errors", "event_lines", "rows", "bad")


def meta() -> pd.DataFrame:
    """The partitions' schema: one row per part, its frames as Arrow IPC bytes (an Arrow binary type: Dask reads
    ``object`` columns as text)."""
    import pandas as pd
    import pyarrow as pa

    return pd.DataFrame(
        {
            **{c: pd.Series([], dtype=pd.ArrowDtype(pa.large_binary())) for c in META_COLUMNS[:4]},
            "rows": pd.Series([], dtype="int64"),
            "bad": pd.Series([], dtype="int64"),
        }
    )


def decide_partition(p: Partition) -> pd.DataFrame:
    """On a worker: one part read and decided by ``stream.decide_chunk``, as one row of ``meta``."""
    import pandas as pd

    from warexempt.law.catalog import bundled_law
    from warexempt.law.tables import tables

    t = tables(bundled_law())  # (once per worker process: the law is cached)
    events = scan_events(Path(p.events)) if p.events is not None else None
    cases = read_cases(Path(p.path), ignore_extra_columns=p.ignore_extra_columns, with_events=events is not None)
    repeated = pl.Series("case_id", list(p.repeated), dtype=pl.String)
    chunk = decide_chunk(cases.frame, p.offset, p.rows, t, p.as_of, parquet=p.parquet, repeated=repeated, events=events)
    lines = None if chunk.event_lines is None else chunk.event_lines.astype(np.int64).tobytes()
    row = {
        "decisions": [_ipc(chunk.decisions)],
        "found": [_ipc(chunk.found)],
        "event_errors": [_ipc(chunk.event_errors)],
        "event_lines": [lines],
        "rows": [chunk.rows],
        "bad": [chunk.bad],
    }
    return pd.DataFrame(row).astype(meta().dtypes.to_dict())


def _ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="lz4")  # (a fifth of the bytes to send; lz4 unpacks at memory speed)
    return buffer.getvalue()


def _chunk(row: pd.DataFrame) -> Chunk:
    first = row.iloc[0]
    lines = first["event_lines"]
    return Chunk(
        decisions=pl.read_ipc(io.BytesIO(first["decisions"])),
        found=pl.read_ipc(io.BytesIO(first["found"])),
        event_errors=pl.read_ipc(io.BytesIO(first["event_errors"])),
        rows=int(first["rows"]),
        bad=int(first["bad"]),
        event_lines=np.frombuffer(lines, dtype=np.int64) if isinstance(lines, bytes) else None,
    )


def dask_chunks(address: str, in_flight: int = 0) -> Any:
    """The ``chunks`` of ``stream.run_in_parts`` on the cluster ``address``: the parts as partitions of a
    ``dask.dataframe`` (``from_map``, explicit ``meta``), taken back in the file's order with at most
    ``in_flight`` (default: twice the workers) being decided at once."""

    def chunks(plan: Plan, t: LawTables) -> Iterator[Chunk]:
        import dask.dataframe as dd

        with contextlib.ExitStack() as stack:
            client = stack.enter_context(cluster(address))
            source = plan.path
            if plan.path.suffix.lower() != ".parquet":  # read once here; the workers read its readable rows
                folder = Path(tempfile.mkdtemp(prefix=".warexempt-dask-", dir=_scratch(plan)))
                stack.callback(shutil.rmtree, folder, True)
                source = folder / "cases.parquet"
                plan.cases.frame.sink_parquet(source, row_group_size=min(plan.size, 1 << 20))
            parts = [
                Partition(
                    str(source),
                    offset,
                    plan.size,
                    plan.as_of,
                    plan.parquet,
                    plan.ignore_extra_columns,
                    tuple(plan.repeated.to_list()),
                    None if plan.events is None else str(plan.events),
                )
                for offset in plan.offsets
            ]
            frame = dd.from_map(  # type: ignore[no-untyped-call]
                decide_partition, parts, meta=meta(), enforce_metadata=False, label="warexempt-bulk"
            )
            delayed = frame.to_delayed()
            window = in_flight or 2 * max(len(client.nthreads()), 1)  # type: ignore[no-untyped-call]
            pending: deque[Any] = deque()
            submitted = 0
            while submitted < len(delayed) or pending:
                while submitted < len(delayed) and len(pending) < window:
                    pending.append(client.compute(delayed[submitted]))  # type: ignore[no-untyped-call]
                    submitted += 1
                yield _chunk(pending.popleft().result())

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
