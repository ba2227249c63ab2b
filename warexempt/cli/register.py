"""``warexempt register …`` and ``warexempt users …``: the case register from the command line.

The database is ``--db URL``, else ``WAREXEMPT_DB``, else a SQLite file in the user's data folder; the organisation
is ``--org``, else ``WAREXEMPT_ORG``. The command line is the local operator (who holds the database): it acts as an
admin of the organisation named, and the audit log records it as ``local:LOGIN``. Every command speaks ``--lang``.
Errors are one clear message (exit 2; exit 1 when ``verify`` finds a broken chain), never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from warexempt._marks import N_
from warexempt.cli.options import Json, Lang, group

if TYPE_CHECKING:
    from warexempt.register.actors import Actor
    from warexempt.register.store import Register

register_app = group(
    "The case register: durable, audited records of real cases; their status always comes from the law."
)
users_app = group("Users of the register: roles viewer, editor, admin; API tokens shown once.")

DB_HELP = "The database URL (sqlite:///FILE or postgresql://…), else WAREXEMPT_DB, else a file in your data folder."
ORG_HELP = "The organisation, else WAREXEMPT_ORG."


Db = Annotated[str | None, typer.Option("--db", help=DB_HELP)]
Org = Annotated[str, typer.Option("--org", help=ORG_HELP, envvar="WAREXEMPT_ORG")]


def _say(lang: str) -> Callable[..., str]:
    from warexempt.explain.i18n import gettext

    return lambda message, **values: gettext(lang, message, **values)


def _fail(message: str, code: int = 2) -> NoReturn:
    from warexempt.cli.app import _fail as fail

    fail(message, code)


def _print(text: str) -> None:
    from warexempt.cli.app import _out

    _out().print(text, highlight=False, markup=False, soft_wrap=True)


@contextmanager
def _register(db: str | None, lang: str) -> Iterator[Register]:
    """The register at ``db``, its errors as one message in ``lang``."""
    from warexempt.register.errors import RegisterError
    from warexempt.register.store import Register

    try:
        with Register.open(db) as reg:
            yield reg
    except RegisterError as exc:
        _fail(exc.text(lang))


def _actor(reg: Register, org: str) -> Actor:
    """The local operator as an admin of ``org``; an unknown organisation is named with the nearest ones."""
    from warexempt.cli.i18n import current
    from warexempt.register.errors import NotFound
    from warexempt.register.people import orgs
    from warexempt.rules.case import nearest

    try:
        return reg.local(org)
    except NotFound as exc:
        close = nearest(org, orgs(reg))
        hint = f" ({', '.join(close)}?)" if close else ""
        _fail(exc.text(current()) + hint)


def _safe_url(reg: Register) -> str:
    return reg.engine.url.render_as_string(hide_password=True)


@register_app.command("init")
def init_cmd(db: Db = None, lang: Lang = "en") -> None:
    """Create the register's database, or upgrade it to the newest schema."""
    from warexempt.register import db as dbm

    _ = _say(lang)
    with _register(db, lang) as reg:
        _print(_("The register is ready: {url} (schema {revision}).", url=_safe_url(reg), revision=dbm.head()))


@register_app.command("import")
def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="YAML case files (a cases: list) or JSON Lines files.")],
    org: Org,
    db: Db = None,
    lang: Lang = "en",
) -> None:
    """Import cases, each file all or nothing; importing a file again stores nothing new."""
    from warexempt.register.errors import Invalid
    from warexempt.register.io import import_file

    _ = _say(lang)
    refused = 0
    with _register(db, lang) as reg:
        actor = _actor(reg, org)
        for path in files:
            try:
                done = import_file(reg, actor, path)
            except Invalid as exc:
                refused += 1
                from warexempt.cli.app import _err

                _err().print(exc.text(lang), highlight=False, markup=False, soft_wrap=True)
                continue
            _print(
                _(
                    "{path}: {cases} cases, {new_cases} new, {new_events} new events, {unchanged} already registered.",
                    path=str(path),
                    cases=done.cases,
                    new_cases=done.new_cases,
                    new_events=done.new_events,
                    unchanged=done.unchanged,
                )
            )
    if refused:
        raise typer.Exit(2)


