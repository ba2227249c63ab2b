"""Rewrite warexempt/locale/*/LC_MESSAGES/warexempt.po from the messages of the code and the CLI's help texts.

    .venv/bin/python data_build/update_catalogs.py

The messages are those marked in the code (``_``, ``N_``: Babel extraction) and every help text of the ``warexempt``
command (its commands' docstrings, their options' help: ``cli.i18n.help_texts``). English needs no translation
(msgids are English); Russian comes from data_build/ru_messages.py. A message without a Russian translation, or a
translation with a placeholder its message does not have, makes this script fail; tests check the committed catalog
the same way (tests/test_explain.py, tests/test_russian.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
from ru_messages import RU  # noqa: E402


def messages() -> list[str]:
    """Every msgid: the marked messages, then the help texts."""
    import typer.main

    from warexempt.cli.app import app
    from warexempt.cli.i18n import help_texts

    # the code, and the Jinja2 templates of the web page and the report (``{{ _("…") }}``)
    jinja = "jinja2.ext:babel_extract"
    methods = [("**.py", "python"), ("**/templates/**.html", jinja), ("**/templates/**.j2", jinja)]
    found = {m[2] for m in extract_from_dir(ROOT / "warexempt", method_map=methods)}
    found |= set(help_texts(typer.main.get_command(app)))
    # Babel (on Python 3.11) does not look inside f-strings: a translated message written there as _('…') is kept
    # when its text stands in the code as such a literal
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "warexempt").rglob("*.py"))
    found |= {m for m in RU if f"_('{m}'" in code or f'_("{m}"' in code}
    # and a message passed to ``gettext(lang, "…")`` or matched as a template (``explain.messages``) stands in the
    # code as a string literal of its own
    found |= {m for m in RU if f'"{m}"' in code or f"'{m}'" in code}
    return sorted(m for m in found if isinstance(m, str))


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w*)\}", text))


def main() -> None:
    found = messages()
    missing = [m for m in found if m not in RU]
    if missing:
        raise SystemExit("no Russian translation for:\n" + "\n".join(missing))
    wrong = [m for m in found if not placeholders(RU[m]) <= placeholders(m)]
    if wrong:
        raise SystemExit("a Russian translation with a placeholder its message lacks:\n" + "\n".join(wrong))
    for lang in ("en", "ru"):
        cat = Catalog(locale=lang, project="warexempt", domain="warexempt")
        for msg in found:
            cat.add(msg, RU[msg] if lang == "ru" else "")
        out = ROOT / "warexempt" / "locale" / lang / "LC_MESSAGES" / "warexempt.po"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as fh:
            write_po(fh, cat, omit_header=False, width=0)
    unused = sorted(set(RU) - set(found))
    print(
        f"{len(found)} messages"
        + (f"; {len(unused)} translations no message uses:\n" + "\n".join(unused) if unused else "")
    )


if __name__ == "__main__":
    main()
