"""A bulk run's files: a manifest written last, no splicing, no half-written output, clean exits on signals.

The lock and the signals are tried on real child processes (``python -m warexempt.cli.app bulk``) running on a
generated Parquet file big enough to be caught mid-run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import warexempt
from warexempt.cli.app import app
from warexempt.population.output import Targets, check_set, law_fingerprint, write

runner = CliRunner()
CSV = """case_id,charges,stage,contract_date,petition_date,award_date,discharge_date,discharge_ground,death_date
1,158:3:в;228:2,pre_trial,2024-05-02,2024-05-10,2025-01-20,,,
2,275,trial,2024-11-05,2024-11-25,,,,
3,158:9,pre_trial,2024-05-02,,,,,
4,158:1,pre_trial,2024-05-02,2024-04-01
"""
OUT_FILES = ["out.parquet", "out.errors.csv", "out.manifest.json"]


def _bulk(*args: str | Path) -> tuple[int, str]:
    res = runner.invoke(app, ["bulk", *map(str, args), "--as-of", "2025-06-01"])
    return res.exit_code, res.output


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------------------
# The set and its manifest
# ------------------------------------------------------------------------------------------------------------
def test_a_run_writes_its_three_files_the_manifest_last_and_leaves_nothing_else(tmp_path, src):
    code, said = _bulk(src, "-o", tmp_path / "out.parquet")
    assert code == 0, said
    assert _names(tmp_path) == sorted(["in.csv", *OUT_FILES])  # no temporary file, no lock file
    manifest = json.loads((tmp_path / "out.manifest.json").read_text(encoding="utf-8"))
    assert manifest["input_path"] == str(src.resolve())
    assert manifest["input_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (manifest["rows_read"], manifest["rows_decided"], manifest["rows_with_errors"]) == (4, 2, 2)
    assert manifest["as_of"] == "2025-06-01"
    assert manifest["law_fingerprint"] == law_fingerprint()
    assert manifest["warexempt_version"] == warexempt.__version__
    assert manifest["decisions"] == "out.parquet" and manifest["errors"] == "out.errors.csv"
    assert 0 < manifest["seconds"] < 60
    assert pl.read_parquet(tmp_path / "out.parquet").height == 2
    errors = pl.read_csv(tmp_path / "out.errors.csv")
    assert errors.select("row", "column").rows() == [(4, "charges"), (5, "(row)")]  # lines as a spreadsheet shows them
    mtimes = {n: (tmp_path / n).stat().st_mtime_ns for n in OUT_FILES}
    assert mtimes["out.manifest.json"] >= max(mtimes["out.parquet"], mtimes["out.errors.csv"])
    assert check_set(*Targets.of(tmp_path / "out.parquet").files()) is None
    assert "manifest -> " in said


def test_errors_and_manifest_elsewhere_are_named_relative_to_the_manifest(tmp_path, src):
    (tmp_path / "logs").mkdir()
    args = ["-o", tmp_path / "out.csv", "--errors", tmp_path / "logs" / "bad.csv", "--manifest", tmp_path / "m.json"]
    code, said = _bulk(src, *args)
    assert code == 0, said
    manifest = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert manifest["decisions"] == "out.csv" and manifest["errors"] == "logs/bad.csv"
    assert check_set(tmp_path / "out.csv", tmp_path / "logs" / "bad.csv", tmp_path / "m.json") is None
    assert _names(tmp_path / "logs") == ["bad.csv"]


# ------------------------------------------------------------------------------------------------------------
# Refusals, before the input is read
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["-o", "{in}"], "is the input file"),
        (["-o", "out.csv", "--errors", "{in}"], "--errors {in} is the input file"),
        (["-o", "out.csv", "--manifest", "{in}"], "is the input file"),
        (["-o", "out.csv", "--errors", "out.csv"], "-o out.csv and --errors out.csv are the same file"),
        (["-o", "out.csv", "--manifest", "./sub/../out.csv"], "are the same file"),
        (["-o", "out.csv", "--errors", "e.csv", "--manifest", "e.csv"], "--errors e.csv and --manifest e.csv"),
        (["-o", "out.csv", "--errors", "out.lock"], "the lock file"),
        (["-o", "link.csv"], "is the input file"),  # a symbolic link to the input
    ],
)
def test_paths_that_are_the_same_file_are_refused_before_the_input_is_read(tmp_path, monkeypatch, args, said):
    garbage = tmp_path / "in.csv"  # were it read, the run would stop on its binary data instead
    garbage.write_bytes(b"\x00\x01\x02 not a case file")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to(garbage)
    monkeypatch.chdir(tmp_path)
    before = _names(tmp_path)
    code, out = _bulk("in.csv", *(a.replace("{in}", "in.csv") for a in args))
    assert code == 2 and said.replace("{in}", "in.csv") in out, out
    assert len(out.strip().splitlines()) == 1 and "binary" not in out
    assert _names(tmp_path) == before and garbage.read_bytes().startswith(b"\x00\x01")


def test_a_missing_output_folder_is_refused_before_the_input_is_read(tmp_path):
    garbage = tmp_path / "in.csv"
    garbage.write_bytes(b"\x00 binary")
    code, out = _bulk(garbage, "-o", tmp_path / "nowhere" / "out.parquet")
    assert code == 2 and "no such folder" in out and "binary" not in out


def test_an_output_folder_that_cannot_be_written_is_refused(tmp_path, src):
    """A folder without write permission; as root (who may write anywhere, CI included) a folder of a read-only
    file system, ``/proc``."""
    if os.geteuid() == 0:
        code, out = _bulk(src, "-o", Path("/proc/out.parquet"))
        assert code == 2 and "cannot write there" in out
        return
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, out = _bulk(src, "-o", folder / "out.parquet")
    finally:
        folder.chmod(0o755)
    assert code == 2 and "cannot write there" in out


def test_existing_files_are_kept_unless_force(tmp_path, src):
    assert _bulk(src, "-o", tmp_path / "out.parquet")[0] == 0
    before = {n: (tmp_path / n).read_bytes() for n in OUT_FILES}
    code, out = _bulk(src, "-o", tmp_path / "out.parquet")
    assert code == 2 and "already exist" in out and "--force" in out and len(out.strip().splitlines()) == 1
    assert {n: (tmp_path / n).read_bytes() for n in OUT_FILES} == before
    src.write_text(CSV.replace("2,275,trial", "2,275,appeal"), encoding="utf-8")
    code, out = _bulk(src, "-o", tmp_path / "out.parquet", "--force")
    assert code == 0, out
    manifest = json.loads((tmp_path / "out.manifest.json").read_text(encoding="utf-8"))
    assert manifest["input_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert _names(tmp_path) == sorted(["in.csv", *OUT_FILES])


def test_a_stale_set_is_detected_and_overwritten_only_under_force(tmp_path, src):
    """A run killed between its renames and its manifest: no manifest, or an older one, or one naming other files."""
    out = tmp_path / "out.parquet"
    targets = Targets.of(out)
    assert _bulk(src, "-o", out)[0] == 0
    manifest = (tmp_path / "out.manifest.json").read_text(encoding="utf-8")
    later = time.time() + 5
    os.utime(out, (later, later))  # decisions renamed after the manifest was written
    assert check_set(*targets.files()) == "out.parquet is newer than the manifest"
    code, said = _bulk(src, "-o", out)
    assert code == 2 and "incomplete set (out.parquet is newer than the manifest)" in said
    earlier = time.time() - 100
    os.utime(out, (earlier, earlier))
    assert check_set(*targets.files()) is None
    (tmp_path / "out.manifest.json").write_text(manifest.replace('"out.errors.csv"', '"old.errors.csv"'))
    assert "names other files" in (check_set(*targets.files()) or "")
    (tmp_path / "out.manifest.json").unlink()
    assert check_set(*targets.files()) == "no manifest out.manifest.json"
    code, said = _bulk(src, "-o", out, "--force")
    assert code == 0, said
    assert check_set(*targets.files()) is None


def test_temporary_files_of_a_killed_run_are_removed_by_the_next_one(tmp_path, src):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    debris = tmp_path / f"out.parquet.{dead.pid}-0123abcd.tmp"
    debris.write_bytes(b"half a file")
    alive = tmp_path / f"out.errors.csv.{os.getpid()}-0123abcd.tmp"  # a live process's: left alone
    alive.write_bytes(b"")
    assert _bulk(src, "-o", tmp_path / "out.parquet")[0] == 0
    assert not debris.exists() and alive.exists()


# ------------------------------------------------------------------------------------------------------------
# The lock
# ------------------------------------------------------------------------------------------------------------
def test_a_held_lock_refuses_the_run_and_a_left_lock_file_does_not(tmp_path, src):
    lock = tmp_path / "out.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"4242\n")
        code, said = _bulk(src, "-o", tmp_path / "out.parquet")
        assert code == 2 and f"another warexempt bulk run is writing {tmp_path / 'out.parquet'} (pid 4242)" in said
        assert not (tmp_path / "out.parquet").exists()
    finally:
        os.close(fd)  # the lock goes with it; the file stays, as after a killed run
    assert lock.exists()
    code, said = _bulk(src, "-o", tmp_path / "out.parquet")
    assert code == 0, said
    assert not lock.exists()


def test_the_in_process_run_puts_the_signal_handlers_back(tmp_path, src):
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = [signal.getsignal(s) for s in signals]
    assert _bulk(src, "-o", tmp_path / "out.parquet")[0] == 0
    assert [signal.getsignal(s) for s in signals] == before
    assert signal.set_wakeup_fd(-1) == -1


def test_write_leaves_nothing_behind_when_the_data_fails(tmp_path):
    failing = pl.LazyFrame({"a": ["x"]}).select(pl.col("a").cast(pl.Int64))
    with pytest.raises(pl.exceptions.PolarsError):
        write(failing, tmp_path / "out.parquet")
    assert _names(tmp_path) == []
    write(pl.DataFrame({"a": [1]}), tmp_path / "out.csv")
    assert _names(tmp_path) == ["out.csv"]


# ------------------------------------------------------------------------------------------------------------
# Real child processes
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2.5 million cases, built with Polars expressions: a run that lasts long enough to be caught mid-way."""
    path = tmp_path_factory.mktemp("big") / "cases.parquet"
    i = pl.int_range(0, 2_500_000, dtype=pl.Int64)
    first = pl.lit(19723, pl.Int64)  # 2024-01-01
    pl.LazyFrame().select(
        case_id=pl.format("C{}", i),
        charges=pl.lit(pl.Series(["158:1", "158:3:в;228:2", "228:2", "275", "161:2", "105:1"])).gather(i % 6),
        stage=pl.lit(pl.Series(["pre_trial", "trial", "appeal", "sentenced"])).gather((i // 7) % 4),
        contract_date=(first + i % 500).cast(pl.Int32).cast(pl.Date),
        petition_date=(first + i % 500 + i % 30).cast(pl.Int32).cast(pl.Date),
    ).sink_parquet(path)
    return path


def _start(cwd: Path, *args: str | Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "warexempt.cli.app", "bulk", *map(str, args), "--as-of", "2025-06-01"]
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(what: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not what():
        if proc.poll() is not None:
            pytest.fail(f"the run ended first ({proc.returncode}): {proc.communicate()}")
        if time.monotonic() > end:
            proc.kill()
            pytest.fail("the run did not start")
        time.sleep(0.005)


def _staged(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.tmp"))


def _earlier_set(folder: Path) -> dict[str, bytes]:
    src = folder / "small.csv"
    src.write_text(CSV, encoding="utf-8")
    assert _bulk(src, "-o", folder / "out.parquet")[0] == 0
    return {n: (folder / n).read_bytes() for n in OUT_FILES}


@pytest.mark.parametrize(
    ("sig", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_a_signal_mid_run_removes_the_temporary_files_and_keeps_the_earlier_set(tmp_path, big, sig, code):
    before = _earlier_set(tmp_path)
    proc = _start(tmp_path, big, "-o", "out.parquet", "--force")
    _wait_for(lambda: len(_staged(tmp_path)) == 3, proc)  # the run has its temporary files: it is under way
    time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err
    assert time.monotonic() - sent < 5  # acted on at once, not when the run's current query ends
    assert len(err.strip().splitlines()) == 1 and f"interrupted ({signal.Signals(sig).name})" in err, err
    assert "Traceback" not in err and out == ""
    assert _names(tmp_path) == sorted(["small.csv", *OUT_FILES])  # no temporary file, no lock file
    assert {n: (tmp_path / n).read_bytes() for n in OUT_FILES} == before
    assert check_set(*Targets.of(tmp_path / "out.parquet").files()) is None


def test_a_second_run_on_the_same_output_is_refused_while_the_first_runs(tmp_path, big):
    first = _start(tmp_path, big, "-o", "out.parquet")
    try:
        _wait_for(lambda: len(_staged(tmp_path)) == 3, first)
        second = subprocess.run(
            [sys.executable, "-m", "warexempt.cli.app", "bulk", str(big), "-o", "out.parquet", "--force"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 2, second.stderr
        assert f"another warexempt bulk run is writing out.parquet (pid {first.pid})" in second.stderr
        assert first.poll() is None  # the first goes on, its files untouched by the second
        assert len(_staged(tmp_path)) == 3 and not (tmp_path / "out.parquet").exists()
    finally:
        first.terminate()
        first.communicate(timeout=20)
    assert first.returncode == 143
    assert _names(tmp_path) == []
