"""Provision ids as citations: ``uk:78.1:1:а`` → «п. «а» ч. 1 ст. 78.1 УК РФ» / "Criminal Code of the Russian
Federation, Art. 78.1(1)(a)". The names of the codes and the point alphabet are law data (``vocabulary.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass

from warexempt.law.catalog import Law, per_law


@dataclass(frozen=True)
class Citation:
    id: str
    ru: str
    en: str
    title_ru: str
    title_en: str
    url: str | None

    def text(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.en

    def title(self, lang: str) -> str:
        return self.title_ru if lang == "ru" else self.title_en


def _en_point(point: str, letters: str) -> str:
    base, _, sup = point.partition(".")
    if base in letters:
        latin = chr(ord("a") + letters.index(base))
        return latin + (f".{sup}" if sup else "")
    return point


@per_law
def _cited(law: Law) -> dict[str, Citation]:
    return {}


def cite(pid: str, law: Law) -> Citation:
    """Render one canonical id; unknown prefixes fall back to the id itself (never raise on display). A citation is
    made once per id for the life of a ``Law`` (a server renders the same few dozen in every answer)."""
    found = _cited(law).get(pid)
    if found is None:
        found = _cited(law)[pid] = _cite(pid, law)
    return found


def _cite(pid: str, law: Law) -> Citation:
    vocab = law.vocabulary
    head, *rest = pid.split(":")
    names = {c.prefix: c for c in vocab.codes}
    prov = law.provision(pid)
    title_ru = prov.title_ru if prov else ""
    title_en = prov.title_en if prov else ""
    url = prov.source_urls[0] if prov and prov.source_urls else None
    if head == "uk" and rest:
        art = law.criminal_code.get(rest[0])
        if art is not None and not prov:
            title_ru, title_en, url = art.title_ru, art.title_en, art.source_url
    name = names.get(head)
    if name is None or not rest:
        label = title_ru or pid
        return Citation(pid, label, title_en or pid, title_ru, title_en, url)
    article, part, point = [*rest, None, None][:3]
    ru_bits = []
    if point:
        ru_bits.append(f"п. «{point}»" if point[0].isalpha() else f"п. {point}")
    if part:
        ru_bits.append(f"ч. {part}")
    ru_bits.append(f"ст. {article}")
    ru = " ".join(ru_bits) + f" {name.ru}"
    en = f"{name.en}, Art. {article}"
    if part:
        en += f"({part})"
    if point:
        en += f"({_en_point(point, vocab.point_letters)})"
    return Citation(pid, ru, en, title_ru, title_en, url)
