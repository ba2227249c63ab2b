"""The compiled law tables and their cache: a cached copy must answer exactly as the law compiled afresh."""

from __future__ import annotations

import datetime as dt
import pickle
import random

import polars as pl

from warexempt.law.catalog import bundled_law
from warexempt.rules.charges import as_codes, assess
from warexempt.rules.engine import DECISION_SCHEMA, decide
from warexempt.rules.tables import bundled_tables

STAGES = ["pre_trial", "trial", "appeal", "sentenced"]
CHARGES = ["158:3:в", "228:2", "275", "131:3", "205.2:1", "158:1;319", "30:3-105:1", "111:4"]


def _cases(n: int) -> pl.DataFrame:
    rng = random.Random(7)

    def day() -> dt.date | None:
        return dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(1500)) if rng.random() < 0.6 else None

    rows = []
    for i in range(n):
        entry = day()
        rows.append(
            {
                "case_id": str(i),
                "charges": rng.choice(CHARGES),
                "stage": rng.choice(STAGES),
                "entry_date": entry,
                "petition_date": day() if entry else None,
                "award_date": day() if entry else None,
                "discharge_date": (d := day() if entry else None),
                "discharge_ground": rng.choice(["age", "health", "other"]) if d else None,
                "death_date": day() if entry else None,
            }
        )
    return pl.DataFrame(rows)


def _decide(t, frame: pl.DataFrame) -> pl.DataFrame:
    codes = as_codes(frame["charges"])
    sets = assess(codes, t)
    return decide(frame.with_columns(charges=codes).lazy(), t, sets, dt.date(2026, 1, 1), lists=True).collect()


def test_a_pickled_copy_of_the_tables_decides_as_the_original():
    """What the cache holds (compiled, the law's own answers built, pickled) answers as tables compiled afresh, whose
    answers are built on first use."""
    from warexempt.rules.engine import law_answers
    from warexempt.rules.tables import _compile

    fresh = _compile(bundled_law())
    copy = pickle.loads(pickle.dumps(law_answers(_compile(bundled_law()))))
    assert fresh.post_answers is None and copy.post_answers is not None
    frame = _cases(400)
    got, want = _decide(copy, frame), _decide(fresh, frame)
    assert got.columns == list(DECISION_SCHEMA)
    assert got.equals(want)


def test_the_cache_is_written_once_then_read_and_a_broken_one_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREXEMPT_CACHE_DIR", str(tmp_path))
    first = bundled_tables()
    files = list(tmp_path.glob("law-tables-*.pickle"))
    assert len(files) == 1
    written = files[0].stat().st_mtime_ns
    again = bundled_tables()  # read back, not rebuilt: the file is untouched
    assert files[0].stat().st_mtime_ns == written and again.boundaries == first.boundaries
    files[0].write_bytes(b"not a pickle")
    rebuilt = bundled_tables()
    assert rebuilt.stages == first.stages and pickle.loads(files[0].read_bytes()).stages == first.stages


def test_an_amendment_file_gives_the_cache_a_new_name(tmp_path, monkeypatch):
    from warexempt.rules.tables import _fingerprint

    before = _fingerprint()
    amendments = tmp_path / "law"
    amendments.mkdir()
    (amendments / "99-test.yaml").write_text("id: test\n", encoding="utf-8")
    monkeypatch.setenv("WAREXEMPT_LAW_DIRS", str(amendments))
    first = _fingerprint()
    (amendments / "99-test.yaml").write_text("id: test2\n", encoding="utf-8")
    second = _fingerprint()
    assert len({before, first, second}) == 3 and _fingerprint() == second


def test_writing_a_new_cache_keeps_only_the_newest_few(tmp_path, monkeypatch):
    import os

    from warexempt.rules.tables import KEEP_CACHES

    monkeypatch.setenv("WAREXEMPT_CACHE_DIR", str(tmp_path))
    old = [tmp_path / f"law-tables-{i:04d}.pickle" for i in range(KEEP_CACHES + 2)]
    for age, file in enumerate(old):
        file.write_bytes(b"made from other law files")
        os.utime(file, (1_000_000 + age, 1_000_000 + age))
    bundled_tables()
    kept = sorted(tmp_path.glob("law-tables-*.pickle"))
    assert len(kept) == KEEP_CACHES and set(old[-(KEEP_CACHES - 1) :]) <= set(kept)