@register_app.command("add")
def add_cmd(
    label: Annotated[str, typer.Argument(help="The case's label (no personal names needed).")],
    org: Org,
    charge: Annotated[list[str], typer.Option("--charge", help="A Criminal Code charge, e.g. 158:3:в; repeat.")],
    stage: Annotated[str, typer.Option("--stage", help="The stage at the start of the record.")],
    offence_date: Annotated[str | None, typer.Option("--offence-date", help="The offence date (YYYY-MM-DD).")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="A fixed day to judge the case on (default: always today).")
    ] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Free-text notes, stored encrypted.")] = None,
    db: Db = None,
    lang: Lang = "en",
) -> None:
    """Register a new case."""
    _ = _say(lang)
    with _register(db, lang) as reg:
        rec = reg.add_case(_actor(reg, org), label, charge, stage, offence_date=offence_date, as_of=as_of, notes=notes)
        _print(_("Case {label} registered: {outcome}.", label=rec.label, outcome=_outcome(reg, rec.status, lang)))


def _outcome(reg: Register, status: dict[str, Any], lang: str) -> str:
    from warexempt.explain.render import outcome_label

    if status.get("error"):
        return str(status["error"])
    return f"{outcome_label(reg.law, str(status['outcome']), lang, status.get('stage'))} ({status['outcome']})"


@register_app.command("event")
def event_cmd(
    label: Annotated[str, typer.Argument(help="The case's label.")],
    event: Annotated[str, typer.Argument(help="DATE:KIND or DATE:KIND:GROUND, e.g. 2024-11-01:command_petition.")],
    org: Org,
    stage: Annotated[str | None, typer.Option("--stage", help="The stage a stage_changed event moves to.")] = None,
    charge: Annotated[str | None, typer.Option("--charge", help="The charge of a new_offence event.")] = None,
    event_id: Annotated[str | None, typer.Option("--id", help="The event's id (default e1, e2, …).")] = None,
    supersedes: Annotated[
        str | None, typer.Option("--supersedes", help="The id of an earlier event this one corrects.")
    ] = None,
    expect_seq: Annotated[
        int | None, typer.Option("--expect-seq", help="Refuse if the case has moved past this event number.")
    ] = None,
    db: Db = None,
    lang: Lang = "en",
    as_json: Json = False,
) -> None:
    """Record an event: it is refused if it cannot be true, else recorded, with what it changes and why."""
    from warexempt.cli.app import _event, _Rejected
    from warexempt.explain.i18n import gettext
    from warexempt.lifecycle.timeline import step_view
    from warexempt.register.errors import Refused

    try:
        facts: dict[str, Any] = _event(event)
    except _Rejected as exc:
        _fail("; ".join(p.detail(lambda m, **kw: gettext(lang, m, **kw)) for p in exc.problems))
    facts |= {k: v for k, v in (("stage", stage), ("charge", charge), ("id", event_id)) if v is not None}
    with _register(db, lang) as reg:
        try:
            done = reg.append(_actor(reg, org), label, facts, expected_seq=expect_seq, supersedes=supersedes)
        except Refused as exc:
            _fail(exc.text(lang))
        view = step_view(done.step, reg.law, lang)
        if as_json:
            typer.echo(json.dumps({**view, "seq": done.seq}, ensure_ascii=False, indent=1))
            return
        _print(f"{done.event_id} (#{done.seq}): {view['message']}")


@register_app.command("show")
def show_cmd(
    label: Annotated[str, typer.Argument(help="The case's label.")],
    org: Org,
    notes: Annotated[bool, typer.Option("--notes", help="Show the notes too.")] = False,
    db: Db = None,
    lang: Lang = "en",
    as_json: Json = False,
) -> None:
    """A case's facts and its status, with the reasons."""
    from warexempt.cli.app import _show
    from warexempt.facade import Decision
    from warexempt.lifecycle.step import statuses

    _ = _say(lang)
    with _register(db, lang) as reg:
        rec = reg.get(_actor(reg, org), label, with_notes=notes)
        case = rec.case()
        row = statuses([case], reg.law)[0]
        decision = Decision(case, row, reg.law)
        if as_json:
            from warexempt.register.audit import jsonable

            out = {**jsonable(rec.facts()), "seq": rec.seq, "status": decision.to_dict(lang)}
            if notes:
                out["notes"] = rec.notes
            typer.echo(json.dumps(out, ensure_ascii=False, indent=1, default=str))
            return
        charges = ", ".join(rec.charges)
        _print(
            _(
                "Case {label}: charges {charges}; stage at the start {stage}; {n} events.",
                label=label,
                charges=charges,
                stage=rec.stage,
                n=len(case.events),
            )
        )
        if row["error"]:
            _print(_outcome(reg, row, lang))
        else:
            _show(decision, lang)
        if notes:
            text = (
                rec.notes if rec.notes is not None else _("(no notes, or they cannot be read: the key was destroyed)")
            )
            _print(_("Notes: {text}", text=text))


