"""A bulk run's files, written so that no one ever reads a half-written, spliced or mismatched set.

A run writes three files: the decisions (``-o OUTPUT``), the errors (``--errors``, default ``OUTPUT.errors.csv``)
and a manifest (``--manifest``, default ``OUTPUT.manifest.json``), OUTPUT being the output's name without its suffix.

How a run (``BulkRun``) goes:

1. Before the input is read: the output, errors and manifest paths must differ from the input, from each other and
   from the lock file (compared as resolved paths, and as the same file for hard links); their folders must exist
   and be writable (a file is made there and removed); and an existing file is not overwritten unless ``force``.
2. The run holds an exclusive lock from start to end: ``fcntl.flock`` (non-blocking) on ``OUTPUT.lock`` beside the
   output, which holds the run's pid. A second run on the same output stops at once ("another warexempt bulk run is
   writing OUTPUT (pid N)"), so two runs never write into one set. The kernel drops the lock however the process
   ends, so a killed run never blocks the next; a run removes the lock file when it ends.
3. Every file is written under a temporary name of its own, in the folder of the file it becomes:
   ``NAME.<pid>-<random>.tmp``, made (empty) as the run starts. Nothing is written under a real name before the
   commit.
4. The commit: the old manifest is removed, the decisions and then the errors are renamed to their names, and the
   manifest is written (under its temporary name, then renamed) last.
5. SIGINT (Ctrl-C), SIGTERM or SIGHUP before the commit: the temporary files are removed, the earlier files stay
   as they were, and the process exits 130, 143 or 129 with one line on stderr. The signal is acted on at once, even
   while Polars is busy (a watcher thread woken by ``signal.set_wakeup_fd``), not when the current query ends. A
   signal during the commit lets the commit finish first (its few renames). A signal already ignored (``nohup``)
   stays ignored.

A complete set: a manifest naming these decisions and errors files, with their sizes, and not older than either
(``check_set``). A run killed outright (SIGKILL, a crash) after renaming its decisions and before writing its manifest
leaves a stale set, which ``check_set`` detects: no manifest (the old one was removed first), decisions or errors newer
than the manifest, or a manifest naming other files or sizes. The next run refuses to overwrite a stale set, as any
existing output, and says so; under ``--force`` it is simply overwritten by a new complete set. The temporary files of
a killed run (their pid no longer running) are removed by the next run on the same output, under its lock.

The manifest (JSON): ``manifest_version``; ``input_path`` (resolved) and ``input_sha256``; ``rows_read``,
``rows_decided``, ``rows_with_errors``; ``as_of``; ``law_fingerprint`` (``law_fingerprint()``); ``warexempt_version``;
``seconds`` taken, ``started_at`` and ``finished_at`` (UTC); ``decisions`` and ``errors``, the files' paths from the
manifest's folder, with ``decisions_bytes`` and ``errors_bytes``.

Not covered: a power cut (the files are not fsync'ed), and a writer that ignores the lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import polars as pl

__all__ = [
    "Appender",
    "BulkRun",
    "OutputError",
    "Targets",
    "check_set",
    "is_parquet",
    "law_fingerprint",
    "sha256_of",
    "write",
]

MANIFEST_VERSION = 1
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # exit 130, 143, 129 (a closed terminal)
_DEBRIS = r"\.(\d+)-[0-9a-f]{8}\.(?:tmp|partial)"

# Temporary name -> the file it becomes: the files being written now, removed on a signal. ``write`` writes a staged
# name in place (the run renames it at its commit), and any other path through a temporary name of its own.
STAGED: dict[Path, Path] = {}
_COMMIT = threading.Lock()  # held by a commit; a signal's clean-up waits for it


class OutputError(Exception):
    """A run's files cannot be set up (same paths, no folder, existing files, another run): a one-line message."""


def law_fingerprint() -> str:
    """The law the decisions come from, as one hash of every law file (``Law.fingerprint``)."""
    from warexempt.law.catalog import bundled_law

    return bundled_law().fingerprint


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB blocks (hashlib releases the GIL: it runs beside Polars in a thread)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def temporary(path: Path, token: str | None = None, kind: str = "tmp") -> Path:
    return path.with_name(f"{path.name}.{token or _token()}.{kind}")


