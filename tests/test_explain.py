"""Citations (ru/en), the Babel catalogs, and the plain-language steps."""

from __future__ import annotations

import datetime as dt

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import warexempt
from warexempt.explain.citations import cite

from .conftest import ROOT


@pytest.mark.parametrize(
    ("pid", "ru", "en"),
    [
        ("uk:78.1:1:а", "п. «а» ч. 1 ст. 78.1 УК РФ", "Criminal Code of the Russian Federation, Art. 78.1(1)(a)"),
        ("uk:80.2:2:б", "п. «б» ч. 2 ст. 80.2 УК РФ", "Criminal Code of the Russian Federation, Art. 80.2(2)(b)"),
        (
            "upk:208:1:3.1",
            "п. 3.1 ч. 1 ст. 208 УПК РФ",
            "Code of Criminal Procedure of the Russian Federation, Art. 208(1)(3.1)",
        ),
        (
            "fz-270:2",
            "ст. 2 Федерального закона от 24.06.2023 № 270-ФЗ",
            "Federal Law No. 270-FZ of 24 June 2023, Art. 2",
        ),
        ("uk:131:3:в", "п. «в» ч. 3 ст. 131 УК РФ", "Criminal Code of the Russian Federation, Art. 131(3)(c)"),
    ],
)
def test_citations(law, pid, ru, en):
    c = cite(pid, law)
    assert (c.ru, c.en) == (ru, en)


def test_whole_laws_and_practices_cite_their_titles(law):
    assert cite("fz-340", law).ru.startswith("Федеральный закон от 02.10.2024 № 340-ФЗ")
    assert "pardon" in cite("pardon:2022-secret", law).en.lower()
    assert cite("uk:205", law).title_ru == "Террористический акт"


def test_every_message_has_a_russian_translation():
    found = {m[2] for m in extract_from_dir(ROOT / "warexempt", method_map=[("**.py", "python")])}
    with (ROOT / "warexempt/locale/ru/LC_MESSAGES/warexempt.po").open("rb") as fh:
        catalog = read_po(fh, locale="ru")
    missing = [m for m in found if not ((entry := catalog.get(m)) and entry.string)]
    assert found and missing == []


def test_explanations_follow_the_decision_in_both_languages():
    d = warexempt.check(
        charges=["158:3:в"],
        stage="pre_trial",
        as_of=dt.date(2025, 2, 1),
        events=[
            {"date": "2024-05-14", "kind": "contract_signed"},
            {"date": "2024-06-05", "kind": "command_petition"},
            {"date": "2025-01-20", "kind": "state_award"},
        ],
    )
    en = [s.text for s in d.explain("en")]
    ru = [s.text for s in d.explain("ru")]
    assert "5 June 2024" in en[0] and "the person is released from criminal liability" in en[-3]
    assert any("лицо освобождено от уголовной ответственности; судимости нет" in t for t in ru)
    assert any(t.startswith("Unconfirmed:") and "28.2" in t for t in en)
    assert len(en) == len(ru)


def test_not_covered_explains_when_the_route_opened():
    d = warexempt.check(
        charges=["158:3:в"],
        stage="trial",
        as_of="2024-09-16",
        events=[{"date": "2024-08-15", "kind": "contract_signed"}],
    )
    text = " ".join(s.text for s in d.explain("en"))
    assert "13 October 2024" in text and "340-FZ" in text
