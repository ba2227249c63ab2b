"""Help that teaches: the values ``check`` and ``bulk`` read, listed in their ``--help`` from the law data itself.

The lists come from the vocabulary (stages, event kinds, discharge grounds, the bulk file's date columns) and from
``population.source`` (the bulk schema's columns), so a new event kind or column shows up in the help with no code.
They are made when the help is shown, in the run's language (``cli.i18n.current``): a command that only runs never
loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from typer.core import TyperCommand

if TYPE_CHECKING:
    from warexempt.law.models import Vocabulary

EXAMPLE_DAY = "2025-02-01"
EXAMPLE_CHARGE = "338:4"  # a new offence's charge in an example (desertion, УК 338 ч. 4)


def _say(lang: str) -> Callable[..., str]:
    from warexempt.explain.i18n import gettext

    return lambda message, **values: gettext(lang, message, **values)


def _vocabulary() -> Vocabulary:
    from warexempt.law.catalog import bundled_law

    return bundled_law().vocabulary


def _name(item: Any, lang: str) -> str:
    from warexempt.explain.i18n import pick

    return pick(item, lang)


def event_example(vocab: Vocabulary, kind: str, value: str | None = None) -> str:
    """``--event DATE:KIND[:VALUE]`` for an event of ``kind``, its required field filled with ``value`` or the first
    valid one (a ground, a stage) or an example charge code."""
    requires = vocab.event(kind).requires
    if not requires:
        return f"--event {EXAMPLE_DAY}:{kind}"
    if value is None:
        field = requires[0]
        value = {
            "ground": vocab.ids("discharge_grounds")[0],
            "stage": vocab.ids("stages")[-1],
            "charge": EXAMPLE_CHARGE,
        }[field]
    return f"--event {EXAMPLE_DAY}:{kind}:{value}"


def check_epilog(lang: str = "en") -> str:
    """The stages, event kinds and discharge grounds ``check`` reads, each with its name and one example."""
    _ = _say(lang)
    vocab, eg = _vocabulary(), _("e.g.")
    lines = [_("Stages (--stage; stage: in a case file):")]
    lines += [f"  {s.id} — {_name(s, lang)}; {eg} --stage {s.id}" for s in vocab.stages]
    lines.append("\n" + _("Event kinds (--event DATE:KIND or DATE:KIND:VALUE; events: in a case file):"))
    for e in vocab.events:
        needs = f"; {_('needs a {field}', field=e.requires[0])}" if e.requires else ""
        lines.append(f"  {e.id} — {_name(e, lang)}{needs}; {eg} {event_example(vocab, e.id)}")
    grounded = next((e.id for e in vocab.events if "ground" in e.requires), None)
    lines.append("\n" + _("Discharge grounds (the VALUE of a discharge; ground: in a case file):"))
    for g in vocab.discharge_grounds:
        example = f"; {eg} {event_example(vocab, grounded, g.id)}" if grounded else ""
        lines.append(f"  {g.id} — {_name(g, lang)}{example}")
    lines.append(
        "\n" + _("Words are read without regard to case and surrounding spaces (Trial, ' TRIAL ', State_Award).")
    )
    return "\n".join(lines)


def bulk_epilog(lang: str = "en") -> str:
    """The bulk file's columns (``population.source``) and their formats, the date columns named by the events of
    the vocabulary that they stand for; then the output's columns and types."""
    import polars as pl

    from warexempt.population.source import DATES, REQUIRED

    _ = _say(lang)
    vocab = _vocabulary()
    by_column = {e.bulk: e for e in vocab.events if e.bulk}
    grounds = {e.bulk_ground: e for e in vocab.events if e.bulk_ground}
    required, optional = _("required"), _("optional")
    lines = [_("Columns of the cases file (a header line; names without regard to case and surrounding spaces):")]
    lines.append(f"  case_id — {required}; {_('text (Parquet: text or whole numbers), one row per case')}")
    lines.append(f"  charges — {required}; {_('codes joined by ; (Parquet: a list of codes too), e.g. 158:3:в;228:2')}")
    stages = ", ".join(vocab.ids("stages"))
    lines.append(f"  stage — {required}; {_('one of {words}', words=stages)}")
    for column in DATES:
        event = by_column.get(column)
        need = _("required unless --events") if column in REQUIRED else optional
        what = _("the date of: {event}", event=_name(event, lang)) if event else _("a date")
        lines.append(f"  {column} — {need}; {_('YYYY-MM-DD')}, {what}")
    for column, event in grounds.items():
        words = ", ".join(vocab.ids("discharge_grounds"))
        lines.append(f"  {column} — {_('with {column}', column=event.bulk or '')}; {_('one of {words}', words=words)}")
    lines.append(f"  as_of — {optional}; {_('YYYY-MM-DD, the day of the question for this row (else --as-of)')}")
    lines.append(f"  offence_date — {optional}; {_('YYYY-MM-DD, the day the offence was committed')}")
    lines.append(
        "\n"
        + _(
            "Dates in Parquet: Date, Datetime, whole days since 1970-01-01 or YYYY-MM-DD text. CSV: separated by "
            "commas, ; or tabs, UTF-8."
        )
    )
    from warexempt.law.catalog import bundled_law
    from warexempt.population.bulk import OUTPUT_COLUMNS, output_types

    types = output_types(bundled_law())
    lists = ", ".join(c for c, t in types.items() if isinstance(t, pl.List))
    enums = ", ".join(c for c, t in types.items() if isinstance(t, pl.Enum))
    lines.append("\n" + _("Decisions (-o): {columns}.", columns=", ".join(OUTPUT_COLUMNS)))
    lines.append(
        _(
            "In Parquet {lists} are lists of strings and {enums} enums over fixed lists, so that two runs' files "
            "concatenate; in CSV the lists are joined by ;.",
            lists=lists,
            enums=enums,
        )
    )
    return "\n".join(lines)


class _Teaching(TyperCommand):
    """A command whose help ends with what its values may be (``epilog_of``), made when the help is shown."""

    epilog_of: Callable[[str], str] | None = None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from warexempt.cli.i18n import current

        make = type(self).epilog_of
        if make is not None:
            self.epilog = make(current())
        super().format_help(ctx, formatter)


class CheckHelp(_Teaching):
    epilog_of = staticmethod(check_epilog)


class BulkHelp(_Teaching):
    epilog_of = staticmethod(bulk_epilog)
