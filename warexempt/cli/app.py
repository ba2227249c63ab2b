"""The ``warexempt`` command: check a case, run case files, check a file of cases, show the law."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from warexempt.cli.help import BulkHelp, CheckHelp
from warexempt.cli.i18n import error_prefix, in_lang
from warexempt.cli.options import Json, Lang, LangText, group, not_a_language
from warexempt.law.errors import LawDataError

if TYPE_CHECKING:
    from rich.console import Console

    from warexempt.facade import Decision
    from warexempt.law.catalog import Law
    from warexempt.lifecycle.whatif import Branch

# The commands import what they need themselves: `warexempt bulk` on a million rows should not spend a tenth of its
# time loading the explanation, what-if and case-file machinery it never uses.

T = TypeVar("T")


def N_(message: str) -> str:
    """Mark a message for translation (Babel extraction); ``_say`` translates it when it is shown."""
    return message


# the language of the run (--lang, WAREXEMPT_LANG), for the help too (cli/i18n.py)
app = group("Russia's prosecution-for-service law as cited, dated rules.", pretty_exceptions_enable=False)


def _console(stderr: bool = False) -> Console:
    """A Rich console for stdout or stderr, made when something is shown (``warexempt bulk`` writing to a file or a
    pipe shows no bar and prints one plain line, so it need not import Rich at all), and each time anew, so that it
    takes the terminal's width (and ``COLUMNS``) as they are then."""
    from rich.console import Console

    return Console(stderr=stderr)


def _out() -> Console:
    return _console()


def _err() -> Console:
    return _console(stderr=True)


AsOf = Annotated[str | None, typer.Option("--as-of", help="The day the question is asked (YYYY-MM-DD; default today).")]


def _law() -> Law:
    """The bundled law, validated from its files (cached for the process)."""
    from warexempt.law.catalog import bundled_law

    return bundled_law()


def _fail(message: str, code: int = 2) -> NoReturn:
    from rich.markup import escape

    text = f"[bold red]{error_prefix()}:[/] {escape(in_lang(message))}"  # in the run's language (cli/i18n.py)
    _err().print(text, highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _day(value: str | None, what: str = "--as-of") -> dt.date:
    try:
        return _date_option(value, what)
    except _Rejected as exc:
        _fail(f"{what}: {exc.problems[0].detail()}")


class _Rejected(Exception):
    """Input ``check`` refuses: its problems (``rules.case.Problem``), printed as lines or, under ``--json``, as
    JSON objects."""

    def __init__(self, *problems: Any) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.detail() for p in problems))


def _problem(field: str, kind: str, value: str | None, template: str, /, **params: str) -> Any:
    """A ``rules.case.Problem``: ``template`` an English msgid, filled with ``params`` when shown."""
    from warexempt.rules.case import Problem

    return Problem(field, kind, value, template, params)


def _date_option(value: str | None, what: str) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise _Rejected(
            _problem(what, "not_a_date", value, N_("{value} is not a date (expected YYYY-MM-DD)"), value=repr(value))
        ) from None


EVENT_FORMS = (
    "2024-11-01:command_petition, 2025-02-01:discharged:health, 2024-06-01:stage_changed:trial, "
    "2026-02-01:new_offence:338:4"
)


def _event(text: str, number: int = 1) -> dict[str, str]:
    """``DATE:KIND`` or ``DATE:KIND:VALUE``, the value being the field the kind requires (a discharge's ground, a
    stage change's stage, a new offence's charge code — which may itself hold colons: ``2026-02-01:new_offence:338:4``).
    The kind is read without regard to case and spaces; an unknown one is left for the case's check to name."""
    from warexempt.law.catalog import bundled_law
    from warexempt.rules.case import canonical

    day, _, rest = text.partition(":")
    kind, _, value = rest.partition(":")
    if not day.strip() or not kind.strip():
        raise _Rejected(
            _problem(
                f"--event {number}",
                "invalid_value",
                text,
                N_("{value}: expected DATE:KIND or DATE:KIND:VALUE, e.g. {forms}"),
                value=repr(text),
                forms=EVENT_FORMS,
            )
        )
    known = canonical(kind, "event kind")
    ev = {"date": day.strip(), "kind": known or kind}
    if known is None:  # the case's check names the kind (with the nearest ones); a value would only add noise
        return ev
    requires = bundled_law().vocabulary.event(known).requires
    if value:
        ev[requires[0] if requires else "ground"] = value.strip()
    return ev


