"""Files in and out of the register.

Import: YAML in the case format of the acceptance README (a ``cases:`` list; a case's ``id`` is its label; its
``title`` and ``expect`` are not facts and are not stored) or JSON Lines of the same objects (one per line; the
``status`` of an export is ignored); a case may carry ``notes``. Each file is all-or-nothing — every problem of a
rejected file is listed with its place (``cases[3].facts.events[2].date``, ``line 4: …``) and nothing of it is
stored — and idempotent: a case whose label exists is matched by its facts, an event by its id (events without an
id are ``e1``, ``e2``… by their place), so importing a file twice stores it once. New events of an existing case are
replayed with its history through the rules.

Export: ``json`` (JSON Lines: one object per case with its label, facts, events with ids and current status),
``csv`` (one row per case), ``yaml`` (the case format: it imports again unchanged). Notes are left out unless asked
for. Every import and export is audited.
"""

from __future__ import annotations

import csv
import datetime as dt
import io as _io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from warexempt._marks import N_
from warexempt.law.catalog import Law
from warexempt.lifecycle.step import statuses
from warexempt.register import audit, crypto
from warexempt.register.actors import Actor, require
from warexempt.register.errors import Invalid
from warexempt.register.models import CASES, EVENTS
from warexempt.register.store import (
    EVENT_FIELDS,
    CaseRecord,
    Register,
    audit_event,
    brief,
    cache_values,
    case_row,
    load_record,
    parse_case,
    status_json,
    store_new_case,
)
from warexempt.rules.case import Case
from warexempt.rules.engine import ChargeErrors

FORMATS = ("json", "csv", "yaml")
# the problems of a file, as msgids (``explain.messages.translate`` words them in the reader's language)
PROBLEMS = (
    N_("not UTF-8 text"),
    N_("cannot be read ({reason})"),
    N_("not JSON: {reason} at column {column}"),
    N_("not a readable YAML file: {reason}"),
    N_("expected a mapping with a list under 'cases:'"),
    N_("expected a case: a mapping with id, facts and as_of"),
    N_("{keys}: not a key of a case; expected id, facts, as_of, notes"),
    N_("missing; expected the case's label"),
    N_("expected a mapping of charges, stage, offence_date, events"),
    N_("expected text"),
    N_("{keys}: not a fact of a case"),
    N_("case {label} is already in this file at {place}"),
    N_(
        "case {label} is registered with other facts (charges, stage, offence date or as_of); record a change as "
        "an event"
    ),
    N_("event {event} of case {label} is registered with other facts; a correction is a new event that supersedes it"),
)
NOT_FACTS = ("title", "expect", "status")  # keys of a case object that are read and not stored


@dataclass
class Imported:
    """What an import stored: cases new, events new (in new and existing cases), cases already there unchanged."""

    path: str
    cases: int = 0
    new_cases: int = 0
    new_events: int = 0
    unchanged: int = 0
    labels: list[str] = field(default_factory=list)


@dataclass
class _Item:
    place: str
    case: Case
    fixed_day: bool
    notes: str | None


