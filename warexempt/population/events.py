"""A long events file beside a case file (``warexempt bulk CASES --events EVENTS``): one row per event.

Columns: ``case_id, date, kind`` and optional ``event_id, ground, stage, charge`` (``rules.frames.EVENT_SCHEMA``),
as the register and the case histories hold them. Each row's words are checked against the vocabulary (the kind,
and the field its kind requires); a row that cannot be read is a row of the errors file — its line in the events
file, the column, the value, what was expected — and its case is left out (its history would be incomplete).
What cannot be true of a history as a whole (RULES.md §5) is the engine's to find, as for every caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from warexempt.law.tables import LawTables
from warexempt.population.checks import ERROR_SCHEMA, NOT_A_DATE
from warexempt.population.source import BulkFileError
from warexempt.rules.frames import Prepared, coded_events
from warexempt.rules.history import NO_DAY, NONE, Ints

REQUIRED = ("case_id", "date", "kind")
OPTIONAL = ("event_id", "ground", "stage", "charge")
UNKNOWN = -2  # among the places of words: a word the vocabulary does not have (``NONE``: no word given)
TEXT = ("case_id", "kind", "ground", "stage", "charge")
LOWER = ("kind", "ground", "stage")  # read without regard to case, as ``check`` reads them (State_Award, Trial)


@dataclass
class EventsFile:
    """The readable events, as numbers, in the file's order (a row whose case_id is repeated in the case file once
    for each of its rows), the errors, and the cases with an unreadable event.

    ``case``: the event's case, its place in ``read_events``'s ``case_ids``; ``kind``, ``ground``, ``stage``: places
    in the vocabulary's events, discharge grounds and stages (``NONE``: not given; ``UNKNOWN``: a word it does not
    have, given where the kind needs none); ``charge``: a place in ``charges``, the charge codes given (stripped,
    sorted); ``day``: day numbers; ``ids``: each event's id (``event_id``, else ``line N``)."""

    case: Ints
    day: Ints
    kind: Ints
    ground: Ints
    stage: Ints
    charge: Ints
    charges: list[str]
    ids: pl.Series
    errors: pl.DataFrame
    bad_cases: set[str]

    def encoded(self, t: LawTables, rows: npt.NDArray[np.int64] | None = None) -> Prepared:
        """The events as the engine's (``rules.frames.Prepared``: as ``encode_events`` makes them from the texts).

        ``rows``: [case's place in ``case_ids``] → its place among the cases decided, -1 for a case set aside
        (its events go with it)."""
        case, fields, ids = self.case, [self.day, self.kind, self.ground, self.stage, self.charge], self.ids
        if rows is not None:
            case = rows[case]
            kept = case >= 0
            if not kept.all():
                case, fields, ids = case[kept], [f[kept] for f in fields], ids.filter(pl.Series(kept))
        day, kind, ground, stage, charge = fields  # (a word the vocabulary does not have is an error row)
        present = np.bincount(charge[charge >= 0], minlength=len(self.charges)) > 0
        codes = [c for c, used in zip(self.charges, present, strict=True) if used]  # those of the events kept
        if len(codes) < len(self.charges):
            charge = np.where(charge >= 0, (np.cumsum(present) - 1)[np.maximum(charge, 0)], NONE)
        return coded_events(case, day, kind, ground, stage, charge, t), ids, codes


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise BulkFileError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".txt"):
            frame = pl.read_csv(path, infer_schema=False)
        else:
            raise BulkFileError(f"{path}: expected a .csv or .parquet events file")
    except pl.exceptions.PolarsError:
        raise BulkFileError(f"{path}: cannot be read as an events file (CSV or Parquet)") from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    _columns(path, frame.columns)
    return frame.with_columns(pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in frame.columns)


def scan_events(path: Path) -> pl.LazyFrame:
    """The events file as a query (a bulk run in chunks reads only each chunk's cases' events): the columns named
    and completed as ``read_events`` reads them, each row with its ``line``. The file's header is checked now."""
    if not path.is_file():
        raise BulkFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".txt"):
        raise BulkFileError(f"{path}: expected a .csv or .parquet events file")
    try:
        scan = pl.scan_parquet(path) if suffix == ".parquet" else pl.scan_csv(path, infer_schema=False)
        names = scan.collect_schema().names()
    except pl.exceptions.PolarsError:
        raise BulkFileError(f"{path}: cannot be read as an events file (CSV or Parquet)") from None
    given = [c.strip().lower() for c in names]
    _columns(path, given)
    scan = scan.rename(dict(zip(names, given, strict=True)))
    scan = scan.with_columns(pl.lit(None, pl.String).alias(c) for c in OPTIONAL if c not in given)
    return scan.with_row_index("line", offset=2)