def _load_case_file(path: Path) -> dict[str, Any]:
    """One case's facts from a YAML file (``rules.acceptance.load_case_yaml``: numbers keep their text, a date that
    is none stays text, so that the case's check names them); a file of ``cases:`` is for ``warexempt cases``."""
    import yaml

    from warexempt.rules.acceptance import load_case_yaml

    def refuse(template: str, **params: str) -> NoReturn:
        raise _Rejected(_problem(str(path), "case_file", None, template, path=str(path), **params))

    try:
        doc = load_case_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        refuse(N_("cannot read the case file: {reason}"), reason=str(exc))
    if isinstance(doc, dict) and isinstance(doc.get("cases"), list):
        refuse(N_("the file is a list of cases (under 'cases:'); run them with: warexempt cases {path}"))
    if not isinstance(doc, dict):
        refuse(N_("expected the facts of one case (charges, stage, events, as_of)"))
    if "facts" in doc:
        if not isinstance(doc["facts"], dict):
            refuse(N_("expected the facts of one case under 'facts:' (charges, stage, events)"))
        return {**doc["facts"], "as_of": doc.get("as_of"), "case_id": str(doc.get("id", path.stem))}
    return dict(doc)


def _show(decision: Decision, lang: str) -> None:
    from rich.panel import Panel
    from rich.table import Table

    from warexempt.explain.i18n import date as fmt_date
    from warexempt.explain.i18n import gettext
    from warexempt.explain.render import outcome_label

    _ = lambda m, **kw: gettext(lang, m, **kw)  # noqa: E731
    yes_no = {True: _("yes"), False: _("no")}
    label = outcome_label(decision.law, decision.outcome, lang, decision.row["stage"] or decision.case.stage)
    colour = "green" if decision.eligible else "red"
    head = Table.grid(padding=(0, 2))
    head.add_row(_("Outcome"), f"[bold {colour}]{label}[/] ({decision.outcome})")
    head.add_row(_("Eligible"), yes_no[decision.eligible])
    # record_cleared: true of a 78.1 release (no conviction ever arises) and of an 80.2 one (УК 86 ч. 2) alike
    head.add_row(_("Ends with no criminal record"), yes_no[decision.record_cleared])
    for c in decision.citations():
        head.add_row(_("Reasons"), f"{c.text(lang)}  [dim]{c.id}[/]")
    name = _("case") if decision.case.case_id == "case" else decision.case.case_id  # "case": the default id
    _out().print(Panel(head, title=f"{name} — {fmt_date(decision.case.as_of, lang)}", expand=False))
    for i, step in enumerate(decision.explain(lang), 1):
        _out().print(f"{i}. {step.text}", highlight=False)


