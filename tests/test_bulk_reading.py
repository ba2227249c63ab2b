"""Reading case files as they come: spreadsheet exports, ragged rows, misspelt headers, Parquet's natural types.

Every file is a real one written in ``tmp_path``, by Polars or byte by byte as a spreadsheet saves it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from warexempt.cli.app import app
from warexempt.population.source import ROW, BulkFileError, read_cases

HEADER = ["case_id", "charges", "stage", "contract_date", "petition_date", "award_date", "discharge_date"]
ROWS = [
    ["A1", "158:3:в;228:2", "pre_trial", "2024-05-02", "2024-05-10", "2025-01-20", ""],
    ["A2", "275", "trial", "2024-11-05", "2024-11-25", "", ""],
    ["A3", "158:1", "trial", "2024-11-05", "2024-11-25", "", ""],
    ["A4", "228:2", "appeal", "2024-10-14", "2024-11-01", "", ""],
]
AS_OF = dt.date(2025, 6, 1)
runner = CliRunner()
LIBRARY_WORDS = ("Consider setting", "truncate_ragged_lines", "polars", "Polars", "ComputeError", "Schema", "```")


def _csv(rows: list[list[str]], sep: str = ",", header: list[str] = HEADER) -> str:
    def cell(v: str) -> str:
        return f'"{v}"' if sep in v or '"' in v else v

    return "".join(sep.join(map(cell, r)) + "\n" for r in [header, *rows])


def _frame(path: Path, **kw: bool) -> pl.DataFrame:
    return read_cases(path, **kw).frame.collect()


def _decide(path: Path, out: Path, **kw: bool):
    from warexempt.law.catalog import bundled_law
    from warexempt.law.tables import tables
    from warexempt.population.bulk import run_bulk

    result = run_bulk(
        path, tables(bundled_law()), AS_OF, out, ignore_extra_columns=kw.get("ignore_extra_columns", False)
    )
    return result, pl.read_parquet(out).cast({pl.Enum: pl.String, pl.Categorical: pl.String})


# ------------------------------------------------------------------------------------------------------------
# CSV as written by Polars and by spreadsheets
# ------------------------------------------------------------------------------------------------------------
def test_a_polars_csv_and_a_spreadsheet_export_read_as_the_same_cases(tmp_path):
    """``;``, a byte-order mark, CRLF, quoted charges, header cells in other case and with spaces: same frame."""
    pl.DataFrame(dict(zip(HEADER, zip(*ROWS, strict=True), strict=True))).write_csv(tmp_path / "polars.csv")
    header = [" Case_ID", "Charges ", "STAGE", "Contract_Date", " petition_date ", "Award_date", "DISCHARGE_DATE"]
    export = _csv(ROWS, ";", header).replace("\n", "\r\n")
    (tmp_path / "sheet.csv").write_bytes(b"\xef\xbb\xbf" + export.encode("utf-8"))
    assert b'"158:3:\xd0\xb2;228:2"' in (tmp_path / "sheet.csv").read_bytes()  # the export quotes it
    polars_frame, sheet = _frame(tmp_path / "polars.csv"), _frame(tmp_path / "sheet.csv")
    assert sheet.columns == HEADER
    assert sheet.equals(polars_frame)
    assert sheet["charges"].to_list()[0] == "158:3:в;228:2"
    assert sheet["contract_date"].dtype == pl.Date  # the dates parsed while reading, as in a clean file


def test_a_crlf_file_with_ragged_rows_keeps_its_line_numbers(tmp_path):
    body = _csv(ROWS).replace("\n", "\r\n").splitlines(keepends=True)
    body.insert(2, "X1,158:1,trial\r\n")  # too few fields: line 3 as a spreadsheet numbers it
    src = tmp_path / "in.csv"
    src.write_text("".join(body), encoding="utf-8", newline="")
    cases = read_cases(src)
    assert cases.errors.rows() == [(3, "X1", ROW, "X1,158:1,trial", "3 fields, expected 7")]
    assert cases.frame.collect()["case_id"].to_list() == ["A1", "A2", "A3", "A4"]


def test_rows_with_too_many_or_too_few_fields_become_error_rows_not_padding(tmp_path):
    lines = _csv(ROWS).splitlines()
    lines.insert(2, "B1,158:1,trial,2024-11-05")  # line 3: 4 fields
    lines.insert(4, "B2,158:1,trial,2024-11-05,2024-11-25,,,,")  # line 5: 9 fields
    lines.append("B3," + "x" * 400)  # the last line, 2 fields, its value cut to 200 characters
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cases = read_cases(src)
    assert cases.errors.columns == ["row", "case_id", "column", "value", "reason"]
    assert cases.errors.select("row", "case_id", "column", "reason").rows() == [
        (3, "B1", ROW, "4 fields, expected 7"),
        (5, "B2", ROW, "9 fields, expected 7"),
        (8, "B3", ROW, "2 fields, expected 7"),
    ]
    assert cases.errors["value"].to_list()[:2] == [lines[2], lines[4]]
    assert cases.errors["value"][2] == ("B3," + "x" * 400)[:200]
    assert cases.frame.collect()["case_id"].to_list() == ["A1", "A2", "A3", "A4"]  # none padded, none cut


def test_the_checks_errors_after_a_left_out_row_keep_the_files_numbering(tmp_path):
    """A ragged row is left out of the frame; the rows after it are still reported under their own numbers."""
    good = [*ROWS, ["A5", "158:1", "trial", "2024-13-05", "", "", ""]]  # a bad date: line 8 once two go in
    lines = _csv(good).splitlines()
    lines.insert(2, "B1,158:1")  # data row 2 (line 3)
    lines.insert(3, "")  # a blank line, data row 3: skipped
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, got = _decide(src, tmp_path / "out.parquet")
    assert result.errors.select("row", "case_id", "column").rows() == [(3, "B1", ROW), (8, "A5", "contract_date")]
    assert result.rows == 6 and result.decided == 4  # five good-shaped rows and one ragged; the blank is no row
    assert got["case_id"].to_list() == ["A1", "A2", "A3", "A4"]


def test_a_quoted_value_across_lines_is_one_row_and_an_unclosed_quote_spoils_only_its_line(tmp_path):
    lines = _csv(ROWS).splitlines()
    lines.insert(2, 'Q1,"158:1\n",trial,2024-11-05,2024-11-25,,')  # a value across two lines: one row
    lines.insert(3, 'Q2,"158:1,trial,2024-11-05,2024-11-25,,')  # a quote never closed
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cases = read_cases(src)
    assert cases.errors.select("row", "case_id", "reason").rows() == [(4, "Q2", 'a quote (") is opened and not closed')]
    frame = cases.frame.collect()
    assert frame["case_id"].to_list() == ["A1", "Q1", "A2", "A3", "A4"]
    assert frame["charges"][1] == "158:1\n"


@pytest.mark.parametrize(
    ("text", "dropped"),
    [
        (_csv(ROWS[:2]) + "\n  \n" + _csv(ROWS[2:], header=[]).lstrip("\n") + "\n\n", [3, 4, 7, 8]),
        (_csv(ROWS) + "\r\n\n", [5, 6]),  # only at the end: read on the fast path
    ],
    ids=["inside", "at-the-end"],
)
def test_blank_lines_are_skipped_without_an_error(tmp_path, text, dropped):
    src = tmp_path / "in.csv"
    src.write_text(text, encoding="utf-8")
    cases = read_cases(src)
    assert cases.errors.height == 0 and cases.dropped.to_list() == dropped
    assert cases.frame.collect()["case_id"].to_list() == ["A1", "A2", "A3", "A4"]


# ------------------------------------------------------------------------------------------------------------
# Header names
# ------------------------------------------------------------------------------------------------------------
def test_a_misspelt_column_stops_with_the_nearest_name_unless_extra_columns_are_ignored(tmp_path):
    header = [*HEADER[:4], "petiton_date", *HEADER[5:], "notes"]
    src = tmp_path / "in.csv"
    src.write_text(_csv([[*r, "n"] for r in ROWS], header=header), encoding="utf-8")
    with pytest.raises(BulkFileError) as err:
        read_cases(src)
    assert "unknown column 'petiton_date' — did you mean petition_date?" in str(err.value)
    assert "unknown column 'notes'" in str(err.value) and "--ignore-extra-columns" in str(err.value)
    frame = _frame(src, ignore_extra_columns=True)
    assert frame.columns == [c for c in header if c in HEADER] and frame.height == len(ROWS)

    res = runner.invoke(app, ["bulk", str(src), "-o", str(tmp_path / "out.parquet")])
    assert res.exit_code == 2 and "did you mean petition_date?" in res.output
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert not (tmp_path / "out.parquet").exists()
    ok = runner.invoke(app, ["bulk", str(src), "-o", str(tmp_path / "out.parquet"), "--ignore-extra-columns"])
    assert ok.exit_code == 0, ok.output
    assert pl.read_parquet(tmp_path / "out.parquet").height == len(ROWS)


def test_a_misspelt_required_column_is_named_in_the_missing_message(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(_csv(ROWS, header=[*HEADER[:3], "contract_dat", *HEADER[4:]]), encoding="utf-8")
    with pytest.raises(BulkFileError, match="did you mean contract_date"):
        read_cases(src)
    with pytest.raises(BulkFileError, match=r"missing column.*contract_date.*'contract_dat' may be contract_date"):
        read_cases(src, ignore_extra_columns=True)


def test_a_column_given_twice_under_two_spellings_stops_the_run(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(_csv([[*r, "trial"] for r in ROWS], header=[*HEADER, "Stage "]), encoding="utf-8")
    with pytest.raises(BulkFileError, match="column stage is there 2 times"):
        read_cases(src)


# ------------------------------------------------------------------------------------------------------------
# Parquet
# ------------------------------------------------------------------------------------------------------------
def _days(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - dt.date(1970, 1, 1)).days


def test_parquet_with_natural_types_decides_as_the_text_file(tmp_path):
    """A list of charges, whole-number ids, a categorical stage, Datetime, Int32 and Int64 day numbers, Date."""
    pl.DataFrame(dict(zip(HEADER, zip(*ROWS, strict=True), strict=True))).write_csv(tmp_path / "text.csv")
    typed = pl.DataFrame(
        {
            "case_id": pl.Series([1, 2, 3, 4], dtype=pl.Int64),
            "charges": [r[1].split(";") for r in ROWS],
            "Stage": pl.Series([r[2] for r in ROWS], dtype=pl.Categorical),
            "contract_date": [dt.datetime.fromisoformat(r[3] + "T13:45:00") for r in ROWS],
            "petition_date": pl.Series([_days(r[4]) for r in ROWS], dtype=pl.Int32),
            "award_date": pl.Series([_days(r[5]) if r[5] else None for r in ROWS], dtype=pl.Int64),
            "discharge_date": pl.Series([None] * 4, dtype=pl.Date),
        }
    )
    typed.write_parquet(tmp_path / "typed.parquet")
    frame = _frame(tmp_path / "typed.parquet")
    assert frame.columns == HEADER
    assert frame["charges"].to_list() == [r[1] for r in ROWS]
    assert frame["case_id"].to_list() == ["1", "2", "3", "4"]
    assert all(frame[c].dtype == pl.Date for c in HEADER[3:])
    assert frame["contract_date"].to_list() == [dt.date.fromisoformat(r[3]) for r in ROWS]
    _, text = _decide(tmp_path / "text.csv", tmp_path / "text.parquet")
    _, typed_out = _decide(tmp_path / "typed.parquet", tmp_path / "typed-out.parquet")
    assert typed_out.drop("case_id").equals(text.drop("case_id"))


def test_a_day_number_beyond_any_date_is_a_row_error_not_a_silent_blank(tmp_path):
    frame = pl.DataFrame({"case_id": ["A", "B"], "charges": ["158:1"] * 2, "stage": ["trial"] * 2})
    frame = frame.with_columns(contract_date=pl.Series([_days("2024-11-05"), 10**12], dtype=pl.Int64))
    frame.write_parquet(tmp_path / "in.parquet")
    result, got = _decide(tmp_path / "in.parquet", tmp_path / "out.parquet")
    assert result.errors.select("row", "column", "value").rows() == [(3, "contract_date", str(10**12))]
    assert got["case_id"].to_list() == ["A"]


@pytest.mark.parametrize(
    ("column", "values", "said"),
    [
        ("stage", pl.Series([1.0, 2.0]), "column stage is Float64, expected text"),
        ("contract_date", pl.Series([1.5, 2.5]), "column contract_date is Float64, expected dates"),
        ("charges", pl.Series([[1, 2], [3]]), "column charges is List(Int64), expected text"),
        ("case_id", pl.Series([True, False]), "column case_id is Boolean, expected text or whole numbers"),
    ],
)
def test_a_parquet_column_of_the_wrong_type_stops_with_one_plain_message(tmp_path, column, values, said):
    frame = pl.DataFrame(
        {"case_id": ["A", "B"], "charges": ["158:1"] * 2, "stage": ["trial"] * 2, "contract_date": ["2024-11-05"] * 2}
    )
    frame.with_columns(values.alias(column)).write_parquet(tmp_path / "in.parquet")
    with pytest.raises(BulkFileError, match=said.replace("(", r"\(").replace(")", r"\)")):
        read_cases(tmp_path / "in.parquet")
    res = runner.invoke(app, ["bulk", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.parquet")])
    assert res.exit_code == 2 and said in res.output and "Traceback" not in res.output


# ------------------------------------------------------------------------------------------------------------
# Messages in plain words
# ------------------------------------------------------------------------------------------------------------
def _damaged_parquet(path: Path) -> None:
    rows = [[f"C{i}", "158:1", "trial", "2024-11-05"] for i in range(2000)]
    pl.DataFrame(dict(zip(HEADER[:4], zip(*rows, strict=True), strict=True))).write_parquet(
        path, compression="uncompressed"
    )
    data = bytearray(path.read_bytes())
    for i in range(200, len(data) // 2, 97):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", ["not-parquet", "damaged-parquet", "unclosed-quote-only", "late-cp1251"])
def test_no_message_carries_a_librarys_text(tmp_path, kind):
    if kind == "not-parquet":
        src = tmp_path / "in.parquet"
        src.write_bytes(b"PAR1 this is not parquet at all")
    elif kind == "damaged-parquet":
        src = tmp_path / "in.parquet"
        _damaged_parquet(src)
    elif kind == "unclosed-quote-only":
        src = tmp_path / "in.csv"
        src.write_text(_csv(ROWS) + 'Z1,"158:1,trial,2024-01-01,,,\n', encoding="utf-8")
    else:  # valid UTF-8 for the first 64 KiB, then cp1251
        src = tmp_path / "in.csv"
        src.write_bytes(_csv(ROWS * 800).encode() + "Z9,158:1,суд,2024-01-01,,,\n".encode("cp1251"))
    res = runner.invoke(app, ["bulk", str(src), "-o", str(tmp_path / "out.parquet"), "--as-of", "2025-06-01"])
    assert "Traceback" not in res.output
    assert not any(word in res.output for word in LIBRARY_WORDS), res.output
    if kind == "unclosed-quote-only":  # not a file error: one bad row, the others decided
        assert res.exit_code == 0, res.output
        errors = pl.read_csv(tmp_path / "out.errors.csv")
        assert errors.select("row", "column").rows() == [(len(ROWS) + 2, ROW)]
    else:
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
        assert str(src) in res.output
        assert ("not UTF-8" if kind == "late-cp1251" else "cannot be read as parquet") in res.output