def _columns(path: Path, columns: list[str]) -> None:
    """Stop on an events file without the columns it needs, or with columns it does not have."""
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise BulkFileError(
            f"{path}: missing column(s) {', '.join(missing)}; an events file has {', '.join(REQUIRED)} and optional "
            f"{', '.join(OPTIONAL)}"
        )
    extra = [c for c in columns if c not in (*REQUIRED, *OPTIONAL)]
    if extra:
        raise BulkFileError(f"{path}: unknown column(s) {', '.join(extra)} in the events file")


def read_events(path: Path | None, t: LawTables, case_ids: pl.Series, frame: pl.DataFrame | None = None) -> EventsFile:
    """Read and check an events file against the vocabulary and the cases' ids.

    A file of millions of events holds a handful of words (kinds, grounds, stages, charges) and its events come
    grouped by case: each word is matched once as written (an enum cast) and cleaned only where it is not a word
    as written, and each run of one case's events is matched to its case once (at once, when the runs are the
    cases in the case file's order). The checks run on those numbers; only the (few) rows that fail one are read
    again, as text, to be described.

    ``frame``: the events already read (some rows of ``scan_events``, with their lines), instead of ``path``."""
    vocab = t.law.vocabulary
    if frame is None:
        if path is None:
            raise ValueError("read_events needs a path or a frame")
        frame = _read(path)
        line = pl.int_range(2, frame.height + 2, dtype=pl.UInt32, eager=True)  # the header is line 1
    else:
        line = frame["line"]
    ids = case_ids.cast(pl.String)
    kinds = vocab.ids("events")
    # the runs of case ids and the kinds as written side by side (two threads), then the few grounds and stages
    first = frame.select(pl.col("case_id").rle_id().cast(pl.Int32).alias("_run"), _as_written("kind", kinds))
    kind = _mended(first["kind"].to_numpy(), frame["kind"], kinds)
    ground = _word_codes(frame["ground"], vocab.ids("discharge_grounds"))
    stage = _word_codes(frame["stage"], vocab.ids("stages"))
    place, entry = _case_places(frame["case_id"], ids, first["_run"].to_numpy())
    if entry is not None:  # (entry: the file's row of each event; None: one each)
        frame, line, kind, ground, stage = frame[entry], line.gather(entry), kind[entry], ground[entry], stage[entry]
    charge, charges = _text_codes(frame["charge"])
    day, no_date = _days(frame["date"])
    bad = _failing(t, place, no_date, kind, ground, stage, charge)
    errors = pl.DataFrame(schema=ERROR_SCHEMA)
    if bad.any():
        at = np.flatnonzero(bad)
        errors = _described(frame[at].with_columns(line=line.gather(at), _k=pl.Series(place[at])), t)
        bad |= np.isin(place, np.unique(place[bad & (place != NONE)]))  # and every event of a case with one
    named = _event_ids(frame["event_id"], line)
    fields = [place, day, kind, ground, stage, charge]
    if bad.any():
        fields, named = [f[~bad] for f in fields], named.filter(pl.Series(~bad))
    case, day, kind, ground, stage, charge = fields
    bad_cases = set(errors["case_id"].drop_nulls().to_list())
    return EventsFile(case, day, kind, ground, stage, charge, charges, named, errors, bad_cases)


def _failing(
    t: LawTables, place: Ints, no_date: npt.NDArray[np.bool_], kind: Ints, ground: Ints, stage: Ints, charge: Ints
) -> npt.NDArray[np.bool_]:
    """The events that fail a check of ``_described``: no such case, no date, an unknown kind, a kind without
    the ground, stage or charge it requires, or a ground or stage that is not a word of the vocabulary."""
    vocab = t.law.vocabulary
    kinds, fields = vocab.ids("events"), ("ground", "stage", "charge")
    requires = {e.id: e.requires for e in vocab.events}
    bits = [sum(1 << i for i, f in enumerate(fields) if f in requires[k]) for k in kinds]
    needs = np.array([*bits, 0], dtype=np.uint8)[np.where(kind >= 0, kind, len(kinds))]  # (unknown: in error)
    bad: npt.NDArray[np.bool_] = (place == NONE) | no_date | (kind < 0)
    bad |= ((needs & 1) > 0) & (ground < 0)
    bad |= ((needs & 2) > 0) & (stage < 0)
    bad |= ((needs & 4) > 0) & (charge == NONE)
    bad |= (ground == UNKNOWN) | (stage == UNKNOWN)
    return bad