@register_app.command("history")
def history_cmd(
    label: Annotated[str, typer.Argument(help="The case's label.")],
    org: Org,
    db: Db = None,
    lang: Lang = "en",
    as_json: Json = False,
) -> None:
    """A case's history as a timeline: each event with the status after it and the provisions that decide it."""
    from rich.table import Table

    from warexempt.cli.app import _out
    from warexempt.lifecycle.timeline import timeline

    _ = _say(lang)
    with _register(db, lang) as reg:
        rec = reg.get(_actor(reg, org), label)
        steps = timeline(rec.case(), reg.law, lang)
        stored = {e.event_id: e for e in rec.events}
        replaced = {e.supersedes: e.event_id for e in rec.events if e.supersedes}
        if as_json:
            log = [
                {
                    **e.facts(),
                    "seq": e.seq,
                    "supersedes": e.supersedes,
                    "superseded_by": replaced.get(e.event_id),
                    "recorded_at": e.recorded_at.isoformat(),
                    "recorded_by": e.recorded_by,
                }
                for e in rec.events
            ]
            typer.echo(
                json.dumps(
                    {"label": label, "timeline": steps, "events": log}, ensure_ascii=False, indent=1, default=str
                )
            )
            return
        table = Table(title=_("History of case {label}", label=label))
        for heading in ("#", "id", _("Date"), _("Event"), _("Status after it"), _("Provisions")):
            table.add_column(heading)
        for s in steps:
            e = stored[s["event_id"]]
            after = s.get("error") or s["outcome_label"] + ("" if s["changed"] else " " + _("(unchanged)"))
            cited = "; ".join(c["text"] for c in s["citations"])
            note = " (" + _("corrects {event}", event=e.supersedes) + ")" if e.supersedes else ""
            table.add_row(str(e.seq), s["event_id"], s["date"], s["event"] + note, after, cited)
        _out().print(table)
        for old, new in replaced.items():
            _print(_("Event {old} was superseded by {new}.", old=old, new=new))