def read_objects(path: Path) -> list[tuple[str, Any]]:
    """The case objects of a file with the place of each (``cases[1]``, ``line 1``); ``Invalid`` if the file
    cannot be read as YAML or JSON Lines."""
    from warexempt.rules.acceptance import load_case_yaml

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Invalid(
            "{path}: the file was refused, nothing of it was stored ({n} problems)",
            problems=[("file", "not UTF-8 text")],
            path=path,
            n=1,
        ) from None
    except OSError as exc:
        raise Invalid(
            "{path}: the file was refused, nothing of it was stored ({n} problems)",
            problems=[("file", PROBLEMS[1].format(reason=exc.strerror))],
            path=path,
            n=1,
        ) from None
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        out, problems = [], []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append((f"line {n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append((f"line {n}", PROBLEMS[2].format(reason=exc.msg, column=exc.colno)))
        if problems:
            raise _refused(path, problems)
        return out
    try:
        doc = load_case_yaml(text)
    except yaml.YAMLError as exc:
        raise _refused(path, [("file", PROBLEMS[3].format(reason=exc))]) from None
    cases = doc.get("cases") if isinstance(doc, dict) else None
    if not isinstance(cases, list):
        raise _refused(path, [("file", "expected a mapping with a list under 'cases:'")])
    return [(f"cases[{i}]", c) for i, c in enumerate(cases, 1)]


def _refused(path: Path | str, problems: list[tuple[str, str]]) -> Invalid:
    return Invalid(
        "{path}: the file was refused, nothing of it was stored ({n} problems)",
        problems=problems,
        path=path,
        n=len(problems),
    )


def _item(place: str, raw: Any, problems: list[tuple[str, str]]) -> _Item | None:
    if not isinstance(raw, dict):
        problems.append((place, "expected a case: a mapping with id, facts and as_of"))
        return None
    unknown = [k for k in raw if k not in ("id", "facts", "as_of", "notes", *NOT_FACTS)]
    if unknown:
        problems.append((place, PROBLEMS[6].format(keys=", ".join(map(repr, unknown)))))
    if "id" not in raw or raw["id"] is None:
        problems.append((f"{place}.id", "missing; expected the case's label"))
        return None
    label = str(raw["id"])
    facts = raw.get("facts")
    if not isinstance(facts, dict):
        problems.append((f"{place}.facts", "expected a mapping of charges, stage, offence_date, events"))
        return None
    notes = raw.get("notes")
    if notes is not None and not isinstance(notes, str):
        problems.append((f"{place}.notes", "expected text"))
    try:
        case = parse_case(
            label,
            facts.get("charges") or [],
            facts.get("stage"),  # type: ignore[arg-type]
            facts.get("offence_date"),
            raw.get("as_of"),
            list(facts.get("events") or []),
        )
    except Invalid as exc:
        for where, message in exc.problems:
            problems.append((f"{place}.{_facts_path(where)}" if where else place, message))
        return None
    unread = [k for k in facts if k not in ("charges", "stage", "offence_date", "events")]
    if unread:
        problems.append((f"{place}.facts", PROBLEMS[10].format(keys=", ".join(map(repr, unread)))))
    return _Item(place, case, raw.get("as_of") is not None, notes if isinstance(notes, str) else None)


def _facts_path(where: str) -> str:
    return where if where.startswith(("id", "as_of")) else f"facts.{where}"


def import_file(reg: Register, actor: Actor, path: Path | str, *, request_id: str | None = None) -> Imported:
    """Import one file, all or nothing (``Invalid`` listing every problem with its place)."""
    require(actor, "write cases")
    path = Path(path)
    problems: list[tuple[str, str]] = []
    items: list[_Item] = []
    seen: dict[str, str] = {}
    for place, raw in read_objects(path):
        item = _item(place, raw, problems)
        if item is None:
            continue
        label = item.case.case_id
        if label in seen:
            problems.append((f"{place}.id", PROBLEMS[11].format(label=label, place=seen[label])))
            continue
        seen[label] = place
        items.append(item)
    result = Imported(str(path), cases=len(items), labels=[i.case.case_id for i in items])
    with reg.write() as conn:
        chain = audit.Chain.open(conn, actor.org_id, request_id)
        existing = {
            r.label: r
            for r in conn.execute(CASES.select().where(CASES.c.org_id == actor.org_id)).all()
            if r.label in seen
        }
        new_cases = [i for i in items if i.case.case_id not in existing]
        plans = _plan_existing(conn, actor, [i for i in items if i.case.case_id in existing], existing, problems)
        new_status = _check_histories(new_cases, plans, problems, reg.law)
        if problems:
            raise _refused(path, problems)
        for item, status in zip(new_cases, new_status, strict=True):
            store_new_case(conn, chain, actor, item.case, item.fixed_day, item.notes, reg.law, status)
            result.new_cases += 1
            result.new_events += len(item.case.events)
        for record, row, extra, status, day in plans:
            if not extra:
                result.unchanged += 1
                continue
            _store_more(conn, chain, actor, row, record, extra, status, day, reg)
            result.new_events += len(extra)
        chain.add(
            actor.name,
            "import",
            None,
            None,
            {"file": path.name, "cases": result.cases, "new_cases": result.new_cases, "new_events": result.new_events},
        )
        chain.flush()
    return result


Plan = tuple[CaseRecord, Any, list[Any], dict[str, Any], dt.date]


def _plan_existing(
    conn: Any, actor: Actor, items: list[_Item], existing: dict[str, Any], problems: list[tuple[str, str]]
) -> list[Plan]:
    """For each case already registered: its facts must be the same; its events new by id are to be appended
    (an event whose id is stored must be the same event)."""
    plans: list[Plan] = []
    for item in items:
        row = existing[item.case.case_id]
        record = load_record(conn, actor.org, row)
        case = item.case
        same = (
            row.charges == ";".join(case.charges)
            and row.stage == case.stage
            and row.offence_date == case.offence_date
            and (row.as_of == case.as_of if item.fixed_day else row.as_of is None)
        )
        if not same:
            problems.append((f"{item.place}.facts", PROBLEMS[12].format(label=case.case_id)))
            continue
        stored = {e.event_id: e for e in record.events}
        extra = []
        for i, event in enumerate(case.events, 1):
            old = stored.get(str(event.id))
            if old is None:
                extra.append(event)
            elif any(getattr(old, k) != getattr(event, k) for k in EVENT_FIELDS):
                where = f"{item.place}.facts.events[{i}]"
                problems.append((where, PROBLEMS[13].format(event=event.id, label=case.case_id)))
        day = record.day
        plans.append((record, row, extra, {}, day))
    return plans


def _check_histories(
    new_cases: list[_Item], plans: list[Plan], problems: list[tuple[str, str]], law: Law
) -> list[dict[str, Any]]:
    """Every resulting history replayed through the rules in one call: one that cannot be true is a problem. The
    new cases' decision rows (the plans get theirs in place)."""
    cases = [i.case if i.fixed_day else i.case.model_copy(update={"as_of": dt.date.today()}) for i in new_cases]
    merged = [p[0].case().with_events(p[2]) for p in plans]
    try:
        rows = statuses([*cases, *merged], law)
    except ChargeErrors as exc:
        places = [i.place for i in new_cases] + [p[0].label for p in plans]
        problems.extend((f"{places[r]}.facts.charges", m) for r, m in exc.rows.items())
        return []
    for item, row in zip(new_cases, rows, strict=False):
        if row["error"]:
            problems.append((f"{item.place}.facts.events", str(row["error"])))
    for k, (plan, row) in enumerate(zip(plans, rows[len(cases) :], strict=True)):
        if row["error"]:
            problems.append((f"case {plan[0].label}", str(row["error"])))
        plans[k] = (plan[0], plan[1], plan[2], row, plan[4])
    return rows[: len(cases)]


def _store_more(
    conn: Any,
    chain: audit.Chain,
    actor: Actor,
    row: Any,
    record: CaseRecord,
    extra: list[Any],
    status: dict[str, Any],
    day: dt.date,
    reg: Register,
) -> None:
    from sqlalchemy import insert, update

    from warexempt.register.store import event_values

    when = audit.now()
    values = [event_values(row.id, row.seq + i, e, None, actor, when) for i, e in enumerate(extra, 1)]
    conn.execute(insert(EVENTS), values)
    seq = row.seq + len(extra)
    conn.execute(update(CASES).where(CASES.c.id == row.id).values(seq=seq, **cache_values(status, seq, day, reg.law)))
    for v in values:
        chain.add(actor.name, "event", record.label, None, audit_event(v), when)
    chain.add(actor.name, "status", record.label, brief(record.status), brief(status_json(status)), when)


# ---------------------------------------------------------------------- export
def export(
    reg: Register,
    actor: Actor,
    fmt: str,
    *,
    with_notes: bool = False,
    outcome: str | None = None,
    request_id: str | None = None,
) -> str:
    """The organisation's cases as ``json`` (JSON Lines), ``csv`` or ``yaml`` text; audited."""
    require(actor, "export notes" if with_notes else "export")
    if fmt not in FORMATS:
        raise Invalid("{value} is not an export format; expected json, csv or yaml", value=repr(fmt))
    records = reg.cases(actor, outcome=outcome)
    if with_notes:
        with reg.read() as conn:
            for r in records:
                if r.has_notes:
                    r.notes = crypto.decrypt(conn, actor.org_id, case_row(conn, actor, r.label).notes)
    text = {"json": _json, "csv": _csv, "yaml": _yaml}[fmt](records, with_notes)
    with reg.write() as conn:
        chain = audit.Chain.open(conn, actor.org_id, request_id)
        chain.add(
            actor.name,
            "export",
            None,
            None,
            {"format": fmt, "cases": len(records), "notes": with_notes, "outcome": outcome},
        )
        chain.flush()
    return text


def export_status(record: CaseRecord) -> dict[str, Any]:
    s = record.status
    return {
        "eligible": s.get("eligible"),
        "outcome": s.get("outcome"),
        "record_cleared": s.get("record_cleared"),
        "reasons": s.get("reasons") or [],
        "unconfirmed": s.get("unconfirmed") or [],
        "error": s.get("error"),
        "as_of": record.day.isoformat(),
        "law_fingerprint": record.law_fingerprint,
    }


def _obj(record: CaseRecord, with_notes: bool) -> dict[str, Any]:
    out: dict[str, Any] = audit.jsonable(record.facts())
    if with_notes and record.notes is not None:
        out["notes"] = record.notes
    return out


def _json(records: list[CaseRecord], with_notes: bool) -> str:
    lines = [json.dumps({**_obj(r, with_notes), "status": export_status(r)}, ensure_ascii=False) for r in records]
    return "".join(line + "\n" for line in lines)


CSV_COLUMNS = (
    "label",
    "charges",
    "stage",
    "offence_date",
    "as_of",
    "events",
    "eligible",
    "outcome",
    "record_cleared",
    "reasons",
    "unconfirmed",
    "law_fingerprint",
)


def _csv(records: list[CaseRecord], with_notes: bool) -> str:
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(["notes"] if with_notes else [])])
    for r in records:
        s = export_status(r)
        events = ";".join(
            ":".join(str(x) for x in (e.date, e.kind, e.ground or e.stage or e.charge) if x)
            for e in r.effective_events()
        )
        row = [
            r.label,
            ";".join(r.charges),
            r.stage,
            r.offence_date or "",
            r.as_of or "",
            events,
            s["eligible"],
            s["outcome"],
            s["record_cleared"],
            ";".join(s["reasons"]),
            ";".join(s["unconfirmed"]),
            s["law_fingerprint"],
        ]
        writer.writerow([*row, *([r.notes or ""] if with_notes else [])])
    return buf.getvalue()


class _Dumper(yaml.SafeDumper):
    pass


def _yaml(records: list[CaseRecord], with_notes: bool) -> str:
    cases = []
    for r in records:
        obj = r.facts()
        if with_notes and r.notes is not None:
            obj["notes"] = r.notes
        cases.append(obj)
    return yaml.dump({"cases": cases}, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)


__all__ = ["FORMATS", "Imported", "export", "import_file", "read_objects"]
