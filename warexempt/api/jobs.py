"""Background ``/bulk`` jobs: an uploaded CSV or Parquet file decided by the CLI's own bulk runner.

Each job is a folder (``<root>/<id>/``) holding the upload, the decisions, the errors and the manifest, written by
``population.bulk.run_bulk`` and ``population.output.BulkRun`` exactly as ``warexempt bulk`` writes them (staged,
renamed at the end, the manifest last). One worker thread runs the jobs one after another: a 2-core machine gains
nothing from two million-row runs at once, and the API stays responsive meanwhile (Polars works outside the GIL).
The id is 128 random bits: knowing it is what lets one read the job.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from warexempt.law.catalog import Law, bundled_law
from warexempt.law.tables import tables

SUFFIXES = (".csv", ".parquet")


@dataclass
class Job:
    """One job's state, as ``GET /jobs/{id}`` shows it."""

    id: str
    folder: Path
    input: Path
    output: Path
    as_of: dt.date
    filename: str = "upload"  # the name the client gave (an error names it, never the server's folder)
    status: str = "queued"  # queued, running, done, failed
    step: str = "queued"
    done: int = 0
    total: int = 2
    rows_read: int | None = None
    rows_decided: int | None = None
    rows_with_errors: int | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    seconds: float | None = None

    @property
    def errors_file(self) -> Path:
        return self.output.with_name(self.output.stem + ".errors.csv")

    @property
    def manifest_file(self) -> Path:
        return self.output.with_name(self.output.stem + ".manifest.json")

    def view(self, base: str) -> dict[str, Any]:
        """The job as JSON: its state, progress and counts, and where its files are once it is done."""
        done = self.status == "done"
        return {
            "id": self.id,
            "status": self.status,
            "step": self.step,
            "progress": round(self.done / self.total, 3) if self.total else 0.0,
            "as_of": self.as_of.isoformat(),
            "rows_read": self.rows_read,
            "rows_decided": self.rows_decided,
            "rows_with_errors": self.rows_with_errors,
            "error": self.error,
            "seconds": self.seconds,
            "result": f"{base}/result" if done else None,
            "errors": f"{base}/errors" if done else None,
        }


class JobError(ValueError):
    """The upload cannot be a job (a file name that is not .csv or .parquet)."""


class Jobs:
    """The jobs of one app: their folders under ``root`` (a temporary folder unless given)."""

    def __init__(self, root: Path | None = None, law: Law | None = None, keep: int = 20) -> None:
        self.temporary = root is None  # a folder of its own: removed at close
        self.root = root or Path(tempfile.mkdtemp(prefix="warexempt-jobs-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.law = law or bundled_law()
        self.keep = keep
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warexempt-bulk")

    def submit(self, upload: BinaryIO, filename: str, as_of: dt.date, output_format: str | None = None) -> Job:
        """Save the upload in a new job folder and queue it; the output is of the input's format unless asked."""
        suffix = Path(filename or "").suffix.lower()
        if suffix not in SUFFIXES:
            raise JobError(filename)
        out_suffix = f".{output_format}" if output_format in ("csv", "parquet") else suffix
        job_id = uuid.uuid4().hex
        folder = self.root / job_id
        folder.mkdir()
        infile = folder / f"input{suffix}"
        with infile.open("wb") as fh:
            shutil.copyfileobj(upload, fh, 1 << 20)
        job = Job(job_id, folder, infile, folder / f"decisions{out_suffix}", as_of, Path(filename).name)
        with self._lock:
            self.jobs[job_id] = job
            self._forget_old()
        self._pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def _run(self, job: Job) -> None:
        from warexempt.population.bulk import BulkFileError, run_bulk
        from warexempt.population.output import BulkRun, OutputError, Targets, write

        started = time.perf_counter()
        job.status = "running"

        def progress(step: str, done: int, total: int) -> None:
            job.step, job.done, job.total = step, done, total

        try:
            with BulkRun(job.input, Targets.of(job.output)) as run:
                result = run_bulk(job.input, tables(self.law), job.as_of, run.staged.decisions, progress=progress)
                bad = result.rows - result.decided
                write(result.errors, run.staged.errors)
                run.commit(rows_read=result.rows, rows_decided=result.decided, rows_with_errors=bad, as_of=job.as_of)
            job.rows_read, job.rows_decided, job.rows_with_errors = result.rows, result.decided, bad
            job.status, job.step, job.done = "done", "done", job.total
        except (BulkFileError, OutputError, OSError) as exc:  # the file stops the run: the job says why
            job.status, job.error = "failed", str(exc).replace(str(job.input), job.filename)
        except Exception as exc:  # a job never takes the server down; the job says what broke
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}".replace(str(job.input), job.filename)
        finally:
            job.seconds = round(time.perf_counter() - started, 3)
            job.finished = time.time()

    def _forget_old(self) -> None:
        """Keep the newest ``keep`` finished jobs' folders; older ones are removed (the disk is not a store)."""
        finished = sorted((j for j in self.jobs.values() if j.finished), key=lambda j: j.created)
        for job in finished[: max(0, len(finished) - self.keep)]:
            self.jobs.pop(job.id, None)
            shutil.rmtree(job.folder, ignore_errors=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.temporary:
            shutil.rmtree(self.root, ignore_errors=True)