@app.command("check", cls=CheckHelp)  # its help lists the stages, events, grounds
def check_cmd(
    file: Annotated[Path | None, typer.Argument(help="A YAML file with one case's facts.")] = None,
    charge: Annotated[
        list[str] | None, typer.Option("--charge", help="Criminal Code code, e.g. 158:3:в (repeat).")
    ] = None,
    stage: Annotated[str | None, typer.Option(help="The stage of the case (the stages are listed below).")] = None,
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            help="DATE:KIND[:VALUE], e.g. 2024-11-01:command_petition, 2025-02-01:discharged:health, "
            "2024-06-01:stage_changed:trial, 2026-02-01:new_offence:338:4 (repeat).",
        ),
    ] = None,
    offence_date: Annotated[str | None, typer.Option("--offence-date", help="When the offence was committed.")] = None,
    as_of: AsOf = None,
    lang: LangText = "en",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (errors too: exit 2).")] = False,
    whatif: Annotated[
        bool, typer.Option("--what-if", help="List every next step the law allows and where it leads.")
    ] = False,
) -> None:
    """Check one case: is it covered, what is its status on a date, and which provisions decide it."""
    from warexempt.facade import check, what_if
    from warexempt.rules.case import Case, CaseError
    from warexempt.rules.engine import ChargeErrors

    say = "en" if lang not in ("en", "ru") else lang
    try:
        if lang not in ("en", "ru"):
            raise _Rejected(_problem("--lang", "unknown_language", lang, "{text}", text=not_a_language(lang)))
        data: dict[str, Any] = _load_case_file(file) if file else {}
        if charge:
            data["charges"] = charge
        if stage:
            data["stage"] = stage
        if event:
            data["events"] = [_event(e, i) for i, e in enumerate(event, 1)]
        if offence_date:
            data["offence_date"] = offence_date
        if as_of or "as_of" not in data or data.get("as_of") is None:
            data["as_of"] = _date_option(as_of, "--as-of").isoformat()
        data.setdefault("charges", [])
        data.setdefault("stage", None)
        try:
            case = Case.parse(data)
        except CaseError as exc:  # with the charges' own problems, so that one run names every one
            named = {p.field for p in exc.details}
            raise _Rejected(*exc.details, *_charge_problems(data["charges"], named)) from None
        if found := _charge_problems(case.charges):
            raise _Rejected(*found)
        decision, branches = what_if(case) if whatif else (check(case), [])
    except _Rejected as exc:
        _refuse(exc.problems, as_json, say)
    except CaseError as exc:
        _refuse(exc.details, as_json, say)
    except ChargeErrors as exc:  # (``_check_charges`` found them first; a code the engine refuses on its own)
        _refuse(
            [_problem("charges", "invalid_charge", None, "{text}", text=m) for m in exc.rows.values()],
            as_json,
            say,
        )
    if as_json:
        from warexempt.explain.views import decision_view, what_if_view

        payload = what_if_view(decision, branches, lang) if whatif else decision_view(decision, lang)
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    _show(decision, lang)
    if whatif:
        from warexempt.explain.views import what_if_note

        _what_if_table(branches, lang, what_if_note(decision, branches, lang))


def _charge_problems(charges: object, named: set[str] | None = None) -> list[Any]:
    from warexempt.rules.charges import charge_problems

    return charge_problems(charges, _law(), named)


