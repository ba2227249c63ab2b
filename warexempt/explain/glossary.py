"""The glossary: the terms the answers use, in Russian and English, each with a one-line definition and its source
provision (``glossary.yaml`` beside this file). ``warexempt glossary`` shows it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

GLOSSARY = Path(__file__).resolve().parent / "glossary.yaml"


class Term(BaseModel):
    """One term: its id, its names, its definitions, and the provision (a canonical id) it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    ru: str
    en: str
    definition_ru: str
    definition_en: str
    source: str

    def name(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.en

    def definition(self, lang: str) -> str:
        return self.definition_ru if lang == "ru" else self.definition_en


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[Term]


@lru_cache(maxsize=1)
def glossary() -> tuple[Term, ...]:
    """Every term, in the file's order."""
    terms = _File.model_validate(yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))).terms
    ids = [t.id for t in terms]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{GLOSSARY}: a term id is given twice")
    return tuple(terms)
