"""The bundled public statistics (``population/data``), read and checked before any figure is used.

Why a checking loader: every estimate rests on these files, so a file that was edited, truncated or re-saved by a
spreadsheet must stop the run with a message naming the file, the row (as a spreadsheet shows it, header = 1), the
column, the value and what was expected — never a traceback and never a silently different number. The checks:
the SHA-256 of each file against ``provenance.yaml``; the exact columns; each value's type; every ``source_id``
resolving in ``sources.csv``; the 2020 rows by part summing to the official 2020 total, in both the long and the
wide file; each group share equal to its count over the total.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from warexempt._marks import N_

DATA = Path(__file__).parent / "data"
PROVENANCE = "provenance.yaml"
TOTAL_2020 = "convicted_total_criminal_record_stats"  # the measure the 2020 rows by part must sum to

COLUMNS: dict[str, tuple[str, ...]] = {
    "sources.csv": ("source_id", "title", "publisher", "date", "url", "notes"),
    "convictions_by_article.csv": ("year", "article", "part", "convicted_main", "source_id", "row_type", "note"),
    "court_flows.csv": ("year", "measure", "value", "unit", "source_id", "note"),
    "claims.csv": (
        "claim_id",
        "date",
        "who",
        "claim",
        "value_low",
        "value_high",
        "unit",
        "definition",
        "source_id",
    ),
    "article_group_shares_2020.csv": (
        "year",
        "group",
        "convicted_main",
        "total_convicted_all_articles",
        "share",
        "source_id",
        "note",
    ),
}
WIDE = "dostoevsky_2020_by_part_wide.csv"
WIDE_KEYS = ("year", "clause", "part", "name")  # then 71 numeric parameters (counts of persons or offences)
ROW_TYPES = ("part", "article_without_parts", "article_aggregate", "article_total_selected")


class StatsError(ValueError):
    """A bundled file that cannot be trusted: which file, row, column and value, and what was expected.

    ``problem`` is an English msgid filled with ``values``; ``text(lang)`` gives the message in Russian too."""

    def __init__(
        self, file: str, problem: str, row: int | None = None, column: str | None = None, **values: str
    ) -> None:
        self.file, self.row, self.column, self.problem, self.values = file, row, column, problem, values
        super().__init__(self.text("en"))

    def text(self, lang: str = "en") -> str:
        from warexempt.explain.i18n import gettext

        where = self.file
        if self.row is not None:
            where = gettext(lang, "{file}, row {row}", file=where, row=str(self.row))
        if self.column:
            where = gettext(lang, "{where}, column {column}", where=where, column=self.column)
        return f"{where}: {gettext(lang, self.problem, **self.values)}"


EMPTY = N_("{measure} for {period} is empty in the data: {note}")
UNKNOWN_SOURCE = N_("source_id {value} is not in sources.csv")


@dataclass(frozen=True)
class Source:
    source_id: str
    title: str
    publisher: str
    date: str
    url: str
    notes: str


@dataclass(frozen=True)
class Figure:
    """One published figure: a year-level measure (``court_flows.csv``), a claim's range (``claims.csv``) or a
    selected article total (``convictions_by_article.csv``), with its source. ``value`` is None where the source's
    figure could not be verified (the README's deliberate gaps)."""

    file: str
    key: str
    period: str
    measure: str
    value: float | None
    value_high: float | None
    unit: str
    source_id: str
    note: str

    @property
    def source_ids(self) -> list[str]:
        return [s.strip() for s in self.source_id.split(";")]


@dataclass(frozen=True)
class PartRow:
    """One article part of the 2020 file by part: its charge code as the data names it (``105:1``, ``106``) and
    every numeric parameter (``totalConvicted``, ``acquittal``, ``addTotalPersons``, ...)."""

    code: str
    article: str
    name: str
    values: dict[str, float]


@dataclass
class Statistics:
    """Every bundled figure, checked. ``hashes``: SHA-256 of each bundled file (what an estimate was made from)."""

    sources: dict[str, Source]
    figures: list[Figure]
    parts: list[PartRow]
    article_totals: dict[tuple[int, str], Figure]  # (year, article) → a selected total from the press
    hashes: dict[str, str]
    provenance: list[dict[str, Any]] = field(default_factory=list)

    def flow(self, measure: str, period: str) -> Figure:
        """The figure of ``court_flows.csv`` for a measure and a period (``2019``, ``2025H1``, ``2024-01-01``)."""
        for f in self.figures:
            if f.file == "court_flows.csv" and f.measure == measure and f.period == period:
                return f
        raise StatsError(
            "court_flows.csv", N_("no figure {measure} for {period}"), measure=repr(measure), period=repr(period)
        )

    def value(self, measure: str, period: str) -> float:
        """A figure's value; a deliberately empty one is an error here (it must not be used as a number)."""
        f = self.flow(measure, period)
        if f.value is None:
            raise StatsError("court_flows.csv", EMPTY, measure=repr(measure), period=repr(period), note=f.note)
        return f.value

    def claim(self, claim_id: str) -> Figure:
        for f in self.figures:
            if f.file == "claims.csv" and f.key == claim_id:
                return f
        raise StatsError("claims.csv", N_("no claim {claim}"), claim=repr(claim_id))

    def source(self, source_id: str) -> Source:
        return self.sources[source_id]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(folder: Path, name: str, expected: tuple[str, ...] | None) -> list[dict[str, str]]:
    path = folder / name
    if not path.is_file():
        raise StatsError(name, N_("the file is missing from {folder}"), folder=str(folder))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise StatsError(
            name, N_("not UTF-8 text ({reason} at byte {byte})"), reason=e.reason, byte=str(e.start)
        ) from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise StatsError(name, N_("the file is empty"))
    if expected is not None and tuple(header) != expected:
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        raise StatsError(
            name,
            N_("columns {found} differ from the expected {expected} (missing {missing}, unknown {unknown})"),
            found=str(header), expected=str(list(expected)), missing=str(missing), unknown=str(extra),
        )  # fmt: skip
    out = []
    for n, values in enumerate(reader, start=2):
        if len(values) != len(header):
            raise StatsError(
                name,
                N_("{fields} fields where the header has {header}"),
                n,
                fields=str(len(values)),
                header=str(len(header)),
            )
        out.append(dict(zip(header, values, strict=True)) | {"_row": str(n)})
    return out


def _number(name: str, row: dict[str, str], column: str, empty_ok: bool = False) -> float | None:
    text = row[column].strip()
    if not text:
        if empty_ok:
            return None
        raise StatsError(name, N_("empty; expected a number"), int(row["_row"]), column)
    try:
        value = float(text)
    except ValueError:
        raise StatsError(name, N_("{value} is not a number"), int(row["_row"]), column, value=repr(text)) from None
    if value < 0 and column not in ("value",):
        raise StatsError(
            name,
            N_("{value} is negative; expected a count of persons or cases"),
            int(row["_row"]),
            column,
            value=repr(text),
        )
    return value


def _check_source(name: str, row: dict[str, str], sources: dict[str, Source]) -> str:
    """The row's source id (several joined by ``;`` where a figure rests on more than one source)."""
    sid = row["source_id"]
    for one in sid.split(";"):
        if one.strip() not in sources:
            raise StatsError(name, UNKNOWN_SOURCE, int(row["_row"]), "source_id", value=repr(one.strip()))
    return sid


def _check_hashes(folder: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    path = folder / PROVENANCE
    if not path.is_file():
        raise StatsError(PROVENANCE, N_("the provenance file is missing from {folder}"), folder=str(folder))
    listed = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries: list[dict[str, Any]] = listed.get("files", []) if isinstance(listed, dict) else []
    hashes: dict[str, str] = {}
    for entry in entries:
        for key in ("file", "sha256", "source", "date", "definition"):
            if key not in entry:
                raise StatsError(PROVENANCE, N_("an entry lacks {key}: {entry}"), key=repr(key), entry=str(entry))
        name = str(entry["file"])
        if not (folder / name).is_file():
            raise StatsError(name, N_("listed in provenance.yaml but missing"))
        found = _sha256(folder / name)
        if found != entry["sha256"]:
            raise StatsError(
                name, N_("SHA-256 {found} differs from provenance.yaml ({listed}): the file was changed"),
                found=found, listed=str(entry["sha256"]),
            )  # fmt: skip
        hashes[name] = found
    for name in [*COLUMNS, WIDE]:
        if name not in hashes:
            raise StatsError(PROVENANCE, N_("{name} has no entry (source, date, definition, sha256)"), name=name)
    return hashes, entries


def _sources(folder: Path) -> dict[str, Source]:
    out: dict[str, Source] = {}
    for row in _rows(folder, "sources.csv", COLUMNS["sources.csv"]):
        sid = row["source_id"].strip()
        if not sid:
            raise StatsError("sources.csv", N_("empty source_id"), int(row["_row"]), "source_id")
        if sid in out:
            raise StatsError(
                "sources.csv", N_("source_id {value} is repeated"), int(row["_row"]), "source_id", value=repr(sid)
            )
        out[sid] = Source(sid, row["title"], row["publisher"], row["date"], row["url"], row["notes"])
    return out


def _flows(folder: Path, sources: dict[str, Source]) -> list[Figure]:
    name = "court_flows.csv"
    out = []
    for row in _rows(folder, name, COLUMNS[name]):
        sid = _check_source(name, row, sources)
        value = _number(name, row, "value", empty_ok=True)
        key = f"{row['year']}:{row['measure']}"
        out.append(Figure(name, key, row["year"], row["measure"], value, value, row["unit"], sid, row["note"]))
    return out


def _claims(folder: Path, sources: dict[str, Source]) -> list[Figure]:
    name = "claims.csv"
    out = []
    for row in _rows(folder, name, COLUMNS[name]):
        sid = _check_source(name, row, sources)
        low = _number(name, row, "value_low", empty_ok=True)
        high = _number(name, row, "value_high", empty_ok=True)
        if low is not None and high is not None and high < low:
            raise StatsError(
                name,
                N_("value_high {high} is below value_low {low}"),
                int(row["_row"]),
                "value_high",
                high=f"{high:g}",
                low=f"{low:g}",
            )
        out.append(
            Figure(name, row["claim_id"], row["date"], row["claim"], low, high, row["unit"], sid, row["definition"])
        )
    return out


def _convictions(folder: Path, sources: dict[str, Source]) -> tuple[dict[int, float], dict[tuple[int, str], Figure]]:
    """Sums of the ``part`` rows by year, and the selected article totals."""
    name = "convictions_by_article.csv"
    sums: dict[int, float] = {}
    totals: dict[tuple[int, str], Figure] = {}
    for row in _rows(folder, name, COLUMNS[name]):
        n = int(row["_row"])
        sid = _check_source(name, row, sources)
        if row["row_type"] not in ROW_TYPES:
            raise StatsError(
                name,
                N_("{value} is not one of {expected}"),
                n,
                "row_type",
                value=repr(row["row_type"]),
                expected=", ".join(ROW_TYPES),
            )
        if not row["year"].isdigit():
            raise StatsError(name, N_("{value} is not a year"), n, "year", value=repr(row["year"]))
        year, value = int(row["year"]), _number(name, row, "convicted_main")
        assert value is not None
        if row["row_type"] == "article_total_selected":
            totals[(year, row["article"])] = Figure(
                name, f"{year}:{row['article']}", row["year"], f"convicted_main art. {row['article']}", value, value,
                "persons", sid, row["note"],
            )  # fmt: skip
        else:
            sums[year] = sums.get(year, 0.0) + value
    return sums, totals


def _code(name: str, row: dict[str, str]) -> str | None:
    """The charge code of a row of the wide file (``105ч.1`` → ``105:1``); None for the military aggregate."""
    part = row["part"].strip()
    if not part or not part[0].isdigit():
        return None
    return part.replace("ч.", ":")


def _wide(folder: Path) -> list[PartRow]:
    rows = _rows(folder, WIDE, None)
    header = [c for c in rows[0] if c != "_row"] if rows else []
    if tuple(header[: len(WIDE_KEYS)]) != WIDE_KEYS or "totalConvicted" not in header:
        raise StatsError(
            WIDE,
            N_("columns start {found}; expected {expected} then the parameters"),
            found=str(header[:5]),
            expected=str(list(WIDE_KEYS)),
        )
    numeric = header[len(WIDE_KEYS) :]
    merged: dict[str, PartRow] = {}  # arts 134, 135, 165: old and new editions' rows summed per part (README)
    for row in rows:
        # an empty parameter is one the source does not give (the military aggregate row has only totalConvicted)
        values = {c: _number(WIDE, row, c, empty_ok=c != "totalConvicted") or 0.0 for c in numeric}
        code = _code(WIDE, row) or "331-352"
        if code in merged:
            old = merged[code]
            values = {c: old.values[c] + v for c, v in values.items()}
        merged[code] = PartRow(code, row["clause"], row["name"], values)
    return list(merged.values())


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol


def load(folder: Path | str | None = None) -> Statistics:
    """Read and check the statistics in ``folder`` (default: the bundled ones); ``StatsError`` on any problem."""
    where = Path(folder) if folder is not None else DATA
    hashes, provenance = _check_hashes(where)
    sources = _sources(where)
    figures = _flows(where, sources) + _claims(where, sources)
    sums, totals = _convictions(where, sources)
    parts = _wide(where)
    stats = Statistics(sources, figures + list(totals.values()), parts, totals, hashes, provenance)
    official = stats.value(TOTAL_2020, "2020")
    if not _close(sums.get(2020, 0.0), official, 0.5):
        raise StatsError(
            "convictions_by_article.csv",
            N_("the 2020 part rows sum to {found}, not the official 2020 total {official}"),
            found=f"{sums.get(2020, 0.0):,.0f}",
            official=f"{official:,.0f}",
        )
    wide_sum = sum(p.values["totalConvicted"] for p in parts)
    if not _close(wide_sum, official, 0.5):
        raise StatsError(
            WIDE,
            N_("totalConvicted sums to {found}, not the official 2020 total {official}"),
            found=f"{wide_sum:,.0f}",
            official=f"{official:,.0f}",
        )
    _check_groups(where, sources, official)
    return stats


def _check_groups(folder: Path, sources: dict[str, Source], official: float) -> None:
    name = "article_group_shares_2020.csv"
    for row in _rows(folder, name, COLUMNS[name]):
        _check_source(name, row, sources)
        count, total, share = (
            _number(name, row, c) for c in ("convicted_main", "total_convicted_all_articles", "share")
        )
        assert count is not None and total is not None and share is not None
        if not _close(total, official, 0.5):
            raise StatsError(
                name,
                N_("total {found} is not the 2020 total {official}"),
                int(row["_row"]),
                found=f"{total:,.0f}",
                official=f"{official:,.0f}",
            )
        if not _close(count / total, share, 5e-6 + 1e-3 * share):
            raise StatsError(
                name,
                N_("share {share} is not {count}/{total}"),
                int(row["_row"]),
                "share",
                share=str(share),
                count=f"{count:g}",
                total=f"{total:g}",
            )


@cache
def bundled() -> Statistics:
    """The bundled statistics, read and checked once a process."""
    return load()
