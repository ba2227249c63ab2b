"""The law catalog: loads every instrument file and turns them into a few small dated tables.

The engine never asks "which law applies?" in code. Every row of a law file (a route, an exclusion-list version, an
event rule) has a validity window; the catalog cuts the time line at every date where any row starts or ends, and
resolves, for each resulting *segment* and each key (stage, list, event), the row in force (``rules.tables`` lays
those answers out as arrays for the engine). Where windows overlap, the row that started latest wins, so an amendment
is a new file whose rows start on its date.
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from warexempt.law.codes import ChargeCodeError, parse_charge
from warexempt.law.criminal_code import CriminalCode, Gravity
from warexempt.law.errors import LawDataError
from warexempt.law.models import (
    EventRule,
    ExclusionItem,
    ExclusionList,
    Fact,
    FactRef,
    Instrument,
    Provision,
    Route,
    StageDef,
    Vocabulary,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
FAR_PAST = dt.date(1900, 1, 1)
FAR_FUTURE = dt.date(9999, 12, 31)
T = TypeVar("T")


# libyaml's safe loader when PyYAML was built with it (ten times faster: it is most of the start-up of a command).
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, through libyaml where available."""
    return yaml.load(text, Loader=SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LawDataError(f"{path.name}: cannot read YAML: {exc}") from exc


def _validate(model: type[T], data: Any, path: Path) -> T:
    try:
        return model.model_validate(data)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as exc:
        lines = [
            f"{path.name}: {'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
        ]
        raise LawDataError("invalid law data\n" + "\n".join(lines)) from exc


@dataclass(frozen=True)
class Window:
    """A row of a law file with its resolved validity window and the instrument it comes from."""

    instrument: Instrument
    start: dt.date
    end: dt.date  # inclusive
    order: int  # load order, the tie-breaker between rows that start on the same day


@dataclass
class ListVersion:
    key: int
    id: str
    window: Window
    patterns: list[tuple[str, str | None, str | None, str]]  # article, part, point, category
    rests_on: list[FactRef]
    source_urls: list[str]


@dataclass(eq=False)
class Law:
    """Every instrument version, with the dated tables the rules engine joins against."""

    vocabulary: Vocabulary
    provisions: dict[str, list[Provision]]
    instruments: list[Instrument]
    criminal_code: CriminalCode
    gravity: Gravity
    routes: list[tuple[Route, Window]] = field(default_factory=list)
    lists: list[ListVersion] = field(default_factory=list)
    rules: list[tuple[EventRule, Window]] = field(default_factory=list)
    facts: dict[str, Fact] = field(default_factory=dict)

    def stage(self, stage_id: str) -> StageDef:
        """The definition of a stage (its decisive event and activation), from ``vocabulary.yaml``."""
        return next(s for s in self.vocabulary.stages if s.id == stage_id)

    # ----------------------------------------------------------------------------------------------- time line
    @cached_property
    def boundaries(self) -> list[dt.date]:
        """Sorted dates at which some row of the law starts or stops applying (segment starts)."""
        cuts: set[dt.date] = set()
        windows = [w for _, w in self.routes] + [v.window for v in self.lists] + [w for _, w in self.rules]
        for w in windows:
            cuts.add(w.start)
            if w.end < FAR_FUTURE:
                cuts.add(w.end + dt.timedelta(days=1))
        for r, _ in self.routes:
            for ref in r.rests_on:
                if ref.until:
                    cuts.add(ref.until + dt.timedelta(days=1))
        return sorted(cuts)

    def segment(self, day: dt.date) -> int:
        """Segment index of a date: 0 before the first boundary, i after boundary i-1."""
        return bisect.bisect_right(self.boundaries, day)

    def segment_start(self, seg: int) -> dt.date:
        return FAR_PAST if seg == 0 else self.boundaries[seg - 1]

    @staticmethod
    def _pick(candidates: Iterable[tuple[T, Window]], day: dt.date) -> T | None:
        live = [(item, w) for item, w in candidates if w.start <= day <= w.end]
        if not live:
            return None
        return max(live, key=lambda iw: (iw[1].start, iw[1].order))[0]

    def fact_flags(self, refs: Sequence[FactRef], decisive: dt.date | None) -> list[str]:
        return [r.fact for r in refs if r.until is None or decisive is None or decisive <= r.until]

    # ----------------------------------------------------------------------------------------------- views
    def as_of(self, day: dt.date) -> LawInForce:
        """The law in force on ``day``: routes by stage, exclusion lists, event rules and what is unconfirmed."""
        return LawInForce(self, day)

    def provision(self, pid: str, day: dt.date | None = None) -> Provision | None:
        """The provision with this canonical id (the version in force on ``day`` if several)."""
        versions = self.provisions.get(pid)
        if not versions:
            return None
        if day is not None:
            for v in versions:
                if (v.in_force_from or FAR_PAST) <= day <= (v.in_force_to or FAR_FUTURE):
                    return v
        return versions[-1]

    def timeline(self) -> list[tuple[dt.date, dt.date | None, Instrument]]:
        """Every instrument version on one time line, oldest first."""
        return sorted(((i.in_force.from_, i.in_force.to, i) for i in self.instruments), key=lambda t: t[0])


@dataclass
class LawInForce:
    """A read-only view of the law on one day (``Law.as_of``)."""

    law: Law
    day: dt.date

    @property
    def instruments(self) -> list[Instrument]:
        return [i for i in self.law.instruments if i.in_force.from_ <= self.day <= (i.in_force.to or FAR_FUTURE)]

    @property
    def routes(self) -> dict[str, Route | None]:
        return {
            s.id: Law._pick(((r, w) for r, w in self.law.routes if r.stage == s.id), self.day)
            for s in self.law.vocabulary.stages
        }

    def instrument_of(self, route: Route) -> Instrument:
        return next(w.instrument for r, w in self.law.routes if r is route)

    @property
    def exclusion_lists(self) -> dict[str, ListVersion]:
        out: dict[str, ListVersion] = {}
        for list_id in sorted({v.id for v in self.law.lists}):
            found = Law._pick(((v, v.window) for v in self.law.lists if v.id == list_id), self.day)
            if found is not None:
                out[list_id] = found
        return out

    @property
    def event_rules(self) -> list[EventRule]:
        live: dict[tuple[str, str], tuple[EventRule, Window]] = {}
        for rule, w in self.law.rules:
            if not w.start <= self.day <= w.end:
                continue
            for stage in rule.stages:
                for key in rule.event_keys():
                    cur = live.get((stage, key))
                    if cur is None or (w.start, w.order) > (cur[1].start, cur[1].order):
                        live[(stage, key)] = (rule, w)
        seen: dict[int, EventRule] = {}
        for rule, _ in live.values():
            seen[id(rule)] = rule
        return list(seen.values())

    @property
    def unconfirmed(self) -> list[Fact]:
        """Facts that the routes, lists and rules in force on this day rest on."""
        refs: list[FactRef] = []
        for route in self.routes.values():
            if route is not None:
                refs.extend(route.rests_on)
        for version in self.exclusion_lists.values():
            refs.extend(version.rests_on)
        for rule in self.event_rules:
            refs.extend(rule.rests_on)
        ids = dict.fromkeys(self.law.fact_flags(refs, self.day))
        return [self.law.facts[i] for i in ids]


# --------------------------------------------------------------------------------------------------- loading
def _load_provisions(path: Path) -> dict[str, list[Provision]]:
    raw = _read_yaml(path)
    out: dict[str, list[Provision]] = {}
    for i, entry in enumerate(raw.get("provisions", [])):
        try:
            prov = Provision.model_validate(entry)
        except ValidationError as exc:
            raise LawDataError(f"{path.name}: provisions.{i}: {exc.errors()[0]['msg']}") from exc
        out.setdefault(prov.id, []).append(prov)
    return out


def _expand(item: ExclusionItem, code: CriminalCode, where: str) -> list[tuple[str, str | None, str | None, str]]:
    if item.range is not None:
        first, last = item.range
        for end in (first, last):
            if code.get(end) is None:
                raise LawDataError(f"{where}: range end {end} is not an article of the Criminal Code")
        return [(a, None, None, item.category) for a in code.articles_between(first, last)]
    assert item.code is not None
    try:
        parsed = parse_charge(item.code)
        code.check(parsed)
    except ChargeCodeError as exc:
        raise LawDataError(f"{where}: {exc}") from exc
    return [(parsed.article, parsed.part, parsed.point, item.category)]


def _resolve_window(start: dt.date | None, end: dt.date | None, inst: Instrument, order: int) -> Window:
    return Window(inst, start or inst.in_force.from_, end or inst.in_force.to or FAR_FUTURE, order)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The bundled vocabulary (stages, events and their same-day order, grounds, outcomes)."""
    return _validate(Vocabulary, _read_yaml(DATA_DIR / "vocabulary.yaml"), DATA_DIR / "vocabulary.yaml")


def load_law(*folders: Path | str) -> Law:
    """Load the bundled law, plus the instrument files of any extra ``folders`` (amendments, tests).

    ``WAREXEMPT_LAW_DIRS`` (``os.pathsep``-separated) adds folders too, so a deployment can add an amendment
    without touching the package.
    """
    extra = [Path(f) for f in folders]
    extra += [Path(p) for p in os.environ.get("WAREXEMPT_LAW_DIRS", "").split(os.pathsep) if p]
    vocab = vocabulary()
    gravity = Gravity(vocab.gravity)
    code = CriminalCode.load(DATA_DIR / "criminal_code", gravity, vocab.point_letters)
    provisions = _load_provisions(DATA_DIR / "provisions.yaml")
    files = sorted((DATA_DIR / "instruments").glob("*.yaml"))
    for folder in extra:
        if not folder.is_dir():
            raise LawDataError(f"{folder}: not a folder of law files")
        files += sorted(folder.glob("*.yaml"))
    instruments = [_validate(Instrument, _read_yaml(p), p) for p in files]
    seen: dict[str, Path] = {}
    for inst, path in zip(instruments, files, strict=True):
        if inst.id in seen:
            raise LawDataError(f"{path.name}: id {inst.id!r} is already used by {seen[inst.id].name}")
        seen[inst.id] = path
    law = Law(vocab, provisions, [], code, gravity)
    order = 0
    # Instruments in force order (then file order): a later instrument's rows win ties on the same start date.
    for inst, path in sorted(zip(instruments, files, strict=True), key=lambda ip: ip[0].in_force.from_):
        law.instruments.append(inst)
        for fact in inst.facts:
            law.facts.setdefault(fact.id, fact)
        for i, route in enumerate(inst.routes):
            law.routes.append((route, _resolve_window(route.from_, route.to, inst, order)))
            order += 1
            _check_ids(law, route.reasons + route.gate_reasons, f"{path.name}: routes.{i}")
        for i, rule in enumerate(inst.events):
            law.rules.append((rule, _resolve_window(rule.from_, rule.to, inst, order)))
            order += 1
            _check_ids(law, rule.reasons, f"{path.name}: events.{i}")
        for i, lst in enumerate(inst.exclusion_lists):
            law.lists.append(_list_version(law, lst, inst, order, f"{path.name}: exclusion_lists.{i}"))
            order += 1
    _check_references(law, zip(instruments, files, strict=True))
    return law


def _list_version(law: Law, lst: ExclusionList, inst: Instrument, order: int, where: str) -> ListVersion:
    patterns: list[tuple[str, str | None, str | None, str]] = []
    if lst.base == "previous":
        previous = [v for v in law.lists if v.id == lst.id]
        if not previous:
            raise LawDataError(f"{where}: base: previous, but no earlier version of list {lst.id!r}")
        patterns = list(previous[-1].patterns)
    for j, item in enumerate(lst.items + lst.add):
        patterns.extend(_expand(item, law.criminal_code, f"{where}.items.{j}"))
    for raw in lst.remove:
        c = parse_charge(raw)
        patterns = [p for p in patterns if (p[0], p[1], p[2]) != (c.article, c.part, c.point)]
    window = _resolve_window(lst.from_, lst.to, inst, order)
    return ListVersion(len(law.lists), lst.id, window, patterns, lst.rests_on, lst.source_urls)


def _check_ids(law: Law, ids: Iterable[str], where: str) -> None:
    for pid in ids:
        if pid in law.provisions:
            continue
        if pid.startswith("uk:"):
            try:
                law.criminal_code.check(pid[3:])
                continue
            except ChargeCodeError:
                pass
        raise LawDataError(f"{where}: reason {pid!r} is not a provision id of provisions.yaml")


def _check_references(law: Law, pairs: Iterable[tuple[Instrument, Path]]) -> None:
    list_ids = {v.id for v in law.lists}
    for inst, path in pairs:
        refs = [(f"routes.{i}", r.rests_on) for i, r in enumerate(inst.routes)]
        refs += [(f"events.{i}", r.rests_on) for i, r in enumerate(inst.events)]
        refs += [(f"exclusion_lists.{i}", v.rests_on) for i, v in enumerate(inst.exclusion_lists)]
        for where, facts in refs:
            for ref in facts:
                if ref.fact not in law.facts:
                    raise LawDataError(f"{path.name}: {where}.rests_on: unknown fact {ref.fact!r}")
        for i, route in enumerate(inst.routes):
            if route.exclusion_list and route.exclusion_list not in list_ids:
                raise LawDataError(f"{path.name}: routes.{i}.exclusion_list: no list {route.exclusion_list!r}")


@lru_cache(maxsize=1)
def bundled_law() -> Law:
    """The bundled law (cached): what the CLI and the API use unless told otherwise."""
    return load_law()


def as_of(day: dt.date | str) -> LawInForce:
    """``warexempt.law.as_of(date)``: the bundled law in force on that day."""
    return bundled_law().as_of(dt.date.fromisoformat(day) if isinstance(day, str) else day)