def _token() -> str:
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def is_parquet(path: Path) -> bool:
    """Whether ``path`` (a run's staged name, or any other) is written as Parquet: by its final file's suffix."""
    return (STAGED.get(path) or path).suffix.lower() == ".parquet"


def write(data: pl.DataFrame | pl.LazyFrame, path: Path) -> None:
    """Write decisions or errors as Parquet or CSV by the (final) file's suffix.

    A run's staged name (``BulkRun``) is written in place: the run renames it at its commit. Any other path is
    streamed into a temporary folder of its own beside it and renamed at the end, so an interrupted write never
    leaves a half-written file under the real name; a failed one removes the folder, so that a write still under
    way in the query's own threads cannot leave a file behind either.
    """
    final = STAGED.get(path)
    folder = None if final is not None else temporary(path, kind="partial")
    target = path if folder is None else folder / path.name
    parquet = (final or path).suffix.lower() == ".parquet"
    if folder is not None:
        folder.mkdir()
        STAGED[target] = path
    try:
        if isinstance(data, pl.DataFrame) and parquet:  # already in memory (the errors): no query to stream
            data.write_parquet(target, compression="lz4")
        elif isinstance(data, pl.DataFrame):
            data.write_csv(target)
        elif parquet:
            data.sink_parquet(target, compression="lz4")
        else:
            data.sink_csv(target)
        if folder is not None:
            target.replace(path)
            folder.rmdir()
    except BaseException:
        if folder is not None:
            remove_folder(folder)
        else:
            target.unlink(missing_ok=True)
        raise
    finally:
        if folder is not None:
            STAGED.pop(target, None)


def remove_folder(folder: Path, tries: int = 100) -> None:
    """Remove a failed write's folder. A sink that failed can return while the query's writer thread still closes
    its file (Polars does not join it first), re-creating the file after a first removal: try again until it is gone
    (a second at most)."""
    for _ in range(tries):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.01)


class Staged:
    """A file written under a run's staged name in place (the run renames it at its commit), else into a temporary
    folder beside it and renamed once whole (``write``'s rule): the staging ``Appender`` and ``parts.Joiner`` share."""

    def __init__(self, path: Path) -> None:
        self.path = path
        final = STAGED.get(path)
        self.parquet = (final or path).suffix.lower() == ".parquet"
        self.folder = None if final is not None else temporary(path, kind="partial")
        self.target = path if self.folder is None else self.folder / path.name
        if self.folder is not None:
            self.folder.mkdir()
            STAGED[self.target] = path

    def abort(self) -> None:
        self.discard()

    def close(self) -> None:
        """Finish the file (``_finish``) and, outside a run, rename it to its name."""
        self.commit(self._finish)

    def _finish(self) -> None:
        raise NotImplementedError

    def commit(self, finish: Callable[[], None]) -> None:
        """``finish`` the file and, outside a run, rename it to its name; on any failure ``abort``."""
        try:
            finish()
            if self.folder is not None:
                self.target.replace(self.path)
                self.folder.rmdir()
        except BaseException:
            self.abort()
            raise
        finally:
            if self.folder is not None:
                STAGED.pop(self.target, None)

    def discard(self) -> None:
        """Remove what was written (the folder, or the staged file)."""
        if self.folder is not None:
            remove_folder(self.folder)
            STAGED.pop(self.target, None)
        else:
            self.target.unlink(missing_ok=True)