def _refuse(problems: list[Any], as_json: bool, lang: str) -> NoReturn:
    """Print what ``check`` refuses and exit 2: one line per problem (``field: message``) on stderr, or under
    ``--json`` the problems as JSON on stdout (one object, or a list of them)."""
    from warexempt.explain.i18n import gettext

    def say(template: str, **params: str) -> str:  # the values too: an English message, a list joined by "or"
        return gettext(lang, template, **{k: in_lang(v, lang) for k, v in params.items()})

    if as_json:
        shown = [p.to_json(say) for p in problems]
        typer.echo(json.dumps(shown[0] if len(shown) == 1 else shown, ensure_ascii=False, indent=2))
        raise typer.Exit(2)
    from rich.markup import escape

    from warexempt.explain.messages import field

    for p in problems:
        text = f"{field(p.field, lang)}: {p.detail(say)}" if p.field else p.detail(say)
        _err().print(f"[bold red]{error_prefix(lang)}:[/] {escape(text)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(2)


def _what_if_table(branches: list[Branch], lang: str, note: str | None = None) -> None:
    """The what-if branches as a table (``explain.views.branch_view``); with none, why (``note``) instead."""
    from rich.table import Table

    from warexempt.explain.i18n import gettext
    from warexempt.explain.views import branch_view

    _ = lambda m, **kw: gettext(lang, m, **kw)  # noqa: E731
    if not branches and note:
        from rich.markup import escape

        _out().print(f"[bold]{_('What happens next')}[/]: {escape(note)}", highlight=False)
        return
    table = Table(title=_("What happens next"))
    for heading in (_("If"), _("Then"), _("Reasons")):
        table.add_column(heading)
    for b in branches:
        view = branch_view(b, _law(), lang)
        table.add_row(view["label"], view["outcome_label"], "; ".join(c["text"] for c in view["citations"]))
    _out().print(table)


def _outcome_cell(outcome: str | None, stage: str | None, lang: str) -> str:
    """An outcome in a table: its name for the person at ``stage`` (both names with no stage), then its id."""
    if not outcome:
        return "-"
    from warexempt.explain.render import outcome_label

    return f"{outcome_label(_law(), outcome, lang, stage)} ({outcome})"


@app.command("cases")
def cases_cmd(
    paths: Annotated[list[Path], typer.Argument(help="YAML case files or folders of them.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array, one object per case.")] = False,
    lang: Lang = "en",
) -> None:
    """Run YAML case files (the acceptance format) and report which pass; exit 1 if any fails."""
    from rich.table import Table

    from warexempt.rules.acceptance import CaseFileError, run_case_files

    try:
        results = run_case_files(paths, _law())
    except CaseFileError as exc:
        _fail(str(exc))
    failed = [r for r in results if not r.passed]
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=1, default=str))
    else:
        from warexempt.explain.i18n import gettext

        _ = lambda m, **kw: gettext(lang, m, **kw)  # noqa: E731
        counts = _("{passed} passed, {failed} failed", passed=len(results) - len(failed), failed=len(failed))
        table = Table(title=counts)
        for col in ("id", _("outcome"), _("result"), _("mismatches")):
            table.add_column(col)
        for r in results:
            mark = "[green]" + _("pass") + "[/]" if r.passed else "[red]" + _("FAIL") + "[/]"
            got = _outcome_cell((r.decision or {}).get("outcome"), (r.decision or {}).get("stage"), lang)
            table.add_row(r.id, got, mark, "; ".join(in_lang(m, lang) for m in r.mismatches))
        _out().print(table)
        _out().print(counts)
    if failed:
        raise typer.Exit(1)


