"""Charge codes as lawyers type them (ч. 3 ст. 158 п. «в», ч. 3 ст. 30, ч. 5 ст. 228.1), splitting a list of codes,
errors that say what was expected and suggest the nearest codes, and parts that came into force later."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warexempt.law.catalog import Law, bundled_law
from warexempt.law.codes import (
    FORMS,
    MESSAGES,
    ChargeCode,
    ChargeCodeError,
    ErrorKind,
    parse_charge,
    split_charges,
)

# --- reading ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ст. 158 ч. 2", ChargeCode("158", "2")),
        ("ст.158 ч.2", ChargeCode("158", "2")),
        ("ч. 3 ст. 158 п. «в»", ChargeCode("158", "3", "в")),
        ('п. "в" ч. 3 ст. 158', ChargeCode("158", "3", "в")),
        ("п. „в“ ч. 3 ст. 158", ChargeCode("158", "3", "в")),
        ("п.«в» ч.3 ст.158 УК РФ", ChargeCode("158", "3", "в")),
        ("158 ч.3 п.в", ChargeCode("158", "3", "в")),
        ("158 ч 3 п в", ChargeCode("158", "3", "в")),
        ("Ч. 3 СТ. 158 П. «В»", ChargeCode("158", "3", "в")),
        ("статья 158 часть 3 пункт в", ChargeCode("158", "3", "в")),
        ("пункт «а» части 2 статьи 105", ChargeCode("105", "2", "а")),
        ("ч. 3 ст. 158 УК", ChargeCode("158", "3")),
        ("ч. 3 ст. 158 Уголовного кодекса Российской Федерации", ChargeCode("158", "3")),
        ("УК РФ ст. 158 ч. 2", ChargeCode("158", "2")),
        ("  ч .  3   ст .  158  ", ChargeCode("158", "3")),
        ("ч.\u00a03 ст.\u00a0158", ChargeCode("158", "3")),  # no-break spaces
        ("ч.2.1 ст.337", ChargeCode("337", "2.1")),
        ("ч. 1¹ ст. 205.1", ChargeCode("205.1", "1.1")),
        ("п. «е¹» ч. 2 ст. 105", ChargeCode("105", "2", "е.1")),
        ("п. «е.1» ч. 2 ст. 105", ChargeCode("105", "2", "е.1")),
        ("п. е1 ч. 2 ст. 105", ChargeCode("105", "2", "е.1")),
        ("ч. 3 ст. 30, ч. 5 ст. 228.1", ChargeCode("228.1", "5", None, "3")),
        ("ч. 3 ст. 30 ч. 5 ст. 228.1 УК РФ", ChargeCode("228.1", "5", None, "3")),
        ("ч. 3 ст. 30 УК РФ, ч. 5 ст. 228.1 УК РФ", ChargeCode("228.1", "5", None, "3")),
        ("ч.1 ст.30, п.«а» ч.2 ст.105", ChargeCode("105", "2", "а", "1")),
        ("ч.1 ст.30 п.«а» ч.2 ст.105", ChargeCode("105", "2", "а", "1")),  # art. 30 is complete: no comma needed
        ("ст. 30 ч. 3, ст. 158 ч. 2", ChargeCode("158", "2", None, "3")),
        ("ч. 3 ст. 30 – п. «а» ч. 2 ст. 105", ChargeCode("105", "2", "а", "3")),
        ("ч. 2 ст. 105, ч. 3 ст. 30", ChargeCode("105", "2", None, "3")),  # the stage after the offence
        ("ч. 3 ст. 30, 158:2", ChargeCode("158", "2", None, "3")),  # a canonical offence after a written stage
        ("ч. 1 ст. 30 105 : 2 : а", ChargeCode("105", "2", "а", "1")),
        # canonical forms, with capitals and look-alikes
        ("158:3:В", ChargeCode("158", "3", "в")),
        ("158:3:a", ChargeCode("158", "3", "а")),  # Latin a
        ("158:3:B", ChargeCode("158", "3", "в")),  # Latin capital B
        ("105:2:k", ChargeCode("105", "2", "к")),  # Latin k
        ("158:ч.3:п.в", ChargeCode("158", "3", "в")),
        ("30:3 - 228.1 : 5", ChargeCode("228.1", "5", None, "3")),
    ],
)
def test_codes_as_lawyers_write_them(raw: str, expected: ChargeCode) -> None:
    assert parse_charge(raw) == expected


@pytest.mark.parametrize(
    "canonical", ["158", "158:3", "158:3:в", "205.1:1.1", "105:2:е.1", "30:3-105:2", "30:1-228.1:4:г"]
)
def test_the_canonical_form_is_unchanged(canonical: str) -> None:
    assert str(parse_charge(canonical)) == canonical


@pytest.mark.parametrize(
    ("code", "written"),
    [
        (ChargeCode("158"), "ст. 158"),
        (ChargeCode("158", "3", "в"), "п. «в» ч. 3 ст. 158"),
        (ChargeCode("228.1", "5", None, "3"), "ч. 3 ст. 30, ч. 5 ст. 228.1"),
    ],
)
def test_as_written_reads_back(code: ChargeCode, written: str) -> None:
    assert code.as_written() == written
    assert parse_charge(written) == code


# --- splitting a list ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("158:3;105:1", ["158:3", "105:1"]),
        ("158:3, 105:1", ["158:3", "105:1"]),
        (" 158:3 ;; 105:1 ,", ["158:3", "105:1"]),
        ("ч. 3 ст. 30, ч. 5 ст. 228.1", ["ч. 3 ст. 30, ч. 5 ст. 228.1"]),
        ("ч. 3 ст. 30, ч. 5 ст. 228.1, ч. 2 ст. 158", ["ч. 3 ст. 30, ч. 5 ст. 228.1", "ч. 2 ст. 158"]),
        ("158:2; ч.1 ст.30, п.«а» ч.2 ст.105; 30:3-158:3", ["158:2", "ч.1 ст.30, п.«а» ч.2 ст.105", "30:3-158:3"]),
        ("ч. 3 ст. 30 УК РФ, ч. 5 ст. 228.1 УК РФ", ["ч. 3 ст. 30 УК РФ, ч. 5 ст. 228.1 УК РФ"]),
        ("ч. 3 ст. 30; ч. 5 ст. 228.1", ["ч. 3 ст. 30", "ч. 5 ст. 228.1"]),  # ; always separates
        ("230:1, 30:3-158:2, 158", ["230:1", "30:3-158:2", "158"]),  # 230 and the canonical 30: prefix
        ("ч. 2 ст. 230, ч. 1 ст. 158", ["ч. 2 ст. 230", "ч. 1 ст. 158"]),
        ("ч. 3 ст. 30, 158:2, 105", ["ч. 3 ст. 30, 158:2", "105"]),
        ("", []),
    ],
)
def test_split_charges(raw: str, expected: list[str]) -> None:
    assert split_charges(raw) == expected


# --- errors -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key", "named"),
    [
        ("", "syntax.empty", ""),
        ("УК РФ", "syntax.empty", ""),
        ("abc", "syntax.unreadable", "abc"),
        ("ст. 158 ч. x", "syntax.unreadable", "“x”"),
        ("158:3:вв", "syntax.unreadable", "“:вв”"),
        ("ч. 3", "syntax.no_article", "“ч. 3”"),
        ("ст. 158 п. в", "syntax.point_without_part", "a point (п.) needs its part"),
        ("ч. 3 ст. 30", "syntax.stage_without_offence", "needs the offence"),
        ("ст. 30, ст. 158", "syntax.stage_without_part", "ч. 1 (preparation) or ч. 3 (attempt)"),
        ("ч. 2 ст. 30, ч. 1 ст. 158", "syntax.bad_stage", "ч. 2 ст. 30 is not a stage"),
        ("30:2-158", "syntax.bad_stage", "ч. 2 ст. 30 is not a stage"),
        ("ч. 2 ст. 158, ч. 1 ст. 105", "syntax.too_many", "more than one offence"),
        ("158-3", "syntax.too_many", "more than one offence"),
    ],
)
def test_unreadable_codes_say_what_forms_are_accepted(raw: str, key: str, named: str) -> None:
    with pytest.raises(ChargeCodeError) as info:
        parse_charge(raw)
    err = info.value
    assert (err.what, err.key, err.code) == ("syntax", key, raw)
    assert named in err.message
    assert err.expected == FORMS
    assert "expected ARTICLE[:PART[:POINT]]" in str(err) and "ч. 3 ст. 158 п. «в»" in str(err)
    assert repr(raw) in str(err)


@pytest.mark.parametrize(
    ("raw", "what", "message", "suggestions"),
    [
        ("158.9", "article", "the Criminal Code has no article 158.9", ("158", "158.1", "159")),
        ("30:3-158.9", "article", "no article 158.9", ("30:3-158", "30:3-158.1", "30:3-159")),
        ("1580", "article", "the Criminal Code has no article 1580", ("158",)),
        ("159.4", "article", "article 159.4 has been repealed", ("159", "159.3", "159.5")),
        ("158:9", "part", "article 158 has parts 1, 2, 3, 4", ("158:4", "158:3", "158:2")),
        ("ч. 9 ст. 158", "part", "article 158 has parts 1, 2, 3, 4", ("158:4",)),
        ("30:3-158:9", "part", "article 158 has parts 1, 2, 3, 4", ("30:3-158:4",)),
        ("275:1", "part", "article 275 has no numbered parts", ("275",)),
        ("158:3:д", "point", "part 3 of article 158 has а, б, в, г", ("158:3:г", "158:3:в")),
        ("п. «д» ч. 3 ст. 158", "point", "part 3 of article 158 has а, б, в, г", ("158:3:г",)),
        ("105:1:а", "point", "part 1 of article 105 has no points", ("105:1",)),
    ],
)
def test_unknown_codes_name_the_value_and_suggest_the_nearest(
    law: Law, raw: str, what: ErrorKind, message: str, suggestions: tuple[str, ...]
) -> None:
    with pytest.raises(ChargeCodeError) as info:
        law.criminal_code.check(raw)
    err = info.value
    assert err.what == what and err.code == raw
    assert message in err.message and repr(raw) in str(err)
    assert err.suggestions[: len(suggestions)] == suggestions
    assert "Did you mean: " + ", ".join(err.suggestions) in str(err)
    assert err.expected


def test_expected_names_the_valid_choices(law: Law) -> None:
    with pytest.raises(ChargeCodeError) as part:
        law.criminal_code.check("158:9")
    assert part.value.expected == "a part of article 158: 1, 2, 3, 4"
    with pytest.raises(ChargeCodeError) as point:
        law.criminal_code.check("158:3:д")
    assert point.value.expected == "a point of part 3 of article 158: а, б, в, г"
    assert point.value.params == {"article": "158", "part": "3", "points": "а, б, в, г"}


def test_suggestions_are_valid_codes(law: Law) -> None:
    for raw in ["158.9", "159.4", "158:9", "158:3:д", "105:2:н", "275:1", "30:1-158:9"]:
        with pytest.raises(ChargeCodeError) as info:
            law.criminal_code.check(raw)
        assert info.value.suggestions
        for suggestion in info.value.suggestions:
            law.criminal_code.check(suggestion)


def test_errors_are_data_for_interfaces() -> None:
    with pytest.raises(ChargeCodeError) as info:
        parse_charge("ч. 3")
    data = info.value.to_dict()
    assert data == {
        "code": "ч. 3",
        "what": "syntax",
        "message": info.value.message,
        "expected": FORMS,
        "suggestions": [],
    }
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value) and again.to_dict() == data


def test_every_message_has_a_kind_and_fills_from_its_params() -> None:
    kinds = set(get_args(ErrorKind))
    assert {what for what, _, _ in MESSAGES.values()} == kinds
    for key, (what, _, _) in MESSAGES.items():
        assert key.partition(".")[0] == what


def test_the_old_constructor_still_works() -> None:
    err = ChargeCodeError("158:9", "article 158 has parts 1, 2, 3, 4", ("158:4",))
    assert (err.code, err.suggestions, err.what) == ("158:9", ("158:4",), "syntax")
    assert str(err) == "charge '158:9': article 158 has parts 1, 2, 3, 4. Did you mean: 158:4?"


# --- parts that came into force later -----------------------------------------------------------------------------

LATER = [("337", "2.2"), ("337", "3.2"), ("337", "6"), ("338", "4"), ("339", "4")]


def test_parts_added_by_534_fz_carry_their_day(law: Law) -> None:
    dated = {
        (a.number, p.label): (p.in_force_from, p.in_force_by)
        for a in law.criminal_code.iter_in_force()
        for p in a.parts or ()
        if p.in_force_from is not None or p.in_force_by is not None
    }
    assert dated == dict.fromkeys(LATER, (dt.date(2026, 1, 9), "534-ФЗ"))


def test_a_part_that_did_not_exist_yet_is_a_date_error(law: Law) -> None:
    with pytest.raises(ChargeCodeError) as info:
        law.criminal_code.check("338:4", on=dt.date(2025, 12, 1))
    err = info.value
    assert err.what == "date"
    assert err.message == (
        "ч. 4 ст. 338 came into force on 2026-01-09 (Federal Law 534-FZ); it did not exist on 2025-12-01"
    )
    assert err.expected == "a provision in force on 2025-12-01"
    assert err.suggestions[0] == "338:3"


@pytest.mark.parametrize(("article", "part"), LATER)
def test_later_parts_are_valid_from_their_day(law: Law, article: str, part: str) -> None:
    code = f"ч. {part} ст. {article}"
    with pytest.raises(ChargeCodeError, match=f"ч. {part} ст. {article} came into force on 2026-01-09"):
        law.criminal_code.check(code, on=dt.date(2026, 1, 8))
    assert law.criminal_code.check(code, on=dt.date(2026, 1, 9)).gravity
    assert law.criminal_code.check(code).gravity  # without a day: as before


def test_the_day_keeps_earlier_parts_and_the_stage(law: Law) -> None:
    early = dt.date(2020, 1, 1)
    assert law.criminal_code.check("338:3", on=early).gravity == "especially_grave"
    assert law.criminal_code.check("338", on=early).gravity == "especially_grave"
    with pytest.raises(ChargeCodeError) as info:
        law.criminal_code.check("ч. 3 ст. 30, ч. 6 ст. 337", on=early)
    assert info.value.what == "date" and info.value.suggestions[0].startswith("30:3-337:")


def test_an_article_without_a_part_counts_only_the_parts_in_force_that_day(law: Law) -> None:
    grave_now = law.criminal_code.check("337").gravity
    before = law.criminal_code.check("337", on=dt.date(2025, 12, 1)).gravity
    rank = law.criminal_code.gravity_rank
    assert grave_now is not None and before is not None and rank[before] <= rank[grave_now]


# --- property: codes from the catalogue, written as lawyers write them, read back ---------------------------------

LAW = bundled_law()
CATALOGUE: list[ChargeCode] = [
    code
    for a in LAW.criminal_code.iter_in_force()
    if a.number != "30"
    for p in a.parts or ()
    for code in (
        [ChargeCode(a.number)]
        + ([ChargeCode(a.number, p.label)] if p.label else [])
        + [ChargeCode(a.number, p.label, x) for x in p.points]
    )
]
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@st.composite
def written(draw: st.DrawFn, code: ChargeCode) -> str:
    """``code`` as a charge might write it: keywords abbreviated or spelled out, any quotes, any order."""
    art = draw(st.sampled_from(["ст. ", "ст.", "ст ", "Ст. ", "статья ", "статьи ", "СТ. "]))
    part = draw(st.sampled_from(["ч. ", "ч.", "ч ", "Ч. ", "часть ", "части "]))
    point = draw(st.sampled_from(["п. ", "п.", "п ", "П. ", "пункт ", "пункта "]))
    left, right = draw(st.sampled_from([("«", "»"), ('"', '"'), ("„", "“"), ("", "")]))

    def number(label: str) -> str:
        head, dot, tail = label.partition(".")
        return head + tail.translate(SUPERSCRIPT) if dot and tail == "1" and draw(st.booleans()) else label

    def letter(label: str) -> str:
        return label.upper() if draw(st.booleans()) else label

    refs = {"article": art + number(code.article)}
    if code.part:
        refs["part"] = part + number(code.part)
    if code.point:
        refs["point"] = f"{point.rstrip() if left else point}{left}{letter(code.point)}{right}"
    order = draw(st.sampled_from(["descending", "ascending", "bare"]))
    if order == "descending":  # п. «в» ч. 3 ст. 158
        offence = " ".join(refs[k] for k in ("point", "part", "article") if k in refs)
    elif order == "ascending":  # ст. 158 ч. 3 п. «в»
        offence = " ".join(refs[k] for k in ("article", "part", "point") if k in refs)
    else:  # 158 ч.3 п.в
        offence = " ".join([code.article, *(refs[k] for k in ("part", "point") if k in refs)])
    offence += draw(st.sampled_from(["", " УК РФ", " УК", " УК РФ."]))
    if not code.inchoate:
        return offence
    stage = draw(
        st.sampled_from([f"ч. {code.inchoate} ст. 30", f"ч.{code.inchoate} ст.30", f"ст. 30 ч. {code.inchoate}"])
    )
    stage += draw(st.sampled_from(["", " УК РФ"]))
    return stage + draw(st.sampled_from([", ", " – ", ","] + ([" "] if order != "bare" else []))) + offence


@st.composite
def catalogue_codes(draw: st.DrawFn) -> ChargeCode:
    code = draw(st.sampled_from(CATALOGUE))
    inchoate = draw(st.sampled_from([None, "1", "3"]))
    return ChargeCode(code.article, code.part, code.point, inchoate)


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.data())
def test_written_codes_from_the_catalogue_read_back(data: st.DataObject) -> None:
    code = data.draw(catalogue_codes())
    text = data.draw(written(code))
    assert parse_charge(text) == code, text
    assert parse_charge(code.as_written()) == code
    assert parse_charge(str(code)) == code
    LAW.criminal_code.check(text)


@PROPERTY
@given(st.data())
def test_a_written_list_splits_into_its_codes(data: st.DataObject) -> None:
    codes = data.draw(st.lists(catalogue_codes(), min_size=1, max_size=5))
    texts = [data.draw(written(c)) for c in codes]
    joined = texts[0]
    for text in texts[1:]:
        joined += data.draw(st.sampled_from([";", "; ", ", ", ","])) + text
    assert [parse_charge(c) for c in split_charges(joined)] == codes, joined
