"""The law compiled for the engine: flat arrays indexed by small integer keys, built once per ``Law``.

Why: ten million rows cannot afford a join per rule. Every answer the law gives depends on a few small keys (the
stage, the segment of the time line a date falls in, the event, the exclusion-list version, the charge set), so each
table is a flat array indexed by a mixed-radix number of those keys and the engine looks answers up with ``gather``.
The arrays are filled from the same resolved rows as ``Law.as_of`` (``Law._pick`` over the time line's segments), so
there is still one reading of the law; the texts of the answers (outcome, reasons, unconfirmed facts) are indexed the
same way and become categorical columns, so a million rows share a few dozen strings.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import os
import pickle
import sys
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from warexempt.law.criminal_code import CriminalCode

if TYPE_CHECKING:
    from warexempt.law.catalog import Law

# What the unconfirmed facts of a decision are made of (RULES.md §6), by where the evaluation stopped.
FLAGS_NONE, FLAGS_LIST, FLAGS_ROUTE, FLAGS_RULE = range(4)


class Texts:
    """An interning table of answer texts (a reason list, a flag list): index ↔ the list and its ``;``-joined text."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, ...], int] = {}
        self.lists: list[list[str]] = []

    def add(self, items: list[str]) -> int:
        key = tuple(dict.fromkeys(items))
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.lists)
            self.lists.append(list(key))
        return found

    def copy(self) -> Texts:
        other = Texts()
        other.index, other.lists = dict(self.index), list(self.lists)
        return other

    def resolve(self, table: pl.Series, as_lists: bool) -> pl.Series:
        """The texts ``table`` points to: lists of strings, or one enum ``;``-joined text each."""
        if as_lists:
            texts = pl.Series(self.lists, dtype=pl.List(pl.String))
        else:
            joined = [";".join(x) for x in self.lists]
            texts = pl.Series(joined, dtype=pl.Enum(joined))
        return texts.gather(table)

    def column(self, table: pl.Series, index: pl.Expr, as_lists: bool) -> pl.Expr:
        """The texts ``table[index]`` points to, per row. The small table is resolved to texts first, so each row
        costs a single gather on an index column."""
        return pl.lit(self.resolve(table, as_lists)).gather(index)


def u32(values: Sequence[int | None]) -> pl.Series:
    return pl.Series(values, dtype=pl.UInt32)


@dataclass
class LawTables:
    """Everything ``evaluate`` and the charge-set check look up, as arrays and plain values (no reference to the
    ``Law`` it was compiled from, so it can be cached as a whole: ``bundled_tables``). ``R`` routes, ``V`` list
    versions, ``Q`` event rules."""

    boundaries: list[dt.date]  # the cuts of the time line (``Law.boundaries``)
    stages: list[str]
    by_petition: list[str]  # stages whose decisive date is the first petition (else the entry: convicts)
    act_petition: list[str]  # stages activated by the petition (else by the entry)
    grounds: list[str]
    event_keys: list[str]  # state_award, discharged:<ground> in ground order, resumed, died
    outcomes: list[str]
    nseg: int
    route_of: pl.Series  # [stage * nseg + segment] → route or null
    route_covered: pl.Series  # [route]
    route_max_rank: pl.Series  # [route] → gravity rank allowed at most, or null
    route_offence_before: pl.Series  # [route] → offences on or after this date are not covered, or null
    route_outcome: pl.Series  # [route] → outcome index once activated
    lv_of: pl.Series  # [stage * nseg + segment] → the list version the route in force uses, or null
    rule_of: pl.Series  # [(stage * K + event key) * nseg + segment] → event rule or null
    rule_outcome: pl.Series  # [rule] → outcome index
    rule_cleared: pl.Series  # [rule]
    final_of: pl.Series  # like ``rule_of``: whether the rule in force there is final (a release: vocabulary.yaml)
    reasons: Texts
    r_no_route: pl.Series  # [route, or R for none]
    r_eligible: pl.Series  # [route]
    r_activated: pl.Series  # [route]
    r_gate: pl.Series  # [route]
    r_rule: pl.Series  # [rule]
    flags: Texts
    flags_of: pl.Series  # [(kind * R * nseg + route * nseg + segment) * (Q + 1) + extra] → flag text
    list_items: dict[str, list[tuple[int, str | None, str | None]]]  # article → (list version, part, point)
    list_versions: list[str]  # [list version] → the list's id, its first reason
    criminal_code: CriminalCode
    gravity_rank: dict[str, int]  # УК ст. 15 category → rank
    gravity_provision: dict[int, str]  # rank → the provision that defines it
    gravity_gates: list[tuple[int, list[str]]]  # routes with a gravity gate → their gate reasons
    charge_memo: dict[str, object] = field(default_factory=dict)  # charge set text → its assessment (charges.py)
    code_memo: dict[str, object] = field(default_factory=dict)  # one code as typed → its check (charges.py)
    post_answers: pl.DataFrame | None = None  # the answers after the gates, built on first use (engine.py)
    event_answers: pl.Series | None = None  # [event key] → the place of its answer in ``post_answers`` (engine.py)
    event_enum: pl.Enum = field(init=False)
    first_day: int = field(init=False)  # the day before the first cut, in days since 1970-01-01
    segment_of_day: pl.Series = field(init=False)  # [day - first_day] → segment, up to the last cut

    def __post_init__(self) -> None:
        self.event_enum = pl.Enum(self.event_keys)
        cuts = self.boundaries or [dt.date(1970, 1, 2)]
        first = cuts[0] - dt.timedelta(days=1)
        self.first_day = (first - dt.date(1970, 1, 1)).days
        span = (cuts[-1] - first).days + 1
        days = (first + dt.timedelta(days=i) for i in range(span))
        self.segment_of_day = u32([bisect.bisect_right(self.boundaries, d) for d in days])  # as Law.segment

    @property
    def n_routes(self) -> int:
        return len(self.route_covered)

    @property
    def n_rules(self) -> int:
        return len(self.rule_outcome)

    def key(self, name: str) -> int:
        return self.event_keys.index(name)