@register_app.command("list")
def list_cmd(
    org: Org,
    outcome: Annotated[str | None, typer.Option("--outcome", help="Only cases with this outcome.")] = None,
    db: Db = None,
    lang: Lang = "en",
    as_json: Json = False,
) -> None:
    """The organisation's cases with their status."""
    from rich.table import Table

    from warexempt.cli.app import _out

    _ = _say(lang)
    with _register(db, lang) as reg:
        if outcome is not None and outcome not in reg.law.vocabulary.ids("outcomes"):
            from warexempt.rules.case import nearest, spoken

            known = reg.law.vocabulary.ids("outcomes")
            close = nearest(outcome, known)
            hint = f" ({', '.join(close)}?)" if close else ""
            _fail(
                _(
                    "--outcome: {value} is not an outcome; expected {expected}",
                    value=repr(outcome),
                    expected=spoken(known),
                )
                + hint
            )
        records = reg.cases(_actor(reg, org), outcome=outcome)
        if as_json:
            from warexempt.register.io import export_status

            typer.echo(
                json.dumps(
                    [{"label": r.label, "seq": r.seq, **export_status(r)} for r in records],
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return
        table = Table(title=_("{n} cases", n=len(records)))
        for heading in (_("Label"), _("Status"), _("Events"), _("Judged on")):
            table.add_column(heading)
        for r in records:
            table.add_row(r.label, _outcome(reg, r.status, lang), str(len(r.effective_events())), r.day.isoformat())
        _out().print(table)


@register_app.command("export")
def export_cmd(
    org: Org,
    fmt: Annotated[
        str, typer.Option("--format", help="json (one object per line), csv or yaml (the case format).")
    ] = "json",
    notes: Annotated[bool, typer.Option("--notes", help="Include the notes (left out otherwise).")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file (default: print).")] = None,
    db: Db = None,
    lang: Lang = "en",
) -> None:
    """Export the organisation's cases; the export is itself recorded in the audit log."""
    from warexempt.register.io import FORMATS, export

    _ = _say(lang)
    if fmt.strip().lower() not in FORMATS:
        _fail(_("--format: {value} is not an export format; expected json, csv or yaml", value=repr(fmt)))
    with _register(db, lang) as reg:
        text = export(reg, _actor(reg, org), fmt.strip().lower(), with_notes=notes)
    if output is None:
        typer.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            _fail(_("{path}: cannot be written ({reason})", path=str(output), reason=str(exc.strerror)))


@register_app.command("verify")
def verify_cmd(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation's chain.")] = None,
    db: Db = None,
    lang: Lang = "en",
) -> None:
    """Verify the audit log's hash chains; exit 1 with the first broken link if a row was altered or removed."""
    _ = _say(lang)
    with _register(db, lang) as reg:
        report = reg.verify(org)
    for b in report.breaks:
        _print(
            _(
                "Organisation {org}: the audit chain is broken at row {seq} ({kind}): {detail}",
                org=b.org,
                seq=b.seq,
                kind=_(KINDS[b.kind]),
                detail=b.detail,
            )
        )
    if report.breaks:
        raise typer.Exit(1)
    _print(
        _(
            "The audit log is intact: rows — {rows}, organisations — {orgs}.",
            rows=sum(report.checked.values()),
            orgs=len(report.checked),
        )
    )


KINDS = {"altered": N_("altered"), "removed": N_("removed"), "reordered": N_("reordered")}


@register_app.command("recompute")
def recompute_cmd(
    force: Annotated[bool, typer.Option("--force", help="Recompute every case, not only the stale ones.")] = False,
    db: Db = None,
    lang: Lang = "en",
) -> None:
    """Recompute the cached status of every case whose law, events or day changed, through the rules."""
    _ = _say(lang)
    with _register(db, lang) as reg:
        done = reg.recompute(force=force)
    _print(
        _(
            "{recomputed} of {cases} cases recomputed under the law {law}; {changed} changed outcome.",
            recomputed=done.recomputed,
            cases=done.cases,
            law=done.law_fingerprint,
            changed=done.changed,
        )
    )


@users_app.command("add")
def users_add_cmd(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    org: Org,
    role: Annotated[str, typer.Option("--role", help="viewer, editor or admin.")] = "viewer",
    days: Annotated[int, typer.Option("--days", help="Days the token is valid.")] = 90,
    db: Db = None,
    lang: Lang = "en",
) -> None:
    """Add a user (and the organisation, if new) and print their API token, once."""
    from warexempt.register import people
    from warexempt.register.errors import NotFound

    _ = _say(lang)
    with _register(db, lang) as reg:
        try:
            actor = reg.local(org)
        except NotFound:
            people.create_org(reg, org)
            _print(_("Organisation {org} created.", org=org))
            actor = reg.local(org)
        token = people.add_user(reg, actor, name, role, days=days)
    expires = token.expires_at.date().isoformat() if token.expires_at else "—"
    _print(
        _(
            "User {name} added to {org}. Their token, shown this once (valid until {expires}):",
            name=name,
            org=org,
            expires=expires,
        )
    )
    typer.echo(token.secret)


@users_app.command("list")
def users_list_cmd(org: Org, db: Db = None, lang: Lang = "en") -> None:
    """The organisation's users, their roles and tokens (never the tokens' secrets)."""
    from rich.table import Table

    from warexempt.cli.app import _out
    from warexempt.register import people

    _ = _say(lang)
    with _register(db, lang) as reg:
        found = people.users(reg, _actor(reg, org))
    table = Table(title=_("Users of {org}", org=org))
    for heading in (_("Name"), _("Role"), _("Valid tokens"), _("Last used"), _("Revoked")):
        table.add_column(heading)
    for u in found:
        used = u.last_used_at.isoformat(timespec="seconds") if u.last_used_at else "—"
        revoked = u.revoked_at.date().isoformat() if u.revoked_at else "—"
        table.add_row(u.name, u.role, str(u.tokens), used, revoked)
    _out().print(table)


@users_app.command("revoke")
def users_revoke_cmd(
    name: Annotated[str, typer.Argument(help="The user's name.")], org: Org, db: Db = None, lang: Lang = "en"
) -> None:
    """Revoke a user and every token of theirs."""
    from warexempt.register import people

    _ = _say(lang)
    with _register(db, lang) as reg:
        n = people.revoke_user(reg, _actor(reg, org), name)
    _print(_("User {name} revoked, with {n} tokens.", name=name, n=n))