def _event_ids(given: pl.Series, line: pl.Series) -> pl.Series:
    """Each event's id: its ``event_id``, else ``line N``. Whole numbers stay numbers (made text when a decision
    names one: a million answers, not four million events)."""
    if given.null_count():
        named = pl.DataFrame({"event_id": given.cast(pl.String), "line": line})
        return named.select(pl.col("event_id").fill_null(pl.format("line {}", "line")))["event_id"]
    if given.dtype.is_integer() or given.dtype == pl.String:
        return given.alias("event_id")
    return given.cast(pl.String).alias("event_id")


def _case_places(given: pl.Series, ids: pl.Series, run: Ints) -> tuple[Ints, npt.NDArray[np.int64] | None]:
    """Each event's case: its place in ``ids`` (``NONE``: no case has its id, stripped of spaces), one ``run`` of
    equal neighbours (``rle_id``) at a time. If an id is repeated among ``ids``, an event of it is there once for
    each of its cases (as a join of the rows): then also the file's row of each entry, else None."""
    n = len(given)
    if not n or not len(ids):
        return np.full(n, NONE, dtype=np.int32), None
    runs = given.filter(pl.Series(np.r_[True, run[1:] != run[:-1]])).cast(pl.String).str.strip_chars()
    increasing = _increasing(ids)
    same = len(runs) == len(ids) and not runs.null_count() and runs.equals(ids, check_names=False)
    if same and (increasing or ids.n_unique() == len(ids)):  # the runs are the cases, in their order
        return run, None
    if increasing and len(runs) <= len(ids) and not runs.null_count():
        # events in the sorted case file's order (a register's export): the runs are the cases with events, in
        # order, if the ids among the runs' (by hash) are the runs, one by one
        at = pl.Series(np.flatnonzero(ids.hash(seed=1).is_in(runs.hash(seed=1).implode()).to_numpy()))
        if len(at) == len(runs) and (ids.gather(at) == runs).all():
            return _places(at, NONE)[run], None
    if increasing:  # a sorted case file: each run's case found by bisection
        at = ids.search_sorted(runs).clip(0, len(ids) - 1)
        hit = (ids.gather(at) == runs).fill_null(False).to_numpy()
        places: Ints = np.where(hit, _places(at, NONE), NONE).astype(np.int32)
        return places[run], None
    index = pl.DataFrame({"case_id": ids}).with_row_index("_k")
    found = pl.DataFrame({"case_id": runs}).join(index, on="case_id", how="left", maintain_order="left")
    if found.height == len(runs):
        return _places(found["_k"], NONE)[run], None
    rows = pl.DataFrame({"case_id": given.cast(pl.String).str.strip_chars()}).with_row_index("_e")
    pairs = rows.join(index, on="case_id", how="left", maintain_order="left")  # (an id repeated in the case file)
    entry: npt.NDArray[np.int64] = pairs["_e"].cast(pl.Int64).to_numpy()
    return _places(pairs["_k"], NONE), entry


def _increasing(ids: pl.Series) -> bool:
    """Whether ``ids`` are sorted with no two equal and none missing: then they are distinct, found so without
    hashing them."""
    if ids.null_count():
        return False
    return bool((ids.slice(1) > ids.slice(0, len(ids) - 1)).all()) if len(ids) > 1 else True


def _cleaned(text: pl.Series, lower: bool) -> pl.Series:
    stripped = text.str.strip_chars()
    return stripped.str.to_lowercase() if lower else stripped


def _places(values: pl.Series, fill: int) -> Ints:
    found: Ints = values.to_physical().cast(pl.Int32).fill_null(fill).to_numpy()
    return found


def _as_written(column: str, words: list[str]) -> pl.Expr:
    """A column's places in ``words`` where its value is a word as written (``NONE`` elsewhere): an enum cast,
    that hashes each value once (``_mended`` reads the others)."""
    text = pl.col(column).cast(pl.String)
    if _cleaned(pl.Series(words, dtype=pl.String), lower=True).to_list() != words:
        text = text.str.strip_chars().str.to_lowercase()  # (a word that is not as ``check`` reads words)
    return text.cast(pl.Enum(words), strict=False).to_physical().cast(pl.Int32).fill_null(NONE).alias(column)


def _word_codes(values: pl.Series, words: list[str]) -> Ints:
    """``_mended(_as_written(...))`` of a column; of one mostly not given (a ground, a stage), only the values given
    are read."""
    if values.null_count() > len(values) // 2:
        given = values.is_not_null().to_numpy()
        codes = np.full(len(values), NONE, dtype=np.int32)
        codes[given] = _word_codes(values.filter(pl.Series(given)), words)
        return codes
    first = values.to_frame("value").select(_as_written("value", words))
    return _mended(first["value"].to_numpy(), values, words)