_CACHE: weakref.WeakKeyDictionary[Law, LawTables] = weakref.WeakKeyDictionary()


def tables(law: Law) -> LawTables:
    """The compiled tables of ``law`` (built on first use, then cached for the life of the ``Law``)."""
    found = _CACHE.get(law)
    if found is None:
        found = _CACHE[law] = _compile(law)
    return found


KEEP_CACHES = 3  # cache files kept in the folder, newest first


def bundled_tables() -> LawTables:
    """The bundled law's tables, from a cache file when the law files have not changed since it was written.

    Why: a command such as ``warexempt bulk`` needs only the tables; loading them from one file skips reading,
    validating and compiling every law file (and importing the schema library), a good part of its start-up. The
    cache's name is a hash of the content of every law file (bundled and ``WAREXEMPT_LAW_DIRS``), of the code that
    compiles them and of the Polars and Python versions, so an edited or added file gives a new name (the newest few
    files are kept); a cache that cannot be read or written is ignored. Its folder is ``WAREXEMPT_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/warexempt``, else ``~/.cache/warexempt``.
    """
    folder = _cache_dir()
    path = folder / f"law-tables-{_fingerprint()}.pickle"
    try:
        with path.open("rb") as fh:
            found = pickle.load(fh)
        if isinstance(found, LawTables):
            return found
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        pass
    from warexempt.law.catalog import bundled_law
    from warexempt.rules.engine import law_answers

    compiled = law_answers(tables(bundled_law()))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=folder, suffix=".partial", delete=False) as tmp:
            try:
                pickle.dump(compiled, tmp, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:
                Path(tmp.name).unlink(missing_ok=True)
                raise
        Path(tmp.name).replace(path)
        # keep the few newest (two checkouts or versions may share the folder), remove the rest
        by_age = sorted(folder.glob("law-tables-*.pickle"), key=lambda f: f.stat().st_mtime, reverse=True)
        for stale in by_age[KEEP_CACHES:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass
    return compiled


def _cache_dir() -> Path:
    if os.environ.get("WAREXEMPT_CACHE_DIR"):
        return Path(os.environ["WAREXEMPT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "warexempt"


def _fingerprint() -> str:
    """A hash of everything the bundled law's tables are made from (see ``bundled_tables``): the law files, and the
    code that reads and compiles them (a changed class must not meet an old pickle)."""
    from warexempt import __version__

    digest = hashlib.blake2b(f"{__version__} {pl.__version__} {sys.version}".encode(), digest_size=16)
    package = Path(__file__).resolve().parent.parent
    sources = [(package / "law", "*.py"), (package / "rules", "*.py"), (package / "law" / "data", "*")]
    sources += [(Path(p), "*") for p in os.environ.get("WAREXEMPT_LAW_DIRS", "").split(os.pathsep) if p]
    for folder, pattern in sources:
        for file in sorted(folder.rglob(pattern)) if folder.is_dir() else []:
            if file.is_file():
                digest.update(str(file.relative_to(folder)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def _compile(law: Law) -> LawTables:
    vocab = law.vocabulary
    stages: list[str] = [s.id for s in vocab.stages]
    grounds = [g.id for g in vocab.discharge_grounds]
    outcomes = [o.id for o in vocab.outcomes]
    keys = ["state_award", *(f"discharged:{g}" for g in grounds), "resumed", "died"]
    nseg = len(law.boundaries) + 1
    starts = [law.segment_start(s) for s in range(nseg)]
    routes = [r for r, _ in law.routes]
    route_index = {id(r): i for i, r in enumerate(routes)}
    list_ids = sorted({v.id for v in law.lists})
    rank = law.gravity.rank

    route_of: list[int | None] = []
    for stage in stages:
        cands = [(r, w) for r, w in law.routes if r.stage == stage]
        for day in starts:
            found = law._pick(cands, day)
            route_of.append(route_index[id(found)] if found is not None else None)
    list_of: list[int | None] = []  # [list id * nseg + segment] → the list version in force
    for list_id in list_ids:
        versions = [(v, v.window) for v in law.lists if v.id == list_id]
        for day in starts:
            picked = law._pick(versions, day)
            list_of.append(picked.key if picked is not None else None)
    rule_of: list[int | None] = []
    for stage in stages:
        for key in keys:
            cands_q = [(i, w) for i, (r, w) in enumerate(law.rules) if stage in r.stages and key in r.event_keys()]
            rule_of.extend(law._pick(cands_q, day) for day in starts)

    def version_used(route: int | None, seg: int) -> int | None:
        """The list version a route uses in a segment (its list's version in force then), if it uses a list."""
        list_id = routes[route].exclusion_list if route is not None else None
        return list_of[list_ids.index(list_id) * nseg + seg] if list_id else None

    reasons = Texts()
    flags = Texts()
    rules = [r for r, _ in law.rules]
    final = {o.id for o in vocab.outcomes if o.final}
    n_rules = len(rules)
    flags_of: list[int] = []
    for kind in range(4):
        for route in routes:
            for seg, day in enumerate(starts):
                v = version_used(route_index[id(route)], seg)
                list_flags = law.fact_flags(law.lists[v].rests_on, day) if v is not None else []
                route_flags = law.fact_flags(route.rests_on, day)
                for extra in range(n_rules + 1):
                    if kind == FLAGS_NONE:
                        items: list[str] = []
                    elif kind == FLAGS_LIST:  # extra: 1 if a code was too coarse to tell
                        items = list_flags + (["needs_detail"] if extra == 1 else [])
                    else:
                        items = route_flags + list_flags
                        if kind == FLAGS_RULE and extra > 0:
                            items += law.fact_flags(rules[extra - 1].rests_on, None)
                    flags_of.append(flags.add(items))
    list_items: dict[str, list[tuple[int, str | None, str | None]]] = {}
    for version in law.lists:
        for article, part, point, _ in version.patterns:
            list_items.setdefault(article, []).append((version.key, part, point))
    return LawTables(
        boundaries=list(law.boundaries),
        stages=stages,
        by_petition=[s.id for s in vocab.stages if s.decisive_event == "petition"],
        act_petition=[s.id for s in vocab.stages if s.activation == "petition"],
        grounds=grounds,
        event_keys=keys,
        outcomes=outcomes,
        nseg=nseg,
        route_of=u32(route_of),
        route_covered=pl.Series([r.covered for r in routes], dtype=pl.Boolean),
        route_max_rank=pl.Series([rank[r.max_gravity] if r.max_gravity else None for r in routes], dtype=pl.Int32),
        route_offence_before=pl.Series([r.offence_before for r in routes], dtype=pl.Date),
        route_outcome=u32([outcomes.index(r.activated.outcome) if r.activated else None for r in routes]),
        lv_of=u32([version_used(r, i % nseg) for i, r in enumerate(route_of)]),
        rule_of=u32(rule_of),
        rule_outcome=u32([outcomes.index(r.outcome) for r in rules]),
        rule_cleared=pl.Series([r.record_cleared for r in rules], dtype=pl.Boolean),
        final_of=pl.Series([None if q is None else rules[q].outcome in final for q in rule_of], dtype=pl.Boolean),
        reasons=reasons,
        r_no_route=u32([*(reasons.add(r.reasons) for r in routes), reasons.add([])]),
        r_eligible=u32([reasons.add(r.reasons) for r in routes]),
        r_activated=u32([reasons.add(r.activated.reasons if r.activated else []) for r in routes]),
        r_gate=u32([reasons.add(r.gate_reasons) for r in routes]),
        r_rule=u32([reasons.add(r.reasons) for r in rules]),
        flags=flags,
        flags_of=u32(flags_of),
        list_items=list_items,
        list_versions=[v.id for v in law.lists],
        criminal_code=law.criminal_code,
        gravity_rank=dict(rank),
        gravity_provision={g.rank: g.provision for g in law.gravity.rows},
        gravity_gates=[(i, list(r.gate_reasons)) for i, r in enumerate(routes) if r.max_gravity],
    )


def day_index(t: LawTables, date_col: pl.Expr) -> pl.Expr:
    """A date (or its day number) as its place in ``t.segment_of_day`` (days outside its span clipped to its ends;
    null stays null). A signed index: ``gather`` takes it as it is, where a cast to unsigned would cost a pass."""
    offset = date_col.to_physical() - t.first_day  # days since 1970 fit Int32 for every date Polars holds
    return offset.clip(0, len(t.segment_of_day) - 1)
