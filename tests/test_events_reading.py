"""Reading a long events file (``population.events.read_events``): its words are matched once per distinct value
and its cases once per run of neighbours, by whichever way fits the files' order. Whatever the order of the two
files, the encoded events are those ``rules.frames.encode_events`` makes from the same events as text, and a row
that cannot be read is the same error row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from warexempt.law.catalog import bundled_law
from warexempt.law.tables import tables
from warexempt.population.bulk import run_bulk
from warexempt.population.events import read_events
from warexempt.rules.frames import Prepared, encode_events

T = tables(bundled_law())
VOCAB = T.law.vocabulary
FIELDS = ("case", "day", "key", "to_stage", "charge", "row")


def _cases(n: int) -> pl.DataFrame:
    return pl.DataFrame({"case_id": [f"K{i:05d}" for i in range(n)]})


def _events(cases: pl.DataFrame, seed: int = 1) -> pl.DataFrame:
    """About three events a case (some cases have none), grouped by case in the case file's order: every kind,
    with the ground, stage or charge it requires, and now and then a stage or charge on a kind that needs none."""
    rng = np.random.default_rng(seed)
    kinds, grounds, stages = VOCAB.ids("events"), VOCAB.ids("discharge_grounds"), VOCAB.ids("stages")
    rows = []
    for case_id in cases["case_id"]:
        for _ in range(int(rng.integers(0, 6))):
            kind = str(rng.choice(kinds))
            ground = str(rng.choice(grounds)) if kind == "discharged" else None
            stage = str(rng.choice(stages)) if kind == "stage_changed" or rng.random() < 0.05 else None
            charge = str(rng.choice(["338:1", "337:3", " 338:4"])) if kind == "new_offence" else None
            day = dt.date(2023, 1, 1) + dt.timedelta(days=int(rng.integers(0, 1200)))
            rows.append((case_id, day, kind, ground, stage, charge))
    schema = ["case_id", "date", "kind", "ground", "stage", "charge"]
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_row_index("event_id", offset=1).with_columns(pl.col("event_id").cast(pl.Int64))


def _reference(cases: pl.DataFrame, events: pl.DataFrame) -> Prepared:
    """The same events encoded from their texts by ``rules.frames`` (matched to the cases by ``case_id``)."""
    clean = events.with_columns(
        pl.col("case_id").cast(pl.String).str.strip_chars(),
        pl.col("charge").str.strip_chars(),
        pl.col("event_id").cast(pl.String),
        *[pl.col(c).str.strip_chars().str.to_lowercase() for c in ("kind", "ground", "stage")],
    )
    return encode_events(cases.select(pl.col("case_id").cast(pl.String)), clean, T)


def _assert_same(got: Prepared, want: Prepared) -> None:
    for field in FIELDS:
        assert np.array_equal(getattr(got[0], field), getattr(want[0], field)), field
        assert getattr(got[0], field).dtype == np.int32, field
    assert got[1].cast(pl.String).to_list() == want[1].cast(pl.String).to_list()
    assert got[2] == want[2]


def _dirty(events: pl.DataFrame) -> pl.DataFrame:
    """Every third kind, ground and stage as a person types them (capitals, spaces around), and case ids with
    spaces: read as the words they are."""
    every = pl.int_range(pl.len()) % 3 == 0
    return events.with_columns(
        pl.when(every).then(pl.lit(" ") + pl.col("kind").str.to_uppercase()).otherwise("kind").alias("kind"),
        pl.when(every).then(pl.col("ground").str.to_titlecase() + pl.lit("  ")).otherwise("ground").alias("ground"),
        pl.when(every).then(pl.col("stage").str.to_uppercase()).otherwise("stage").alias("stage"),
        pl.when(pl.int_range(pl.len()) % 7 == 0).then(pl.col("case_id") + pl.lit(" ")).otherwise("case_id"),
    )


Frames = tuple[pl.DataFrame, pl.DataFrame]
ORDERS: dict[str, Callable[[pl.DataFrame, pl.DataFrame], Frames]] = {
    # the runs are the cases, in order (every case has events)
    "one run a case": lambda c, e: (c.filter(pl.col("case_id").is_in(e["case_id"].implode())), e),
    "sorted, some cases without events": lambda c, e: (c, e),
    "events shuffled": lambda c, e: (c, e.sample(fraction=1.0, shuffle=True, seed=2)),
    "case file shuffled": lambda c, e: (c.sample(fraction=1.0, shuffle=True, seed=3), e),
    "dirty words and ids": lambda c, e: (c, _dirty(e)),
}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_an_events_file_encodes_as_its_texts_do_in_any_order(tmp_path: Path, order: str, suffix: str) -> None:
    cases, events = ORDERS[order](_cases(300), _events(_cases(300)))
    path = tmp_path / f"events{suffix}"
    events.write_parquet(path) if suffix == ".parquet" else events.write_csv(path)
    read = read_events(path, T, cases["case_id"])
    assert read.errors.is_empty() and not read.bad_cases
    _assert_same(read.encoded(T), _reference(cases, events))


def test_cases_in_the_event_files_order_but_not_sorted(tmp_path: Path) -> None:
    cases = _cases(200).sample(fraction=1.0, shuffle=True, seed=4)
    order = cases.with_row_index("o")
    events = _events(_cases(200)).join(order, on="case_id").sort("o", maintain_order=True).drop("o")
    cases = cases.filter(pl.col("case_id").is_in(events["case_id"].implode()))  # one run a case, in its order
    events.write_parquet(tmp_path / "e.parquet")
    _assert_same(read_events(tmp_path / "e.parquet", T, cases["case_id"]).encoded(T), _reference(cases, events))


def test_whole_number_case_ids_match_as_text(tmp_path: Path) -> None:
    events = _events(_cases(50)).with_columns(pl.col("case_id").str.slice(1).cast(pl.Int64))  # K00007 → 7
    events.write_parquet(tmp_path / "e.parquet")
    cases = pl.DataFrame({"case_id": [str(i) for i in range(50)]})  # "10" sorts before "2": not sorted as text
    read = read_events(tmp_path / "e.parquet", T, cases["case_id"])
    assert read.errors.is_empty()
    _assert_same(read.encoded(T), _reference(cases, events))


def test_rows_that_cannot_be_read_are_described_and_leave_their_case_out(tmp_path: Path) -> None:
    cases = _cases(5)
    text = (
        "case_id,event_id,date,kind,ground,stage,charge\n"
        "K00000,a,2024-01-01,Contract_Signed ,,,\n"
        "K00000,,2024-02-01,command_petition,,,\n"
        "K00001,b,2024-01-01,contract_signed,,,\n"
        "K00001,c,2024-13-01,medal,,,\n"
        "K00002,d,2024-01-01,discharged,,,\n"
        "K00003,e,2024-01-01,,,bogus,\n"
        "NOPE,f,2024-01-01,died,,,\n"
        "K00004,g,2024-03-01,new_offence,,,\n"
    )
    (tmp_path / "e.csv").write_text(text, encoding="utf-8")
    read = read_events(tmp_path / "e.csv", T, cases["case_id"])
    grounds, stages = ", ".join(VOCAB.ids("discharge_grounds")), ", ".join(VOCAB.ids("stages"))
    assert read.errors.select("row", "case_id", "column", "value").rows() == [
        (5, "K00001", "events:date", "2024-13-01"),
        (5, "K00001", "events:kind", "medal"),
        (6, "K00002", "events:ground", None),
        (7, "K00003", "events:kind", None),  # (no kind: what it would need is not asked for, a bad word is named)
        (7, "K00003", "events:stage", "bogus"),
        (8, "NOPE", "events:case_id", "NOPE"),
        (9, "K00004", "events:charge", None),
    ]
    assert f"one of {grounds}" in read.errors["reason"][2] and f"one of {stages}" in read.errors["reason"][4]
    assert read.bad_cases == {"K00001", "K00002", "K00003", "K00004", "NOPE"}
    assert read.case.tolist() == [0, 0] and read.ids.to_list() == ["a", "line 3"]  # K00000's, the rest left out


def test_an_event_of_a_repeated_case_id_goes_with_each_of_its_rows(tmp_path: Path) -> None:
    cases = pl.DataFrame({"case_id": ["A", "B", "A"]})
    (tmp_path / "e.csv").write_text("case_id,date,kind\nA,2024-01-01,contract_signed\nB,2024-01-02,called_up\n")
    read = read_events(tmp_path / "e.csv", T, cases["case_id"])
    assert read.case.tolist() == [0, 2, 1] and read.ids.to_list() == ["line 2", "line 2", "line 3"]
    kept = read.encoded(T, np.array([-1, 0, -1]))  # the repeated rows set aside: their events with them
    assert kept[0].case.tolist() == [0] and kept[1].to_list() == ["line 3"]


def test_whole_number_event_ids_name_the_deciding_event(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("case_id,charges,stage\nA,158:2,pre_trial\n", encoding="utf-8")
    events = pl.DataFrame(
        {
            "case_id": ["A", "A", "A"],
            "event_id": [7, 8, 9],
            "date": [dt.date(2025, 1, 10), dt.date(2025, 1, 20), dt.date(2025, 6, 1)],
            "kind": ["contract_signed", "command_petition", "discharged"],
            "ground": [None, None, "health"],
        }
    )
    events.write_parquet(tmp_path / "e.parquet")
    run_bulk(tmp_path / "c.csv", T, dt.date(2025, 7, 1), tmp_path / "o.parquet", events=tmp_path / "e.parquet")
    row = pl.read_parquet(tmp_path / "o.parquet").row(0, named=True)
    assert row["deciding_event"] == "9" and row["decided_on"] == dt.date(2025, 6, 1)


def test_a_word_the_vocabulary_lacks_on_any_kind_is_an_error_row_and_the_run_goes_on(tmp_path: Path) -> None:
    """A ground or stage that is no word of the vocabulary, even on a kind that takes none, is an error row naming
    the line, the column and the value; its case is left out and the other cases are decided."""
    (tmp_path / "c.csv").write_text("case_id,charges,stage\nc1,158:1,pre_trial\nc2,158:1,trial\nc3,158:1,trial\n")
    (tmp_path / "e.csv").write_text(
        "case_id,event_id,date,kind,ground,stage,charge\n"
        "c1,e1,2024-05-01,contract_signed,xyz,,\n"
        "c2,e2,2024-05-01,contract_signed,,sentencedx,\n"
        "c3,e3,2024-05-01,contract_signed,,,\n"
        "c3,e4,2024-06-01,command_petition,,,\n"
    )
    result = run_bulk(tmp_path / "c.csv", T, dt.date(2026, 11, 1), tmp_path / "out.csv", events=tmp_path / "e.csv")
    rows = result.errors.select("row", "case_id", "column", "value").rows()
    assert rows == [(2, "c1", "events:ground", "xyz"), (3, "c2", "events:stage", "sentencedx")]
    assert "not a discharge ground (expected one of age" in result.errors["reason"][0]
    assert pl.read_csv(tmp_path / "out.csv")["case_id"].to_list() == ["c3"]