class Appender(Staged):
    """Decisions written part by part into one file, for a run larger than memory (``population.stream``): Parquet
    a row group or more per part (``pyarrow.parquet.ParquetWriter``), CSV its lines appended. The file reads back
    equal to one ``write`` of all parts (the same types: each part is cast to the first part's schema).

    As ``write``: a run's staged name is written in place (the run renames it at its commit); any other path is
    written into a temporary folder beside it and renamed by ``close``. ``abort`` removes what was written.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.schema: pl.Schema | None = None
        self._writer: Any = None
        self._arrow: Any = None
        self._csv: Any = None

    def add(self, part: pl.DataFrame) -> None:
        """Append one part's rows (the first part fixes the columns and their types)."""
        self.put(self.take(part))

    def take(self, part: pl.DataFrame) -> Any:
        """A part in the file's types, all the Polars work of ``add``: for Parquet an Arrow table, for CSV the
        frame. ``put`` then writes it."""
        if self.schema is None:
            self.schema = part.schema
        else:
            part = part.cast(dict(self.schema))  # type: ignore[arg-type]
        return part.to_arrow() if self.parquet else part

    def put(self, taken: Any) -> None:
        """Write what ``take`` made. For Parquet nothing here calls Polars, so it may run on another thread while
        Polars works on this one (two threads inside Polars at once can wait on each other for ever)."""
        if self.parquet:
            import pyarrow.parquet as pq

            if self._writer is None:
                self._arrow = taken.schema
                self._writer = pq.ParquetWriter(self.target, taken.schema, compression="lz4")
            self._writer.write_table(taken.cast(self._arrow))
        elif self._csv is None:
            self._csv = self.target.open("wb")
            taken.write_csv(self._csv)
        else:
            taken.write_csv(self._csv, include_header=False)

    def _finish(self) -> None:
        """The file finished (an empty run: its header only)."""
        if self.schema is None:
            raise ValueError("Appender.close before any part: the columns are not known")
        if self._writer is not None:
            self._writer.close()
        if self._csv is not None:
            self._csv.close()

    def abort(self) -> None:
        for handle in (self._writer, self._csv):
            with contextlib.suppress(Exception):
                if handle is not None:
                    handle.close()
        self.discard()


# ----------------------------------------------------------------------------------------------------------------
# The set of files
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Targets:
    """The files a run writes, and its lock."""

    decisions: Path
    errors: Path
    manifest: Path

    @classmethod
    def of(cls, output: Path, errors: Path | None = None, manifest: Path | None = None) -> Targets:
        """The defaults: ``OUTPUT.errors.csv`` and ``OUTPUT.manifest.json`` beside ``OUTPUT.parquet``/``.csv``."""
        return cls(
            output,
            errors or output.with_name(output.stem + ".errors.csv"),
            manifest or output.with_name(output.stem + ".manifest.json"),
        )

    @property
    def lock(self) -> Path:
        return self.decisions.with_name(self.decisions.stem + ".lock")

    def files(self) -> tuple[Path, Path, Path]:
        return self.decisions, self.errors, self.manifest


