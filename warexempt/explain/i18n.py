"""Message catalogs (Babel). English msgids in the code; ``locale/ru/LC_MESSAGES/warexempt.po`` translates them.

The ``.po`` files are the source; they are compiled in memory on first use, so there is no build step and no
compiled file to keep in step.
"""

from __future__ import annotations

import datetime as dt
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGS = ("en", "ru")


@lru_cache(maxsize=4)
def translations(lang: str) -> NullTranslations:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: expected one of {', '.join(LANGS)}")
    po = Path(__file__).resolve().parent.parent / "locale" / lang / "LC_MESSAGES" / "warexempt.po"
    if not po.is_file():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


@lru_cache(maxsize=4)
def catalog(lang: str) -> tuple[str, ...]:
    """Every message ``lang``'s catalog translates (its msgids)."""
    po = Path(__file__).resolve().parent.parent / "locale" / lang / "LC_MESSAGES" / "warexempt.po"
    if lang not in LANGS or not po.is_file():
        return ()
    with po.open("rb") as fh:
        return tuple(str(m.id) for m in read_po(fh, locale=lang) if m.id and m.string)


def gettext(lang: str, message: str, /, **values: object) -> str:
    """Translate ``message`` and fill its ``{placeholders}``."""
    return _translated(lang, message).format(**values)


@lru_cache(maxsize=1 << 14)  # (a few hundred messages, each looked up for every answer: once each suffices)
def _translated(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def pick(text: Any, lang: str) -> str:
    """The Russian or the English of anything the law data gives in both (``.ru`` and ``.en``)."""
    return str(text.ru if lang == "ru" else text.en)


@lru_cache(maxsize=8192)  # Babel's formatting is most of an answer's cost; a few thousand distinct days recur
def date(day: dt.date, lang: str) -> str:
    """A date as people write it: "1 June 2025" / «1 июня 2025 г.»."""
    return format_date(day, format="long", locale="en_GB" if lang == "en" else lang)
