"""``api.answers``: an answer filled into its kind's template is, byte for byte, the answer written the usual way
(``services.answer`` through ``json.dumps``), for every kind of decision, in both languages, with hostile ids."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest

from warexempt.api import answers, services
from warexempt.api.problems import ApiProblem
from warexempt.law.catalog import Law
from warexempt.rules.case import Case

from .test_api import _plain, acceptance_cases

CHARGES = [["158:3:в"], ["161:2"], ["228:2"], ["158:2", "159:3"], ["111:1"], ["205:2"], ["105:1"], ["162:2"], ["105:2"]]
STAGES = ["pre_trial", "trial", "appeal", "sentenced"]
LATER = [
    {"kind": "state_award", "award": "медаль «За отвагу»"},
    {"kind": "discharged", "ground": "age"},
    {"kind": "discharged", "ground": "health"},
    {"kind": "discharged", "ground": "end_of_mobilisation"},
    {"kind": "discharged", "ground": "other"},
    {"kind": "died"},
    {"kind": "resumed"},
    {"kind": "new_offence", "charge": "338:4"},
    {"kind": "stage_changed", "stage": "sentenced"},
]


def _day(rnd: random.Random, start: dt.date, days: int) -> dt.date:
    return start + dt.timedelta(days=rnd.randrange(days))


def varied(n: int, seed: int) -> list[dict[str, Any]]:
    """Cases across the law's whole time line: every stage, excluded and grave charges, offence dates, contracts
    or call-ups before and after each law, petitions, and what can follow them."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        first = _day(rnd, dt.date(2021, 6, 1), 1800)
        events: list[dict[str, Any]] = [{"date": first, "kind": rnd.choice(["contract_signed", "called_up"])}]
        day = first
        if rnd.random() < 0.7:
            day = _day(rnd, day, 120)
            events.append({"date": day, "kind": "command_petition"})
        if rnd.random() < 0.5:
            day = _day(rnd, day + dt.timedelta(days=1), 400)
            events.append({"date": day, **rnd.choice(LATER)})
        case: dict[str, Any] = {
            "case_id": f"v{i}",
            "charges": rnd.choice(CHARGES),
            "stage": rnd.choice(STAGES),
            "events": events if rnd.random() < 0.9 else [],
            "as_of": _day(rnd, day, 500),
        }
        if rnd.random() < 0.3:
            case["offence_date"] = _day(rnd, dt.date(2021, 1, 1), 1500)
        out.append(_plain(case))
    return out


def _decided(data: list[dict[str, Any]], law: Law) -> list[tuple[Case, dict[str, Any]]]:
    cases = []
    for item in data:
        try:
            cases.append(services.parse_case(item, law=law))
        except ApiProblem:
            continue
    rows = services.decide_rows(cases, law)
    return [(c, r) for c, r in zip(cases, rows, strict=True) if not isinstance(r, ApiProblem)]


def _usual(case: Case, row: dict[str, Any], lang: str, law: Law) -> bytes:
    found = services.answer(case, row, lang, law)
    return json.dumps(found, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@pytest.fixture(scope="module")
def decided(law: Law) -> list[tuple[Case, dict[str, Any]]]:
    return _decided([_plain(c) for c in acceptance_cases()] + varied(1500, 7), law)


def test_every_kind_of_answer_fills_to_the_usual_bytes(law: Law, decided: list[tuple[Case, dict[str, Any]]]) -> None:
    """Each case twice in each language (the second time from the template its kind made, or another case made)."""
    statuses = {str(row["status"]) for _, row in decided}
    assert {"open", "eligible", "excluded", "closed", "no_route", "death", "gate_gravity"} <= statuses, statuses
    for lang in ("en", "ru"):
        for _ in range(2):
            for case, row in decided:
                assert answers.answer_json(case, row, lang, law) == _usual(case, row, lang, law), (case, row)
    kept = answers._templates(law)
    used = [t for t in kept.values() if t is not None]
    assert len(used) == len(kept) < 2 * len(decided)  # kinds are shared: fewer templates than answers
    assert any(isinstance(p, int) and p >= answers.WORD_DECISIVE for t in used for p in t.pieces)  # dates in words


def test_the_same_kind_on_other_days_gets_its_own_dates(law: Law) -> None:
    """One kind of decision on many days: each answer carries its own dates, in its words too."""
    base = {"charges": ["158:3:в"], "stage": "pre_trial"}
    data = []
    for i in range(40):
        contract = dt.date(2024, 10, 20) + dt.timedelta(days=3 * i)
        petition = contract + dt.timedelta(days=5 + i)
        data.append(
            {
                **base,
                "case_id": f"d{i}",
                "events": [
                    {"date": contract.isoformat(), "kind": "contract_signed"},
                    {"date": petition.isoformat(), "kind": "command_petition"},
                ],
                "as_of": (petition + dt.timedelta(days=30)).isoformat(),
            }
        )
    decided = _decided(data, law)
    keys = {answers.wording_key(c, r, "ru") for c, r in decided}
    assert len(keys) == 1 and len(decided) == 40
    for case, row in decided:
        got = answers.answer_json(case, row, "ru", law)
        assert got == _usual(case, row, "ru", law)
        assert row["decided_on"].isoformat().encode() in got


@pytest.mark.parametrize(
    "case_id",
    ['a"b\\c', "\ue000", "\ue004\ue005", "<script>alert(1)</script>", "дело № 1\u2028", "\U0001f600", None],
)
def test_hostile_ids_are_answered_as_usual(law: Law, case_id: str | None) -> None:
    """An id (of the case, of an event) holding quotes, backslashes or the templates' own placeholder characters."""
    data = {
        "case_id": case_id,
        "charges": ["158:3:в"],
        "stage": "pre_trial",
        "events": [
            {"date": "2024-10-20", "kind": "contract_signed", "id": case_id or "x"},
            {"date": "2024-11-02", "kind": "command_petition", "id": f"{case_id}-2"},
        ],
        "as_of": "2025-06-01",
    }
    if case_id is None:
        del data["case_id"]
    for case, row in _decided([data], law):
        for lang in ("en", "ru"):
            for _ in range(2):
                assert answers.answer_json(case, row, lang, law) == _usual(case, row, lang, law)
