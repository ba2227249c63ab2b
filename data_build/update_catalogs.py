"""Rewrite warexempt/locale/*/LC_MESSAGES/warexempt.po from the messages marked in the code (Babel extraction).

    python data_build/update_catalogs.py

English needs no translation (msgids are English); Russian comes from data_build/ru_messages.py. A message
without a Russian translation makes this script fail, and a test checks the committed catalog the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

sys.path.insert(0, str(Path(__file__).parent))
from ru_messages import RU

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    found = sorted({m[2] for m in extract_from_dir(ROOT / "warexempt", method_map=[("**.py", "python")])})
    missing = [m for m in found if m not in RU]
    if missing:
        raise SystemExit("no Russian translation for:\n" + "\n".join(missing))
    for lang in ("en", "ru"):
        cat = Catalog(locale=lang, project="warexempt", domain="warexempt")
        for msg in found:
            cat.add(msg, RU[msg] if lang == "ru" else "")
        out = ROOT / "warexempt" / "locale" / lang / "LC_MESSAGES" / "warexempt.po"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as fh:
            write_po(fh, cat, omit_header=False, width=0)
    print(f"{len(found)} messages")


if __name__ == "__main__":
    main()
