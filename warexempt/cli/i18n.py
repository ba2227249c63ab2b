"""The CLI's language: ``--lang`` of each command, else the ``WAREXEMPT_LANG`` environment variable, else English.

It is the language of everything the command prints: the answers, the tables, the error messages (``in_lang`` below:
``explain.messages.translate``) and the help. The help texts are written in English in ``cli/app.py`` (the commands'
docstrings, the ``help=`` of their options) and are msgids of the message catalog, as Typer's own headings are
(``TYPER_STRINGS``). Help is printed while the options are being parsed, perhaps before ``--lang`` is read
(``check --help --lang ru``), so ``LocalizedGroup`` looks for the command's ``--lang`` among its arguments itself and
translates that command's help before Click formats it. The usage line keeps Click's metavariables (``[OPTIONS]``),
and Click's own parse errors ("No such option") stay in English.

Nothing here imports Babel unless the language is not English: ``warexempt bulk`` in English starts as fast as before.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from typer import _click
from typer.core import TyperGroup

from warexempt._marks import N_

LANGS = ("en", "ru")  # (as explain.i18n.LANGS, without importing Babel)
ENV = "WAREXEMPT_LANG"


# Typer's headings and notes in help and error panels (``typer.rich_utils``): attribute -> English text, a msgid.
TYPER_STRINGS = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "DEPRECATED_STRING": N_("(deprecated) "),
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
}
USAGE = N_("Usage: ")

_current = ["en"]


def _env() -> str:
    value = os.environ.get(ENV, "").strip().lower()
    return value if value in LANGS else "en"


def current() -> str:
    """The language of the command being run."""
    return _current[0]


def text(message: str, lang: str | None = None) -> str:
    """``message`` (a msgid, no placeholders filled) in ``lang`` (default: the run's)."""
    lang = lang or current()
    if lang == "en":
        return message
    from warexempt.explain.i18n import translations

    return str(translations(lang).gettext(message))


ERROR = N_("error")


def error_prefix(lang: str | None = None) -> str:
    """The word before an error message: "error" / «ошибка»."""
    return text(ERROR, lang)


def in_lang(message: str, lang: str | None = None) -> str:
    """An English error or warning (``explain.messages``) in ``lang`` (default: the run's)."""
    lang = lang or current()
    if lang == "en":
        return message
    from warexempt.explain.messages import translate

    return translate(message, lang)


def _use(lang: str) -> None:
    _current[0] = lang
    if lang == "en" and "typer.rich_utils" not in sys.modules:
        return  # Typer's headings are English until changed (and Rich is not imported for nothing)
    from typer import rich_utils

    for name, english in TYPER_STRINGS.items():
        setattr(rich_utils, name, text(english, lang))


def _lang_in(args: list[str]) -> str | None:
    """The value of ``--lang`` among a command's arguments, if any."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        else:
            continue
        value = value.strip().lower()  # as the option reads it
        return value if value in LANGS else None
    return None


def _translate_params(command: _click.Command, ctx: _click.Context, lang: str) -> None:
    for param in command.get_params(ctx):  # with the --help option, made for this context
        help_text = getattr(param, "help", None)
        if help_text:
            param.help = text(help_text, lang)  # type: ignore[attr-defined]


def _localized(command: _click.Command, lang: str) -> bool:
    """Translate ``command``'s own help text (once); whether it was not in ``lang`` yet."""
    if lang == "en" or getattr(command, "_warexempt_lang", None) == lang:
        return False
    command._warexempt_lang = lang  # type: ignore[attr-defined]
    if command.help:
        command.help = text(command.help, lang)
    if command.short_help:
        command.short_help = text(command.short_help, lang)
    return True


def localize(command: _click.Command, lang: str) -> None:
    """Translate a command's help (its text, its options' and arguments', its usage line) into ``lang``, in place:
    the command objects are built afresh for each run."""
    if not _localized(command, lang):
        return
    format_help: Callable[[_click.Context, _click.HelpFormatter], None] = command.format_help

    def localized_help(ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _translate_params(command, ctx, lang)
        format_help(ctx, formatter)

    def localized_usage(ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        pieces = command.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=text(USAGE, lang))

    command.format_help = localized_help  # type: ignore[method-assign]
    command.format_usage = localized_usage  # type: ignore[method-assign]


class LocalizedGroup(TyperGroup):
    """The ``warexempt`` group: each run starts in the language of ``WAREXEMPT_LANG`` (English by default); the
    command's ``--lang`` then decides, for its help too."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _use(_env())
        return super().main(*args, **kwargs)

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        lang = _lang_in(rest) or current()
        if lang != current():
            _use(lang)
        if command is not None:
            localize(command, lang)
        return name, command, rest

    def format_usage(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=text(USAGE))

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        lang = current()
        if _localized(self, lang):
            _translate_params(self, ctx, lang)
        for command in self.commands.values():
            _localized(command, lang)
        super().format_help(ctx, formatter)


HELP_OPTION = N_("Show this message and exit.")  # Click's --help, made per context


def help_texts(group: _click.Command) -> list[str]:
    """Every help text of the ``warexempt`` group (its own, its commands', their options' and arguments'): msgids
    of the catalog (``data_build/update_catalogs.py`` collects them, a test checks their translations)."""
    texts: list[str | None] = [HELP_OPTION, group.help, group.short_help]
    texts += [getattr(p, "help", None) for p in group.params]
    for command in getattr(group, "commands", {}).values():  # a sub-group (register, users, population) in full
        texts += help_texts(command)
    return [t for t in dict.fromkeys(texts) if t]