@app.command("bulk", cls=BulkHelp)  # its help lists the columns and formats
def bulk_cmd(
    infile: Annotated[Path, typer.Argument(help="Cases as .csv or .parquet (bulk schema).")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Decisions: .parquet or .csv (not needed with --summary).")
    ] = None,
    as_of: AsOf = None,
    errors: Annotated[Path | None, typer.Option("--errors", help="Bad rows file (default OUTPUT.errors.csv).")] = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="The run's manifest (default OUTPUT.manifest.json).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing decisions, errors and manifest.")] = False,
    ignore_extra_columns: Annotated[
        bool,
        typer.Option("--ignore-extra-columns", help="Leave out columns the bulk schema does not have (else: stop)."),
    ] = False,
    show_summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="Counts by outcome and deciding provision, and by outcome, stage, route and list version; "
            "without -o no decisions are written (no list of people), only the counts.",
        ),
    ] = False,
    chunk_rows: Annotated[
        int | None,
        typer.Option(
            "--chunk-rows",
            help="Decide the file in parts of N rows, for files larger than memory (a file of more than 4,000,000 "
            "rows is decided in parts of 1,000,000 unasked); the answer is the same.",
        ),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Decide the parts on a Dask cluster: local or local:N (N worker processes here, default 2), or "
            "tcp://HOST:PORT (a running scheduler; its workers must see the files at the same paths).",
        ),
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option(
            "--events",
            help="A long events file (.csv or .parquet: case_id, date, kind, and event_id, ground, stage, charge): "
            "each case's history, beside (or instead of) its date columns.",
        ),
    ] = None,
    lang: Lang = "en",
) -> None:
    """Evaluate a file of cases; bad rows go to an errors file with row, column and reason.

    The decisions, the errors and a manifest (the input's SHA-256, the counts, the law's fingerprint) are written
    under temporary names and renamed at the end, the manifest last; Ctrl-C leaves the earlier files as they were.
    A second run on the same output is refused while one runs.
    """
    from warexempt.cli.allocator import keep_freed_pages

    keep_freed_pages()  # (before Polars is imported)
    from warexempt.cli import bulk_parts
    from warexempt.law.catalog import bundled_law
    from warexempt.law.tables import tables
    from warexempt.population.bulk import BulkFileError
    from warexempt.population.output import BulkRun, OutputError, Targets, write

    def stop(message: str) -> NoReturn:  # as _fail, on one line however long (a script greps it)
        from rich.markup import escape

        _err().print(f"[bold red]{error_prefix()}:[/] {escape(in_lang(message))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)

    day = _day(as_of)
    if problem := bulk_parts.problem(chunk_rows, dask, lang):
        _fail(problem)
    if output is None:  # counts only: nothing written, no one listed
        if not show_summary:
            _fail(bulk_parts.needs_output(lang))
        counting = bulk_parts.decider(
            infile, tables(bundled_law()), day, None, ignore_extra_columns=ignore_extra_columns, events=events,
            chunk_rows=chunk_rows, dask=dask, count=True, lang=lang,
        )  # fmt: skip
        try:
            counted = _with_progress(counting) if sys.stderr.isatty() else counting(None)
        except BulkFileError as exc:
            stop(str(exc))
        print(bulk_parts.counted_line(counted, lang), file=sys.stderr)
        bulk_parts.show_summary(_out(), counted, None, lang)
        return
    if output.suffix.lower() not in (".csv", ".parquet"):
        _fail(f"-o {output}: expected a .csv or .parquet file name")
    targets = Targets.of(output, errors, manifest)
    try:
        with BulkRun(infile, targets, force=force) as run:  # paths, folders, lock: all before the input is read
            decide = bulk_parts.decider(
                infile, tables(bundled_law()), day, run.staged.decisions, ignore_extra_columns=ignore_extra_columns,
                events=events, chunk_rows=chunk_rows, dask=dask, count=show_summary, lang=lang,
            )  # fmt: skip

            try:  # no bar (and no refresh thread) when stderr is a file or a pipe
                result = _with_progress(decide) if sys.stderr.isatty() else decide(None)
            except BulkFileError as exc:
                stop(str(exc))
            bad = result.rows - result.decided
            try:
                write(result.errors, run.staged.errors)
                run.commit(rows_read=result.rows, rows_decided=result.decided, rows_with_errors=bad, as_of=day)
            except OSError as exc:  # a full disk, a folder made read-only meanwhile
                stop(f"cannot write {exc.filename or targets.errors} ({exc.strerror or 'input/output error'})")
    except OutputError as exc:
        stop(str(exc))
    done = (
        f"{result.decided:,} cases decided -> {output}; {bad:,} rows with errors -> {targets.errors}; "
        f"manifest -> {targets.manifest}"
    )
    print(in_lang(done), file=sys.stderr)
    if show_summary:
        bulk_parts.show_summary(_out(), result, output, lang)


def _with_progress(work: Callable[[Callable[[str, int, int], None]], T]) -> T:
    """Run ``work`` under a Rich progress bar on stderr; ``work`` reports each step as (step, done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=_err(), refresh_per_second=4) as progress:
        task = progress.add_task(in_lang("checking cases"), total=None)
        return work(
            lambda step, done, total: progress.update(task, description=in_lang(step), completed=done, total=total)
        )


@app.command("law")
def law_cmd(
    as_of: AsOf = None,
    lang: Lang = "en",
    as_json: Json = False,
) -> None:
    """The law in force on a day: stages covered, exclusions with titles, event rules, sources, what is unconfirmed."""
    from rich.panel import Panel
    from rich.table import Table

    from warexempt.explain.i18n import date as fmt_date
    from warexempt.explain.i18n import gettext
    from warexempt.explain.views import law_view

    day = _day(as_of)
    view = law_view(_law(), day, lang)
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    _ = lambda m, **kw: gettext(lang, m, **kw)  # noqa: E731
    _out().print(Panel(_("Law in force on {day}", day=fmt_date(day, lang)), expand=False))
    table = Table(title=_("Routes by stage"))
    for heading in (_("Stage"), _("Route"), _("Instrument"), "id"):
        table.add_column(heading)
    for r in view["routes"]:
        cited = "; ".join(c["text"] for c in r["citations"])
        text = cited if r["covered"] else _("no statutory route") + (f" ({cited})" if cited else "")
        table.add_row(r["stage_label"], text, r["instrument"] or "", r["id"] or "")
    _out().print(table)
    excluded, source = _("Excluded offences"), _("source")  # (not in f-strings: Babel would not find them)
    for lst in view["exclusion_lists"]:
        t = Table(title=f"{excluded}: {lst['citation']['text']} ({lst['id']})")
        for heading in (_("Offence"), "id", _("Category")):
            t.add_column(heading)
        for item in lst["items"]:
            t.add_row(item["text"], item["id"], item["category_label"])
        _out().print(t)
        for url in lst["sources"]:
            _out().print(f"  {source}: {url}", highlight=False)
    rules = Table(title=_("What the events do"))
    for heading in ("id", _("Stages"), _("Events"), _("Outcome"), _("Reasons")):
        rules.add_column(heading)
    for rule in view["event_rules"]:
        grounds = f" ({', '.join(rule['ground_labels'])})" if rule["ground_labels"] else ""
        rules.add_row(
            rule["id"],
            ", ".join(rule["stage_labels"]),
            ", ".join(rule["event_labels"]) + grounds,
            rule["outcome_label"],
            "; ".join(c["text"] for c in rule["citations"]),
        )
    _out().print(rules)
    if view["unconfirmed"]:
        _out().print("[bold]" + _("Unconfirmed facts") + "[/]")
        for f in view["unconfirmed"]:
            _out().print(f"  {f['text']} [yellow]({f['id']})[/]", highlight=False)
    _out().print("[bold]" + _("Sources") + "[/]")
    for inst in view["instruments"]:
        for url in inst["sources"]:
            _out().print(f"  {inst['id']}: {url}", highlight=False)


@app.command("timeline")
def timeline_cmd(lang: Lang = "en", as_json: Json = False) -> None:
    """Every version of every instrument on one time line (documented-only instruments at their known dates)."""
    from rich.table import Table

    from warexempt.explain.i18n import gettext
    from warexempt.explain.views import timeline_view

    view = timeline_view(_law(), lang)
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    _ = lambda m, **kw: gettext(lang, m, **kw)  # noqa: E731
    table = Table(title=_("Timeline"))
    for heading in (_("In force"), "id", _("Instrument"), _("Notes")):
        table.add_column(heading)
    for item in view:
        span = f"{item['from']} … {item['to'] or ''}" if item["in_force_known"] else f"({item['from']} …)"
        notes = ", ".join(item["flag_labels"] + [f"{m['date']}: {m['text']}" for m in item["milestones"]])
        table.add_row(span, item["id"], item["title"], notes)
    _out().print(table)


@app.command("glossary")
def glossary_cmd(lang: Lang = "en", as_json: Json = False) -> None:
    """The terms the answers use, in Russian and English, each with its definition and its source provision."""
    from rich.table import Table

    from warexempt.explain.citations import cite
    from warexempt.explain.glossary import glossary
    from warexempt.explain.i18n import gettext

    terms = glossary()
    if as_json:
        rows = [{**t.model_dump(), "source_citation": cite(t.source, _law()).text(lang)} for t in terms]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    _ = lambda m: gettext(lang, m)  # noqa: E731
    table = Table(title=_("Glossary"), show_lines=True)
    headings = (_("Term"), _("Russian")) if lang == "en" else (_("Term"),)  # an English reader meets the Russian
    for heading in (*headings, _("Definition"), _("Source")):
        table.add_column(heading)
    for t in terms:
        names = (t.en, t.ru) if lang == "en" else (t.ru,)
        table.add_row(*names, t.definition(lang), cite(t.source, _law()).text(lang))
    _out().print(table)


DEMO = [
    (
        N_("A theft suspect signs a contract and the command petitions (2024)"),
        ["158:3:в"],
        "pre_trial",
        ["2024-05-02:contract_signed", "2024-05-10:command_petition"],
        "2024-06-01",
    ),
    (
        N_("…then the person receives a state award"),
        ["158:3:в"],
        "pre_trial",
        ["2024-05-02:contract_signed", "2024-05-10:command_petition", "2025-01-20:state_award"],
        "2025-02-01",
    ),
    (
        N_("A defendant on trial for treason"),
        ["275"],
        "trial",
        ["2024-11-05:contract_signed", "2024-11-25:command_petition"],
        "2025-01-15",
    ),
    (
        N_("A convict under 80.2, discharged for another reason"),
        ["158:3:в"],
        "sentenced",
        ["2024-06-17:contract_signed", "2025-02-03:discharged:other"],
        "2025-03-01",
    ),
    (
        N_(
            "A case history: sent to court, a petition refused (June 2024, before 340-FZ), a second one granted, "
            "discharged on another ground, re-enlisted, awarded"
        ),
        ["161:2"],
        "pre_trial",
        [
            "2024-03-01:stage_changed:trial",
            "2024-05-01:contract_signed",
            "2024-06-01:command_petition",
            "2024-11-05:command_petition",
            "2025-03-01:discharged:other",
            "2025-05-10:contract_signed",
            "2025-05-20:command_petition",
            "2025-12-01:state_award",
        ],
        "2026-01-15",
    ),
    (
        N_("A convict conditionally released deserts after 534-FZ (9 January 2026)"),
        ["111:4"],
        "sentenced",
        ["2025-08-01:contract_signed", "2026-02-01:new_offence:338:4"],
        "2026-03-01",
    ),
]


@app.command("demo")
def demo_cmd(lang: Lang = "en") -> None:
    """A short tour: six cases, their answers with citations, and what could happen next."""

    from warexempt.explain.i18n import gettext
    from warexempt.facade import check, what_if
    from warexempt.rules.case import Case

    def say(message: str, **values: str) -> str:  # (what_if's answer below is unpacked into "_")
        return gettext(lang, message, **values)

    law = _law()
    for title, charges, stage, events, as_of in DEMO:
        _out().rule(say(title))
        case = Case.parse({"charges": charges, "stage": stage, "events": [_event(e) for e in events], "as_of": as_of})
        _show(check(case, law=law), lang)
    _out().rule(say(N_("What happens next? (a defendant on trial, contract signed, no petition yet)")))
    case = Case.parse(
        {
            "charges": ["228:2"],
            "stage": "trial",
            "events": [_event("2025-03-01:contract_signed")],
            "as_of": "2025-03-10",
        }
    )
    _, branches = what_if(case, law=law)
    _what_if_table(branches, lang)
    command = (
        "warexempt check --charge 158:3:в --stage trial --event 2024-10-20:contract_signed "
        "--event 2024-11-01:command_petition --as-of 2025-06-01 --lang ru --what-if"
    )
    _out().print(say(N_("Try: {command}"), command=command), highlight=False)


from warexempt.cli import serve as _serve  # noqa: E402, F401 — registers `warexempt serve`
from warexempt.cli.register import register_app, users_app  # noqa: E402

app.add_typer(register_app, name="register")
app.add_typer(users_app, name="users")
from warexempt.cli.population import data_app, population_app  # noqa: E402

app.add_typer(population_app, name="population")
app.add_typer(data_app, name="data")


def main() -> None:
    """The console script. It ends the process without the interpreter's teardown (freeing every object and
    Polars' thread pool one by one takes a tenth of a second, a tenth of a bulk run on a million rows); everything
    it wrote is closed by then, and the output streams are flushed first."""
    code: int | str | None = 0
    try:
        app()
    except LawDataError as exc:
        _err().print(f"[bold red]{in_lang('law data error')}:[/] {exc}")
        code = 2
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    main()