def _same(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # hard links; a file system that ignores case
    except OSError:
        return False


def _named(manifest: Path, name: object) -> Path | None:
    return (manifest.parent / name).resolve() if isinstance(name, str) else None


def check_set(decisions: Path, errors: Path, manifest: Path) -> str | None:
    """``None`` if the three files are one run's complete set; else what is wrong with them, in a few words.

    Complete: the manifest reads, names these decisions and errors files with their sizes, and is not older than
    either. A run killed between its renames and its manifest leaves no manifest (it removes the old one first).
    """
    if not manifest.is_file():
        return f"no manifest {manifest.name}"
    try:
        body = json.loads(manifest.read_text(encoding="utf-8"))
        named = {"decisions": body["decisions"], "errors": body["errors"]}
        sizes = {"decisions": body["decisions_bytes"], "errors": body["errors_bytes"]}
    except (OSError, ValueError, KeyError, TypeError):
        return f"the manifest {manifest.name} cannot be read"
    written = manifest.stat().st_mtime_ns
    for role, path in (("decisions", decisions), ("errors", errors)):
        if _named(manifest, named[role]) != path.resolve():
            return f"the manifest names other files ({role}: {named[role]})"
        if not path.is_file():
            return f"{path.name} is missing"
        stat = path.stat()
        if stat.st_mtime_ns > written:
            return f"{path.name} is newer than the manifest"
        if stat.st_size != sizes[role]:
            return f"{path.name} is not the size the manifest gives"
    return None


class _Lock:
    """``fcntl.flock`` on a lock file holding the owner's pid, taken without waiting."""

    def __init__(self, path: Path, what: Path) -> None:
        self.path, self.what = path, what
        self.fd: int | None = None

    def acquire(self) -> None:
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputError(f"cannot make the lock file {self.path} ({exc.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = self._holder(fd)
                os.close(fd)
                raise OutputError(
                    f"another warexempt bulk run is writing {self.what} (pid {pid or 'unknown'})"
                ) from None
            try:  # the file we locked may be one its last holder removed between our open and our lock
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self.fd = fd
            return
        raise OutputError(f"cannot take the lock {self.path}: it keeps being replaced")

    @staticmethod
    def _holder(fd: int) -> str:
        for _ in range(10):  # the holder writes its pid just after taking the lock
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            if text:
                return text
            time.sleep(0.01)
        return ""

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()  # while still held: the next run makes a new one
            os.close(self.fd)
            self.fd = None


class _SignalWatch:
    """SIGINT and SIGTERM acted on at once by a thread, even while the main thread is inside a Polars query.

    Python runs a signal handler in the main thread only once the running query returns; the C-level handler writes
    the signal's number to the wakeup fd at once, and this thread, waiting on it, calls ``act`` (which does not
    return). The Python handlers themselves do nothing (they only keep the C one installed).
    """

    def __init__(self, act: Callable[[int], None]) -> None:
        self.act = act
        self.installed = False

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals cannot be handled from here: the default behaviour stays
        self.read, self.write = os.pipe()
        os.set_blocking(self.write, False)
        self.thread = threading.Thread(target=self._wait, name="warexempt-signals", daemon=True)
        self.thread.start()
        self.old_fd = signal.set_wakeup_fd(self.write, warn_on_full_buffer=False)
        # a signal ignored already (nohup, a background job's SIGINT) stays ignored
        self.old = {s: signal.signal(s, _ignore) for s in _SIGNALS if signal.getsignal(s) != signal.SIG_IGN}
        self.installed = True

    def _wait(self) -> None:
        while True:
            try:
                got = os.read(self.read, 64)
            except OSError:
                return
            if not got:
                return
            for number in got:
                if number == 0:
                    return
                if number in _SIGNALS:
                    self.act(number)

    def uninstall(self) -> None:
        if not self.installed:
            return
        for s, handler in self.old.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(self.old_fd)
        os.write(self.write, b"\0")
        self.thread.join(timeout=5)
        os.close(self.read)
        os.close(self.write)
        self.installed = False


def _ignore(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler while a run is guarded: the watcher thread acts (see ``_SignalWatch``)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BulkRun:
    """One bulk run's files: checked, locked and staged on entry, renamed at ``commit``, cleaned up on exit.

    ::

        with BulkRun(infile, Targets.of(output), force=force) as run:
            result = run_bulk(infile, tables, day, run.staged.decisions)
            write(result.errors, run.staged.errors)
            run.commit(rows_read=..., rows_decided=..., rows_with_errors=..., as_of=day)

    Leaving the block without a commit (an error, ``typer.Exit``) removes the temporary files; the earlier files stay.
    """

    def __init__(self, infile: Path, targets: Targets, *, force: bool = False) -> None:
        self.infile, self.targets, self.force = infile, targets, force
        self.started = time.perf_counter()
        self.started_at = dt.datetime.now(dt.UTC)
        token = _token()
        self.staged = Targets(*(temporary(p, token) for p in targets.files()))
        self.committed = False
        self.manifest: dict[str, Any] = {}
        self._lock = _Lock(targets.lock, targets.decisions)
        self._watch = _SignalWatch(self._interrupted)
        self._digest: Future[str] = Future()

    # -- set-up ----------------------------------------------------------------------------------------------------
    def check(self) -> None:
        """The checks that need no lock: distinct paths, folders that exist and can be written."""
        t = self.targets
        labels = [("the input", self.infile), ("-o", t.decisions), ("--errors", t.errors), ("--manifest", t.manifest)]
        labels.append(("the lock file", t.lock))
        for i, (a, pa) in enumerate(labels):
            for b, pb in labels[i + 1 :]:
                if not _same(pa, pb):
                    continue
                if i == 0:
                    raise OutputError(f"{b} {pb} is the input file; give it another name")
                raise OutputError(f"{a} {pa} and {b} {pb} are the same file; give them different names")
        for folder in dict.fromkeys(p.parent for p in t.files()):
            if not folder.is_dir():
                raise OutputError(f"{folder}: no such folder")
            try:
                with tempfile.TemporaryFile(dir=folder, prefix=".warexempt-probe-"):
                    pass
            except OSError as exc:
                raise OutputError(f"{folder}: cannot write there ({exc.strerror})") from None
        for p in t.files():
            if p.is_dir():
                raise OutputError(f"{p}: is a folder")

    def _existing(self) -> None:
        t = self.targets
        there = [p for p in t.files() if p.exists()]
        if not there or self.force:
            return
        stale = check_set(*t.files()) if t.decisions.exists() or t.errors.exists() else "no decisions"
        why = f"; they are an incomplete set ({stale})" if stale else ""
        names = ", ".join(str(p) for p in there)
        verb = "exists" if len(there) == 1 else "exist"
        raise OutputError(f"{names} already {verb}{why}; use --force to overwrite")

    def _clear_debris(self) -> None:
        """Temporary files a killed run left for these names (its pid no longer running); we hold the lock."""
        for p in self.targets.files():
            pattern = re.compile(re.escape(p.name) + _DEBRIS + "$")
            with contextlib.suppress(OSError):
                for found in p.parent.iterdir():
                    m = pattern.match(found.name)
                    if m and not _alive(int(m.group(1))):
                        found.unlink(missing_ok=True)

    def __enter__(self) -> BulkRun:
        self.check()
        self._watch.install()
        try:
            self._lock.acquire()
            self._existing()
            self._clear_debris()
        except BaseException:
            self._lock.release()
            self._watch.uninstall()
            raise
        for tmp, final in zip(self.staged.files(), self.targets.files(), strict=True):
            STAGED[tmp] = final
        try:  # made at once, empty: the names are taken, and each folder is shown to take a new file
            for tmp in self.staged.files():
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except OSError as exc:
            self.__exit__(None, None, None)
            raise OutputError(f"cannot make {exc.filename} ({exc.strerror})") from None
        threading.Thread(target=self._hash, name="warexempt-sha256", daemon=True).start()
        return self

    def _hash(self) -> None:
        try:
            self._digest.set_result(sha256_of(self.infile))
        except OSError as exc:
            self._digest.set_exception(exc)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        with _COMMIT:
            self._remove_staged(self.staged.files())
            self._lock.release()
        self._watch.uninstall()

    @staticmethod
    def _remove_staged(files: Iterable[Path]) -> None:
        for tmp in list(files):
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            STAGED.pop(tmp, None)

    def _interrupted(self, signum: int) -> None:
        """From the watcher thread: clean up and end the process (after a commit in progress)."""
        with _COMMIT:
            self._remove_staged(STAGED)  # this run's, and any other file being written now: the process ends
            self._lock.release()
            name = signal.Signals(signum).name
            if self.committed:
                said = f"interrupted ({name}) after the run's files were written"
            else:
                said = f"interrupted ({name}); nothing written to {self.targets.decisions}, temporary files removed"
            clear = "\r\x1b[2K\x1b[?25h" if os.isatty(2) else ""  # a progress bar's line, and the hidden cursor
            with contextlib.suppress(OSError):
                os.write(2, f"{clear}warexempt bulk: {said}\n".encode())
            os._exit(128 + signum)

    # -- the commit ------------------------------------------------------------------------------------------------
    def commit(self, *, rows_read: int, rows_decided: int, rows_with_errors: int, as_of: dt.date) -> dict[str, Any]:
        """Rename the staged decisions and errors to their names and write the manifest, last; return it."""
        try:
            digest = self._digest.result()
        except OSError as exc:
            raise OutputError(f"{self.infile}: cannot be read to take its SHA-256 ({exc.strerror})") from None
        fingerprint = law_fingerprint()
        from warexempt import __version__

        t, s = self.targets, self.staged
        with _COMMIT:
            t.manifest.unlink(missing_ok=True)  # from here to the new manifest the set reads as incomplete
            for tmp, final in ((s.decisions, t.decisions), (s.errors, t.errors)):
                tmp.replace(final)
                STAGED.pop(tmp, None)
            body = {
                "manifest_version": MANIFEST_VERSION,
                "input_path": str(self.infile.resolve()),
                "input_sha256": digest,
                "rows_read": rows_read,
                "rows_decided": rows_decided,
                "rows_with_errors": rows_with_errors,
                "as_of": as_of.isoformat(),
                "law_fingerprint": fingerprint,
                "warexempt_version": __version__,
                "seconds": round(time.perf_counter() - self.started, 3),
                "started_at": self.started_at.isoformat(timespec="seconds"),
                "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "decisions": os.path.relpath(t.decisions.resolve(), t.manifest.resolve().parent),
                "errors": os.path.relpath(t.errors.resolve(), t.manifest.resolve().parent),
                "decisions_bytes": t.decisions.stat().st_size,
                "errors_bytes": t.errors.stat().st_size,
            }
            s.manifest.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
            s.manifest.replace(t.manifest)
            STAGED.pop(s.manifest, None)
            self.committed = True
        self.manifest = body
        return body