def _mended(codes: Ints, values: pl.Series, words: list[str]) -> Ints:
    """``codes`` (``_as_written``) with the values that are not a word as written read as ``check`` reads them,
    without surrounding spaces and of case: each value's place in ``words``, ``NONE`` where none is given,
    ``UNKNOWN`` for a word not there."""
    missed = np.flatnonzero(codes == NONE)
    if missed.size and values.null_count():
        missed = missed[values.gather(missed).is_not_null().to_numpy()]
    if not missed.size:
        return codes
    mended = codes.copy()
    text = values.gather(missed).cast(pl.String)
    mended[missed] = _places(_cleaned(text, lower=True).cast(pl.Enum(words), strict=False), UNKNOWN)
    return mended


def _text_codes(values: pl.Series) -> tuple[Ints, list[str]]:
    """Each value's place among the values given (stripped of spaces, sorted), ``NONE`` where none is: the texts
    are cleaned once each."""
    text = values.cast(pl.String)
    if text.null_count() > len(text) // 2:  # mostly not given (a charge is a new offence's): only those given
        present = text.is_not_null().to_numpy()
        codes = np.full(len(text), NONE, dtype=np.int32)
        codes[present], texts = _text_codes(text.filter(pl.Series(present)))
        return codes, texts
    given = text.unique().drop_nulls()
    cleaned = _cleaned(given, lower=False).to_list()
    texts = sorted(set(cleaned))
    number = {x: i for i, x in enumerate(texts)}
    table = np.array([number[x] for x in cleaned] or [NONE], dtype=np.int32)
    raw = _places(text.cast(pl.Enum(given.to_list())), NONE)
    return np.where(raw == NONE, NONE, table[np.maximum(raw, 0)]).astype(np.int32), texts


def _days(date: pl.Series) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Day numbers (``NO_DAY`` for no date) and where there is none: a Date as it is, else text as YYYY-MM-DD."""
    if date.dtype != pl.Date:
        date = date.cast(pl.String).str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    return _places(date, NO_DAY), date.is_null().to_numpy()


def _described(suspect: pl.DataFrame, t: LawTables) -> pl.DataFrame:
    """The errors of the rows that fail a check (``suspect``, with their lines and their cases' places ``_k``): one
    row per check failed — the line, the column, the value as read and what was expected."""
    vocab = t.law.vocabulary
    text = {c: pl.col(c).cast(pl.String).str.strip_chars() for c in TEXT}
    text.update({c: text[c].str.to_lowercase() for c in LOWER})
    date = pl.col("date")
    parsed = (
        date
        if suspect.schema["date"] == pl.Date
        else date.cast(pl.String).str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    )
    suspect = suspect.with_columns(**text, _date=parsed)
    kinds, grounds, stages = vocab.ids("events"), vocab.ids("discharge_grounds"), vocab.ids("stages")
    needs = {field: [e.id for e in vocab.events if field in e.requires] for field in ("ground", "stage", "charge")}
    known = pl.col("kind").is_in(kinds).fill_null(False)

    def needed(field: str) -> pl.Expr:
        return pl.col("kind").is_in(needs[field]).fill_null(False)

    def word(field: str, words: list[str]) -> pl.Expr:
        return pl.col(field).is_in(words).fill_null(False)

    checks = [
        ("case_id", pl.col("_k") == NONE, "case_id", "no such case in the case file"),
        ("date", pl.col("_date").is_null(), "date", NOT_A_DATE),
        ("kind", ~known, "kind", f"unknown event kind (expected one of {', '.join(kinds)})"),
        (
            "ground",
            needed("ground") & ~word("ground", grounds),
            "ground",
            f"a discharge needs a ground: one of {', '.join(grounds)}",
        ),
        (
            "ground",
            ~needed("ground") & pl.col("ground").is_not_null() & ~word("ground", grounds),
            "ground",
            f"not a discharge ground (expected one of {', '.join(grounds)})",
        ),
        (
            "stage",
            needed("stage") & ~word("stage", stages),
            "stage",
            f"a stage change needs a stage: one of {', '.join(stages)}",
        ),
        (
            "stage",
            ~needed("stage") & pl.col("stage").is_not_null() & ~word("stage", stages),
            "stage",
            f"not a stage (expected one of {', '.join(stages)})",
        ),
        (
            "charge",
            needed("charge") & pl.col("charge").is_null(),
            "charge",
            "a new offence needs the charge code of the new crime, e.g. 338:4",
        ),
    ]
    return (
        pl.concat(
            [
                suspect.filter(test.fill_null(False)).select(
                    row=pl.col("line").cast(pl.Int64),
                    case_id="case_id",
                    column=pl.lit(f"events:{name}"),
                    value=pl.col(shown).cast(pl.String),
                    reason=pl.lit(reason),
                )
                for name, test, shown, reason in checks
            ]
        )
        .cast(dict(ERROR_SCHEMA))  # type: ignore[arg-type]
        .sort("row", maintain_order=True)
    )
