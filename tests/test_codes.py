"""Criminal Code charge codes: syntax, look-alike letters, validation against the catalogue, gravity (УК ст. 15)."""

from __future__ import annotations

import pytest

from warexempt.law.catalog import Law
from warexempt.law.codes import ChargeCode, ChargeCodeError, parse_charge


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("158", ChargeCode("158")),
        ("158:3", ChargeCode("158", "3")),
        ("158:3:в", ChargeCode("158", "3", "в")),
        (" 158 : 3 : a ", ChargeCode("158", "3", "а")),  # Latin a, spaces
        ("30:3-105:2", ChargeCode("105", "2", None, "3")),
        ("30:1-228.1:4:г", ChargeCode("228.1", "4", "г", "1")),
        ("205.1:1.1", ChargeCode("205.1", "1.1")),
        ("105:2:е.1", ChargeCode("105", "2", "е.1")),
        ("158:2:C", ChargeCode("158", "2", "с")),
    ],
)
def test_parse(raw: str, expected: ChargeCode) -> None:
    assert parse_charge(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "158::1", "30:2-158", "158:3:вв", "158-3"])
def test_malformed_codes_are_errors(raw: str) -> None:
    with pytest.raises(ChargeCodeError, match="expected ARTICLE") as info:
        parse_charge(raw)
    assert info.value.what == "syntax"


@pytest.mark.parametrize(
    ("raw", "what", "message", "suggestion"),
    [
        ("1580", "article", "no article 1580", "158"),
        ("158:9", "part", "article 158 has parts 1, 2, 3, 4", "158:4"),
        ("158:3:д", "point", "part 3 of article 158 has а, б, в, г", "158:3:г"),
        ("159.4", "article", "repealed", "159.3"),
        ("275:1", "part", "has no numbered parts", "275"),
        ("105:2:н", "point", "part 2 of article 105", "105:2:м"),
    ],
)
def test_unknown_codes_name_the_code_and_suggest(law: Law, raw: str, what: str, message: str, suggestion: str) -> None:
    with pytest.raises(ChargeCodeError) as info:
        law.criminal_code.check(raw)
    assert raw in str(info.value) and message in str(info.value)
    assert info.value.what == what
    if suggestion:
        assert suggestion in info.value.suggestions


@pytest.mark.parametrize(
    ("raw", "gravity"),
    [
        ("158:1", "small"),
        ("158:2", "medium"),
        ("158:3:в", "grave"),
        ("105:1", "especially_grave"),
        ("264.1:1", "small"),
        ("109:1", "small"),
        ("30:3-158:3", "grave"),
        ("158", "grave"),  # an article without a part: its gravest part (the cautious reading)
    ],
)
def test_gravity_from_the_maximum_penalty(law: Law, raw: str, gravity: str) -> None:
    assert law.criminal_code.check(raw).gravity == gravity


def test_every_article_in_force_has_parts_with_known_structure(law: Law) -> None:
    special = [a for a in law.criminal_code.iter_in_force() if float(a.number.split(".")[0]) >= 105]
    assert len(special) >= 390
    assert all(a.parts for a in special)
    assert all(p.gravity for a in special for p in a.parts or ())
