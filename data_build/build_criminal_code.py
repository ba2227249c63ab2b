"""Rebuild the bundled Criminal Code catalogue (warexempt/law/data/criminal_code/) from its inputs.

Inputs: ../shared/legal/criminal_code/articles.csv (titles, chapters, sources) and data_build/criminal_code/parts_*.csv
(one row per part in force: points, maximum term of imprisonment, life/death, negligence), which were read article by
article from the full-text copy of the Code named in shared/legal/criminal_code/README.md
(jacklivebot-web/uk-rf-knowledge-graph, commit 595f578d…). A part whose note says it was added by a law
("added 29.12.2025 №534-ФЗ") gets, when ``LAWS_IN_FORCE`` knows the law, the day the law came into force
(``in_force_from``) and the law (``in_force_by``). Run from the repository root:

    python data_build/build_criminal_code.py [--shared ../shared]

The product never reads ../shared: this script copies what it needs into the package.
"""

from __future__ import annotations

import argparse
import csv
import glob
import re
from pathlib import Path
from urllib.parse import quote

REPO = "https://github.com/jacklivebot-web/uk-rf-knowledge-graph/blob/595f578d3dfb040ecf57ec5b092b45d843e49271/"
OUT = Path("warexempt/law/data/criminal_code")
ARTICLE_COLUMNS = ["article", "chapter", "title_ru", "title_en", "repealed", "added_by", "source_url", "notes"]
PART_COLUMNS = [
    "article",
    "part",
    "points",
    "max_years",
    "life_or_death",
    "negligent",
    "note",
    "in_force_from",
    "in_force_by",
]
# The day each law that added parts came into force (its official text: "вступает в силу …").
LAWS_IN_FORCE = {
    "534-ФЗ": "2026-01-09",  # Federal Law of 29.12.2025 No. 534-FZ
}
ADDED = re.compile(r"\badded (?P<signed>\d{2}\.\d{2}\.\d{4}) №\s*(?P<law>\d+-ФЗ)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default="../shared")
    args = parser.parse_args()
    src = Path(args.shared) / "legal/criminal_code/articles.csv"
    parts: list[dict[str, str]] = []
    for name in sorted(glob.glob("data_build/criminal_code/parts_*.csv")):
        with open(name, encoding="utf-8") as fh:
            parts.extend(csv.DictReader(fh))
    read = {row["article"] for row in parts}
    OUT.mkdir(parents=True, exist_ok=True)
    with src.open(encoding="utf-8") as fh, (OUT / "articles.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, ARTICLE_COLUMNS)
        writer.writeheader()
        for row in csv.DictReader(fh):
            if row["article"] in read:
                path = quote(f"03-Resources/УК-РФ/Статьи/ст.{row['article']}.md")
                row["source_url"] = REPO + path
            writer.writerow({k: row.get(k, "") for k in ARTICLE_COLUMNS})
    with (OUT / "parts.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, PART_COLUMNS)
        writer.writeheader()
        for row in parts:
            out_row = {k: (row.get(k) or "").strip() for k in PART_COLUMNS}
            added = ADDED.search(out_row["note"])
            if added and not out_row["in_force_from"]:
                if added["law"] in LAWS_IN_FORCE:
                    out_row["in_force_from"], out_row["in_force_by"] = LAWS_IN_FORCE[added["law"]], added["law"]
                else:
                    print(f"{row['article']}:{row['part']}: added by {added['law']}, not in LAWS_IN_FORCE: no date")
            writer.writerow(out_row)
    print(f"{len(read)} articles with parts, {len(parts)} part rows -> {OUT}")


if __name__ == "__main__":
    main()
