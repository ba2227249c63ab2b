"""``N_``: marks an English message as a msgid of the catalogs (``data_build/update_catalogs.py`` collects them)
without translating it, in a module of its own so that marking a message never imports Babel."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs; an interface translates it when shown (``explain.i18n.gettext``)."""
    return message
