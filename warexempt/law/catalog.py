"""The law catalog: loads every instrument file, checks it against the vocabulary, and answers "what was in force?".

The engine never asks "which law applies?" in code. Every row of a law file (a route, an exclusion-list version, an
event rule) has a validity window and a stable id; the catalog cuts the time line at every date where any row starts
or ends (``boundaries``), and answers, for a stage, an event or a list and a day, the row in force. Where windows
overlap, the row that started latest wins, so an amendment is a new file whose rows start on its date.
``law.tables`` lays those answers out per segment of the time line for the engine.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import os
import weakref
from collections.abc import Callable, Iterable, Sequence
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
# The roles an event rule may act on (RULES.md §4): what can end a cycle.
RULE_ROLES = ("release", "resumption", "new_offence", "death")

# libyaml's safe loader when PyYAML was built with it (ten times faster: it is most of the start-up of a command).
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, through libyaml where available."""
    return yaml.load(text, Loader=SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
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


@dataclass(frozen=True)
class RouteEntry:
    """A route with its stable id (``<instrument>/routes/<stage>``) and validity window."""

    id: str
    route: Route
    window: Window


@dataclass(frozen=True)
class RuleEntry:
    """An event rule with its stable id (``<instrument>/events/<rule id>``) and validity window."""

    id: str
    rule: EventRule
    window: Window


@dataclass(eq=False)
class ListVersion:
    """One version of a list of offences, with its stable id ``<list id>@<first day>`` (``uk:78.1:1@2024-03-23``)."""

    id: str  # the list's id, a provision id (``uk:78.1:1``): its first reason when it excludes a charge
    version: str
    window: Window
    patterns: list[tuple[str, str | None, str | None, str]]  # article, part, point, category
    rests_on: list[FactRef]
    source_urls: list[str]

    @cached_property
    def by_article(self) -> dict[str, list[tuple[str, str | None, str | None, str]]]:
        """The patterns of each article: a code is matched against its own article's few items, not the list."""
        found: dict[str, list[tuple[str, str | None, str | None, str]]] = {}
        for pattern in self.patterns:
            found.setdefault(pattern[0], []).append(pattern)
        return found


def _pick(candidates: Iterable[tuple[T, Window]], day: dt.date) -> T | None:
    """The row in force on ``day``: of those whose window holds it, the one that started latest."""
    live = [(item, w) for item, w in candidates if w.start <= day <= w.end]
    if not live:
        return None
    return max(live, key=lambda iw: (iw[1].start, iw[1].order))[0]


@dataclass(eq=False)
class Law:
    """Every instrument version, with its rows by stable id, and what was in force on any day."""

    vocabulary: Vocabulary
    provisions: dict[str, list[Provision]]
    instruments: list[Instrument]
    criminal_code: CriminalCode
    gravity: Gravity
    fingerprint: str = ""  # a hash of every law file read: what a decision was made under
    routes: list[RouteEntry] = field(default_factory=list)
    lists: list[ListVersion] = field(default_factory=list)
    cited: list[ListVersion] = field(default_factory=list)  # offences cited when committed during service (534-FZ)
    rules: list[RuleEntry] = field(default_factory=list)
    facts: dict[str, Fact] = field(default_factory=dict)

    def stage(self, stage_id: str) -> StageDef:
        """The definition of a stage (which role makes an attempt at it), from ``vocabulary.yaml``."""
        return next(s for s in self.vocabulary.stages if s.id == stage_id)

    def route(self, route_id: str) -> RouteEntry | None:
        return next((r for r in self.routes if r.id == route_id), None)

    def list_version(self, version: str) -> ListVersion | None:
        return next((v for v in self.lists + self.cited if v.version == version), None)

    # ----------------------------------------------------------------------------------------------- time line
    @cached_property
    def boundaries(self) -> list[dt.date]:
        """Sorted dates at which some row of the law starts or stops applying (segment starts)."""
        cuts: set[dt.date] = set()
        windows = [r.window for r in self.routes] + [v.window for v in self.lists + self.cited]
        windows += [r.window for r in self.rules]
        for w in windows:
            cuts.add(w.start)
            if w.end < FAR_FUTURE:
                cuts.add(w.end + dt.timedelta(days=1))
        for entry in self.routes:
            for ref in entry.route.rests_on:
                if ref.until:
                    cuts.add(ref.until + dt.timedelta(days=1))
        return sorted(cuts)

    def segment(self, day: dt.date) -> int:
        """Segment index of a date: 0 before the first boundary, i after boundary i-1."""
        return bisect.bisect_right(self.boundaries, day)

    def segment_start(self, seg: int) -> dt.date:
        return FAR_PAST if seg == 0 else self.boundaries[seg - 1]

    def fact_flags(self, refs: Sequence[FactRef], decisive: dt.date | None) -> list[str]:
        """The ids of the facts ``refs`` that hold on ``decisive`` (a reference may end on a day: ``until``)."""
        return [r.fact for r in refs if r.until is None or decisive is None or decisive <= r.until]

    # ----------------------------------------------------------------------------------------------- in force
    def route_on(self, stage: str, day: dt.date) -> RouteEntry | None:
        """The route in force for ``stage`` on ``day`` (RULES.md §2), if any."""
        return _pick(((r, r.window) for r in self.routes if r.route.stage == stage), day)

    def list_on(self, list_id: str, day: dt.date, cited: bool = False) -> ListVersion | None:
        """The version of a list in force on ``day``."""
        return _pick(((v, v.window) for v in (self.cited if cited else self.lists) if v.id == list_id), day)

    def rule_on(self, stage: str, key: str, day: dt.date) -> RuleEntry | None:
        """The event rule in force on ``day`` for an event (``state_award``, ``discharged:age``) at ``stage``."""
        with_ground = {e.id for e in self.vocabulary.events if "ground" in e.requires}
        found = [(r, r.window) for r in self.rules if stage in r.rule.stages and key in r.rule.event_keys(with_ground)]
        return _pick(found, day)

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
        """Every instrument version on one time line, oldest first (a documented-only one at its first milestone)."""
        dated = [(i.start, i.in_force.to, i) for i in self.instruments]
        return sorted(((s, e, i) for s, e, i in dated if s is not None), key=lambda t: t[0])


@dataclass
class LawInForce:
    """A read-only view of the law on one day (``Law.as_of``)."""

    law: Law
    day: dt.date

    @property
    def instruments(self) -> list[Instrument]:
        return [
            i
            for i in self.law.instruments
            if i.in_force.from_ is not None and i.in_force.from_ <= self.day <= (i.in_force.to or FAR_FUTURE)
        ]

    @property
    def routes(self) -> dict[str, RouteEntry | None]:
        return {s.id: self.law.route_on(s.id, self.day) for s in self.law.vocabulary.stages}

    @property
    def exclusion_lists(self) -> dict[str, ListVersion]:
        out: dict[str, ListVersion] = {}
        for list_id in sorted({v.id for v in self.law.lists}):
            found = self.law.list_on(list_id, self.day)
            if found is not None:
                out[list_id] = found
        return out

    @property
    def event_rules(self) -> list[RuleEntry]:
        """The event rules in force: for each stage and event, the one that applies on this day."""
        seen: dict[str, RuleEntry] = {}
        for stage in self.law.vocabulary.ids("stages"):
            for kind, ground in self.law.vocabulary.event_keys():
                found = self.law.rule_on(stage, f"{kind}:{ground}" if ground else kind, self.day)
                if found is not None:
                    seen.setdefault(found.id, found)
        return list(seen.values())

    @property
    def unconfirmed(self) -> list[Fact]:
        """Facts that the routes, lists and rules in force on this day rest on."""
        refs: list[FactRef] = []
        for entry in self.routes.values():
            if entry is not None:
                refs.extend(entry.route.rests_on)
        for version in self.exclusion_lists.values():
            refs.extend(version.rests_on)
        for rule in self.event_rules:
            refs.extend(rule.rule.rests_on)
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


def _window(start: dt.date | None, end: dt.date | None, inst: Instrument, order: int) -> Window:
    first = start or inst.in_force.from_
    assert first is not None  # an instrument with rows is dated (``Instrument._dated``)
    return Window(inst, first, end or inst.in_force.to or FAR_FUTURE, order)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The bundled vocabulary (stages, roles and event kinds, grounds, outcomes)."""
    return _validate(Vocabulary, _read_yaml(DATA_DIR / "vocabulary.yaml"), DATA_DIR / "vocabulary.yaml")


def law_folders(*folders: Path | str) -> list[Path]:
    """The folders of instrument files: the bundled one, ``folders``, and those of ``WAREXEMPT_LAW_DIRS``."""
    extra = [Path(f) for f in folders]
    extra += [Path(p) for p in os.environ.get("WAREXEMPT_LAW_DIRS", "").split(os.pathsep) if p]
    return [DATA_DIR / "instruments", *extra]


def law_fingerprint(folders: Sequence[Path]) -> str:
    """A hash of the content of every law file (vocabulary, provisions, Criminal Code catalogue, instruments):
    a stored decision names it, so it can be told whether the law it was made under has changed since."""
    digest = hashlib.sha256()
    files = sorted(p for p in DATA_DIR.rglob("*") if p.is_file() and p.parent.name != "instruments")
    for folder in folders:
        files += sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def load_law(*folders: Path | str) -> Law:
    """Load the bundled law, plus the instrument files of any extra ``folders`` (amendments, tests).

    ``WAREXEMPT_LAW_DIRS`` (``os.pathsep``-separated) adds folders too, so a deployment can add an amendment
    without touching the package. Every word a file uses (stage, event kind, ground, outcome) must be one the
    vocabulary defines, else the file fails to load with its name and the field.
    """
    dirs = law_folders(*folders)
    files: list[Path] = []
    for folder in dirs:
        if not folder.is_dir():
            raise LawDataError(f"{folder}: not a folder of law files")
        files += sorted(folder.glob("*.yaml"))
    instruments = [_validate(Instrument, _read_yaml(p), p) for p in files]
    seen: dict[str, Path] = {}
    for inst, path in zip(instruments, files, strict=True):
        if inst.id in seen:
            raise LawDataError(f"{path.name}: id {inst.id!r} is already used by {seen[inst.id].name}")
        seen[inst.id] = path
    vocab = vocabulary().with_events([k for inst in instruments for k in inst.event_kinds])
    gravity = Gravity(vocab.gravity)
    code = CriminalCode.load(DATA_DIR / "criminal_code", gravity, vocab.point_letters)
    law = Law(vocab, _load_provisions(DATA_DIR / "provisions.yaml"), [], code, gravity, law_fingerprint(dirs))
    order = 0
    # Instruments in force order (then file order): a later instrument's rows win ties on the same start date.
    for inst, path in sorted(zip(instruments, files, strict=True), key=lambda ip: ip[0].start or FAR_FUTURE):
        law.instruments.append(inst)
        for j, fact in enumerate(inst.facts):
            if fact.id in law.facts:
                raise LawDataError(f"{path.name}: facts.{j}.id: fact {fact.id!r} is already defined")
            law.facts[fact.id] = fact
        for i, route in enumerate(inst.routes):
            law.routes.append(
                RouteEntry(f"{inst.id}/routes/{route.stage}", route, _window(route.from_, route.to, inst, order))
            )
            order += 1
            _check_ids(law, route.reasons + route.gate_reasons, f"{path.name}: routes.{i}")
        for i, rule in enumerate(inst.events):
            law.rules.append(RuleEntry(f"{inst.id}/events/{rule.id}", rule, _window(rule.from_, rule.to, inst, order)))
            order += 1
            _check_ids(law, rule.reasons, f"{path.name}: events.{i}")
        for i, lst in enumerate(inst.exclusion_lists):
            law.lists.append(_list_version(law, law.lists, lst, inst, order, f"{path.name}: exclusion_lists.{i}"))
            order += 1
        for i, lst in enumerate(inst.cited_offences):
            law.cited.append(_list_version(law, law.cited, lst, inst, order, f"{path.name}: cited_offences.{i}"))
            order += 1
    for inst, path in zip(instruments, files, strict=True):
        _check_words(law, inst, path.name)
        _check_references(law, inst, path.name)
    return law


def _list_version(
    law: Law, earlier: list[ListVersion], lst: ExclusionList, inst: Instrument, order: int, where: str
) -> ListVersion:
    patterns: list[tuple[str, str | None, str | None, str]] = []
    if lst.base == "previous":
        previous = [v for v in earlier if v.id == lst.id]
        if not previous:
            raise LawDataError(f"{where}: base: previous, but no earlier version of list {lst.id!r}")
        patterns = list(previous[-1].patterns)
    for j, item in enumerate(lst.items + lst.add):
        patterns.extend(_expand(item, law.criminal_code, f"{where}.items.{j}"))
    for raw in lst.remove:
        c = parse_charge(raw)
        patterns = [p for p in patterns if (p[0], p[1], p[2]) != (c.article, c.part, c.point)]
    window = _window(lst.from_, lst.to, inst, order)
    version = f"{lst.id}@{window.start.isoformat()}"
    return ListVersion(lst.id, version, window, patterns, lst.rests_on, lst.source_urls)


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


def _unknown(word: str, what: str, known: list[str], where: str) -> None:
    if word not in known:
        raise LawDataError(f"{where}: unknown {what} {word!r}: the vocabulary has {', '.join(known)}")


def _check_words(law: Law, inst: Instrument, name: str) -> None:
    """Every stage, event kind, ground and outcome a file names is one the vocabulary defines (and an event rule acts
    only on events that can end a cycle), so a word the engine cannot see fails to load instead of being ignored."""
    vocab = law.vocabulary
    stages, grounds, outcomes = vocab.ids("stages"), vocab.ids("discharge_grounds"), vocab.ids("outcomes")
    active = [o.id for o in vocab.outcomes if o.active]
    rule_kinds = [e.id for e in vocab.events if e.role in RULE_ROLES or e.role == "ground"]
    for i, route in enumerate(inst.routes):
        _unknown(route.stage, "stage", stages, f"{name}: routes.{i}.stage")
        if route.activated is not None:
            _unknown(route.activated.outcome, "outcome that opens a cycle", active, f"{name}: routes.{i}.activated")
    ids: set[str] = set()
    for i, rule in enumerate(inst.events):
        where = f"{name}: events.{i}"
        if rule.id in ids:
            raise LawDataError(f"{where}.id: rule id {rule.id!r} is used twice in this file")
        ids.add(rule.id)
        for stage in rule.stages:
            _unknown(stage, "stage", stages, f"{where}.stages")
        for kind in rule.event:
            _unknown(kind, "event kind a rule can act on", rule_kinds, f"{where}.event")
        for ground in rule.grounds:
            _unknown(ground, "discharge ground", grounds, f"{where}.grounds")
        _unknown(rule.outcome, "outcome", outcomes, f"{where}.outcome")
        needs_ground = [k for k in rule.event if "ground" in vocab.event(k).requires]
        if needs_ground and not rule.grounds:
            raise LawDataError(f"{where}.grounds: a rule for {needs_ground[0]!r} must name its grounds")
    stage_ids = [r.route.stage for r in law.routes if r.window.instrument is inst]
    for stage in {s for s in stage_ids if stage_ids.count(s) > 1}:
        raise LawDataError(f"{name}: routes: two routes for stage {stage!r}; an instrument has one route a stage")


def _check_references(law: Law, inst: Instrument, name: str) -> None:
    list_ids = {v.id for v in law.lists}
    refs = [(f"routes.{i}", [*r.rests_on, *r.entry_before_stage]) for i, r in enumerate(inst.routes)]
    refs += [(f"events.{i}", r.rests_on) for i, r in enumerate(inst.events)]
    refs += [(f"exclusion_lists.{i}", v.rests_on) for i, v in enumerate(inst.exclusion_lists)]
    for where, facts in refs:
        for ref in facts:
            if ref.fact not in law.facts:
                raise LawDataError(f"{name}: {where}.rests_on: unknown fact {ref.fact!r}")
    for i, route in enumerate(inst.routes):
        if route.exclusion_list and route.exclusion_list not in list_ids:
            raise LawDataError(f"{name}: routes.{i}.exclusion_list: no list {route.exclusion_list!r}")


def per_law(make: Callable[[Law], T]) -> Callable[[Law], T]:
    """``make(law)`` computed once for the life of each ``Law`` (its tables, its charge sets): a decorator."""
    made: weakref.WeakKeyDictionary[Law, T] = weakref.WeakKeyDictionary()

    @functools.wraps(make)
    def get(law: Law) -> T:
        found = made.get(law)
        if found is None:
            found = made[law] = make(law)
        return found

    return get


@lru_cache(maxsize=1)
def bundled_law() -> Law:
    """The bundled law (cached), with ``WAREXEMPT_LAW_DIRS``: what the CLI and the API use unless told otherwise."""
    return load_law()


def as_of(day: dt.date | str) -> LawInForce:
    """``warexempt.law.as_of(date)``: the bundled law in force on that day."""
    return bundled_law().as_of(dt.date.fromisoformat(day) if isinstance(day, str) else day)
