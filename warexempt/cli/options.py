"""What every command group of the CLI shares: how a group is made and the ``--lang`` and ``--json`` options.

One place, so that ``check``, ``register`` and ``population`` read ``--lang`` the same way (``RU``, `` en ``
accepted, anything else refused with the choices) and show the same bilingual help for it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from warexempt.cli.i18n import LANGS, LocalizedGroup


def group(help: str, **extra: object) -> typer.Typer:
    """A command group whose help and messages are in the run's language (``cli/i18n.py``)."""
    return typer.Typer(help=help, no_args_is_help=True, cls=LocalizedGroup, **extra)  # type: ignore[arg-type]


def language(value: str) -> str:
    """``--lang`` as people type it (``RU``, `` en ``); one that is not a language is refused with the choices."""
    text = language_text(value)
    if text not in LANGS:
        raise typer.BadParameter(not_a_language(value))
    return text


def language_text(value: str) -> str:
    return value.strip().lower()


def not_a_language(value: str) -> str:
    import difflib

    close = difflib.get_close_matches(value.strip().lower(), LANGS, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{value!r} is not a language; expected {' or '.join(LANGS)}{hint}"


LANG_HELP = "Language of the output, of its messages and of this help: en or ru."
Lang = Annotated[str, typer.Option("--lang", help=LANG_HELP, envvar="WAREXEMPT_LANG", callback=language)]
# check reads --lang itself, so that a wrong one is reported as its other errors are (as JSON under --json)
LangText = Annotated[str, typer.Option("--lang", help=LANG_HELP, envvar="WAREXEMPT_LANG", callback=language_text)]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
