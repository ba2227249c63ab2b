"""The bulk runner's row checks and fast paths: each must find exactly what the plain definition finds."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warexempt.law.catalog import bundled_law
from warexempt.law.tables import day_number, tables
from warexempt.population.bulk import OUTPUT_COLUMNS, run_bulk

LAW = bundled_law()
HEADER = "case_id,charges,stage,contract_date,petition_date,award_date,discharge_date,discharge_ground,death_date\n"


def _run(tmp_path, body: str, suffix: str = ".csv"):
    src = tmp_path / f"in{suffix}"
    src.write_text(HEADER + body, encoding="utf-8")
    out = tmp_path / "out.parquet"
    result = run_bulk(src, tables(LAW), dt.date(2025, 6, 1), out)
    return result, pl.read_parquet(out)


@pytest.mark.parametrize("ids", [["A1", "A2", "A2", "A3"], ["Z9", "A2", "M5", "A2"]], ids=["sorted", "unsorted"])
def test_duplicate_ids_are_found_whether_or_not_the_file_is_sorted(tmp_path, ids):
    body = "".join(f"{i},158:1,pre_trial,2024-05-02,2024-05-10,,,,\n" for i in ids)
    result, got = _run(tmp_path, body)
    dup_rows = result.errors.filter(pl.col("reason") == "case_id is not unique")["row"].to_list()
    assert dup_rows == [i + 2 for i, x in enumerate(ids) if ids.count(x) > 1]  # spreadsheet lines: header = 1
    assert sorted(got["case_id"].to_list()) == sorted(x for x in ids if ids.count(x) == 1)


def test_every_repeated_id_is_found_in_a_large_shuffled_file(tmp_path):
    ids = [f"K{i:05d}" for i in range(3000)]
    doubled = [*ids[:400], *ids]  # the first 400 ids twice, the rest once
    random.Random(3).shuffle(doubled)
    body = "".join(f"{i},158:1,pre_trial,2024-05-02,2024-05-10,,,,\n" for i in doubled)
    result, got = _run(tmp_path, body)
    repeated = result.errors.filter(pl.col("reason") == "case_id is not unique")
    assert repeated.height == 800 and set(repeated["case_id"]) == set(ids[:400])
    assert got.height == 2600


def test_empty_id_stray_spaces_and_unknown_words(tmp_path):
    body = (
        ",158:1,pre_trial,2024-05-02,,,,,\n"
        "B, 158:1 , trial ,2024-11-05,2024-11-25,,,,\n"
        "C,158:1,court,2024-11-05,,,,,\n"
        "D,158:1,trial,2024-11-05,2024-11-25,,2025-01-10,wounded,\n"
    )
    result, got = _run(tmp_path, body)
    assert result.errors.select("row", "column").rows() == [(2, "case_id"), (4, "stage"), (5, "discharge_ground")]
    assert got["case_id"].to_list() == ["B"]
    assert got["outcome"].to_list() == ["suspended"]
    assert got.columns == OUTPUT_COLUMNS


def test_a_file_with_one_bad_date_still_decides_the_others(tmp_path):
    body = "A,158:1,pre_trial,2024-05-02,2024-05-10,,,,\nB,158:1,pre_trial,2024-13-02,,,,,\n"
    result, got = _run(tmp_path, body)
    assert result.errors.select("row", "column", "value").rows() == [(3, "contract_date", "2024-13-02")]
    assert got["case_id"].to_list() == ["A"] and result.rows == 2 and result.decided == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2035, 12, 31))), min_size=1, max_size=50))
def test_segment_of_a_date_column_is_the_segment_of_each_date(days):
    t = tables(LAW)
    known = [d for d in days if d is not None]
    got = t.segments_of(np.array([day_number(d) for d in known], dtype=np.int64)).tolist()
    assert got == [LAW.segment(d) for d in known]


def test_an_offence_date_column_applies_the_offence_date_gate_as_the_single_check_does(tmp_path):
    import warexempt

    src = tmp_path / "in.csv"
    src.write_text(
        "case_id,charges,stage,contract_date,petition_date,offence_date\n"
        "early,158:1,pre_trial,2023-07-01,2023-07-10,2023-03-01\n"
        "late,158:1,pre_trial,2023-07-01,2023-07-10,2023-07-01\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.parquet"
    run_bulk(src, tables(LAW), dt.date(2023, 8, 1), out)
    got = dict(pl.read_parquet(out).select("case_id", pl.col("outcome").cast(pl.String)).iter_rows())
    for case_id, offence in (("early", "2023-03-01"), ("late", "2023-07-01")):
        single = warexempt.check(
            charges=["158:1"],
            stage="pre_trial",
            offence_date=offence,
            as_of="2023-08-01",
            events=[
                {"date": "2023-07-01", "kind": "contract_signed"},
                {"date": "2023-07-10", "kind": "command_petition"},
            ],
        )
        assert got[case_id] == single.outcome
    assert got == {"early": "suspended", "late": "not_covered"}


def test_a_parquet_file_is_checked_as_the_same_csv_is(tmp_path):
    """Parquet is scanned and its bad rows read again to be described: same decisions, same errors as CSV."""
    body = (
        ",158:1,pre_trial,2024-05-02,,,,,\n"
        "B, 158:1 , trial ,2024-11-05,2024-11-25,,,,\n"
        "C,158:1,court,2024-11-05,,,,,\n"
        "D,999:1,trial,2024-11-05,2024-11-25,,2025-01-10,wounded,\n"
        "E,158:1,sentenced,2024-04-01,,2024-12-01,,,2024-10-01\n"
        "B,228:2,trial,2024-11-05,2024-11-20,,2025-02-01, health,\n"
        "F,158:3:в;228:2,trial,2024-11-05,2024-11-20,,2025-02-01,health,\n"
    )
    csv_result, csv_got = _run(tmp_path, body)
    frame = pl.read_csv((HEADER + body).encode(), infer_schema=False)
    frame.write_parquet(tmp_path / "in.parquet")
    pq_result = run_bulk(tmp_path / "in.parquet", tables(LAW), dt.date(2025, 6, 1), tmp_path / "pq.parquet")
    pq_got = pl.read_parquet(tmp_path / "pq.parquet")
    assert pq_result.errors.equals(csv_result.errors)
    assert pq_got.equals(csv_got)  # (both written as Parquet: lists and enums)
    assert pq_got["case_id"].to_list() == ["F"]
    assert set(pq_result.errors["column"]) == {"case_id", "stage", "charges", "discharge_ground", "award_date"}


def test_a_parquet_file_whose_data_is_damaged_stops_with_one_message(tmp_path):
    from warexempt.population.bulk import BulkFileError

    src = tmp_path / "in.parquet"
    rows = [f"C{i},158:1,trial,2024-11-05,2024-11-25,,,," for i in range(2000)]
    pl.read_csv((HEADER + "\n".join(rows)).encode(), infer_schema=False).write_parquet(src, compression="uncompressed")
    data = bytearray(src.read_bytes())
    for i in range(200, len(data) // 2, 97):  # the data pages; the footer (schema) stays readable
        data[i] ^= 0x5A
    src.write_bytes(bytes(data))
    with pytest.raises(BulkFileError, match="cannot be read as parquet"):
        run_bulk(src, tables(LAW), dt.date(2025, 6, 1), tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(
    "body", ["", "A,999,trial,2024-01-01,,,,,\nB,,trial,2024-01-01,,,,,\n"], ids=["empty", "all-bad"]
)
def test_a_file_with_no_good_row_gives_an_empty_decisions_file(tmp_path, suffix, body):
    src = tmp_path / f"in{suffix}"
    frame = pl.read_csv((HEADER + body).encode(), infer_schema=False)
    frame.write_csv(src) if suffix == ".csv" else frame.write_parquet(src)
    result = run_bulk(src, tables(LAW), dt.date(2025, 6, 1), tmp_path / "out.parquet")
    got = pl.read_parquet(tmp_path / "out.parquet")
    assert got.height == 0 and got.columns == OUTPUT_COLUMNS
    assert result.decided == 0 and result.rows == frame.height
    assert result.errors["row"].to_list() == list(range(2, frame.height + 2))


@pytest.mark.parametrize("sep", [";", "\t"])
def test_a_spreadsheet_csv_with_semicolons_or_tabs_reads_as_the_comma_one(tmp_path, sep):
    """A spreadsheet saved as CSV in a Russian locale separates fields with ';' and quotes the charges field."""
    rows = [["A", "158:3:в;228:2", "trial", "2024-11-05", "2024-11-25"], ["B", "275", "trial", "2024-11-05", ""]]
    header = ["case_id", "charges", "stage", "contract_date", "petition_date"]

    def text(s: str) -> str:
        return "\n".join(s.join(f'"{v}"' if s in v else v for v in r) for r in [header, *rows]) + "\n"

    (tmp_path / "comma.csv").write_text(text(","), encoding="utf-8")
    (tmp_path / "other.csv").write_text(text(sep), encoding="utf-8")
    for name in ("comma", "other"):
        run_bulk(tmp_path / f"{name}.csv", tables(LAW), dt.date(2025, 6, 1), tmp_path / f"{name}.parquet")
    comma, other = (pl.read_parquet(tmp_path / f"{n}.parquet").cast({pl.Enum: pl.String}) for n in ("comma", "other"))
    assert other.equals(comma) and other["outcome"].to_list() == ["suspended", "not_covered"]
