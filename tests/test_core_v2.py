"""Core v2: events as data (the vocabulary), words the engine cannot see, stable ids and provenance, the JSON Schema
of an answer, RULES.md §5 impossible histories, and the law data added with it (534-FZ, the 2026 parole law)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

import warexempt
from warexempt.cli.app import app
from warexempt.explain.views import decision_schema, timeline_view
from warexempt.law import catalog
from warexempt.law.catalog import load_law
from warexempt.law.errors import LawDataError
from warexempt.rules.case import CaseError

from .conftest import HONOUR

runner = CliRunner()
SUSPENDED = [
    {"date": "2025-01-10", "kind": "contract_signed"},
    {"date": "2025-01-20", "kind": "command_petition"},
]


@pytest.fixture
def law_dir(tmp_path, monkeypatch):
    """A folder of extra law files in ``WAREXEMPT_LAW_DIRS``; the bundled law is read afresh with it and after."""
    folder = tmp_path / "law"
    folder.mkdir()
    monkeypatch.setenv("WAREXEMPT_LAW_DIRS", str(folder))
    catalog.bundled_law.cache_clear()
    yield folder
    monkeypatch.delenv("WAREXEMPT_LAW_DIRS")
    catalog.bundled_law.cache_clear()


def test_a_new_event_kind_with_its_rule_in_a_law_file_changes_answers_from_its_date_without_code(law_dir):
    """Issue: a fictitious event kind of an existing role (release), with a rule from 2026-06-01, in a law folder."""
    (law_dir / "honour.yaml").write_text(HONOUR, encoding="utf-8")
    before = warexempt.check(
        charges=["158:2"],
        stage="pre_trial",
        as_of="2026-05-20",
        events=[*SUSPENDED, {"date": "2026-05-15", "kind": "honour_roll"}],
    )
    after = warexempt.check(
        charges=["158:2"],
        stage="pre_trial",
        as_of="2026-06-20",
        events=[*SUSPENDED, {"date": "2026-06-10", "kind": "honour_roll"}],
    )
    assert before.outcome == "suspended"  # no rule yet: the event changes nothing
    assert after.outcome == "released" and after.reasons == ["uk:78.1:1:а"]
    assert after.trace["rule"] == "test-honour/events/roll"
    assert after.trace["law_fingerprint"] == catalog.bundled_law().fingerprint  # the folder is part of the law read


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("routes:\n  - {stage: trail, from: 2026-01-01, covered: false}\n", "routes.0.stage: unknown stage 'trail'"),
        (
            "events:\n  - {id: x, stages: [pre_trial], event: medal, outcome: released, reasons: []}\n",
            "events.0.event: unknown event kind a rule can act on 'medal'",
        ),
        (
            "events:\n  - {id: x, stages: [pre_trial], event: state_award, outcome: freed, reasons: []}\n",
            "events.0.outcome: unknown outcome 'freed'",
        ),
        (
            "events:\n  - {id: x, stages: [pre_trial], event: discharged, grounds: [bored], outcome: resumed, reasons: []}\n",
            "events.0.grounds: unknown discharge ground 'bored'",
        ),
        (
            "events:\n  - {id: x, stages: [pre_trial], event: contract_signed, outcome: resumed, reasons: []}\n",
            "events.0.event: unknown event kind a rule can act on 'contract_signed'",
        ),
    ],
)
def test_a_law_file_naming_a_word_the_engine_cannot_see_fails_to_load(tmp_path, text, needle):
    head = "id: bad\nkind: amendment\ntitle: {ru: т, en: t}\nin_force: {from: 2026-01-01}\n"
    (tmp_path / "bad.yaml").write_text(head + text, encoding="utf-8")
    with pytest.raises(LawDataError) as exc:
        load_law(tmp_path)
    assert "bad.yaml" in str(exc.value) and needle in str(exc.value)


def test_decisions_carry_stable_ids_the_fingerprint_and_the_version():
    d = warexempt.check(
        charges=["158:3:в"],
        stage="pre_trial",
        as_of="2025-02-01",
        events=[
            *SUSPENDED[:1],
            {"date": "2025-01-12", "kind": "command_petition"},
            {"date": "2025-01-30", "kind": "state_award"},
        ],
    )
    assert d.trace == {
        "status": "closed",
        "stage": "pre_trial",
        "route": "fz-64/routes/pre_trial",
        "exclusion_list": "uk:78.1:1@2024-10-13",
        "rule": "fz-64/events/suspect-award",
        "deciding_event": "e3",
        "law_fingerprint": load_law().fingerprint,
        "version": warexempt.__version__,
    }


def test_the_fingerprint_changes_when_a_law_file_is_added(tmp_path):
    (tmp_path / "honour.yaml").write_text(HONOUR, encoding="utf-8")
    assert load_law(tmp_path).fingerprint != load_law().fingerprint


@pytest.mark.parametrize(
    "args",
    [
        [
            "--charge",
            "158:3:в",
            "--stage",
            "trial",
            "--event",
            "2024-10-20:contract_signed",
            "--event",
            "2024-11-01:command_petition",
            "--as-of",
            "2025-06-01",
        ],
        ["--charge", "275", "--stage", "trial", "--event", "2024-11-05:contract_signed", "--as-of", "2025-01-15"],
        [
            "--charge",
            "111:4",
            "--stage",
            "sentenced",
            "--event",
            "2025-08-01:contract_signed",
            "--event",
            "2026-02-01:new_offence:338:4",
            "--as-of",
            "2026-03-01",
        ],
        [
            "--charge",
            "158:1",
            "--stage",
            "pre_trial",
            "--event",
            "2024-03-01:stage_changed:trial",
            "--as-of",
            "2024-05-01",
        ],
    ],
)
@pytest.mark.parametrize("what_if", [False, True])
def test_the_json_answer_matches_the_shipped_schema(args, what_if):
    res = runner.invoke(app, ["check", *args, "--json", *(["--what-if"] if what_if else [])])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    jsonschema.validate(payload, decision_schema())
    assert ("what_if" in payload) == what_if


def test_the_schema_rejects_an_answer_without_its_trace():
    payload = warexempt.check(charges=["158:1"], stage="pre_trial", as_of="2025-01-01").to_dict()
    del payload["trace"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payload, decision_schema())


def test_a_534_fz_part_dated_before_it_existed_is_an_error_that_says_so():
    """RULES.md §4, §5: УК 338 ч. 4 came into force on 2026-01-09 (534-FZ)."""
    with pytest.raises(CaseError) as exc:
        warexempt.check(
            charges=["105:1"],
            stage="sentenced",
            as_of="2026-02-01",
            events=[
                {"date": "2025-07-11", "kind": "contract_signed"},
                {"date": "2025-12-01", "kind": "new_offence", "charge": "338:4"},
            ],
        )
    assert "2026-01-09" in str(exc.value) and "2025-12-01" in str(exc.value)


def test_a_stage_change_while_suspended_is_an_error():
    """RULES.md §5: the proceedings are suspended; the resumption must be recorded first."""
    with pytest.raises(CaseError, match="while the proceedings are suspended"):
        warexempt.check(
            charges=["158:2"],
            stage="pre_trial",
            as_of="2025-06-01",
            events=[*SUSPENDED, {"date": "2025-03-01", "kind": "stage_changed", "stage": "trial"}],
        )


def test_the_same_history_is_refused_with_the_same_words_by_check_and_bulk(tmp_path):
    """RULES.md §5 in one place (``rules.impossible``): the single check and the bulk file say the same."""
    from warexempt.law.tables import tables
    from warexempt.population.bulk import run_bulk

    with pytest.raises(CaseError) as exc:
        warexempt.check(
            charges=["158:2"],
            stage="pre_trial",
            as_of="2025-06-01",
            events=[{"date": "2025-01-10", "kind": "contract_signed"}, {"date": "2025-01-01", "kind": "state_award"}],
        )
    src = tmp_path / "in.csv"
    src.write_text(
        "case_id,charges,stage,contract_date,award_date\nA,158:2,pre_trial,2025-01-10,2025-01-01\n", encoding="utf-8"
    )
    result = run_bulk(src, tables(load_law()), dt.date(2025, 6, 1), tmp_path / "out.parquet")
    reason = result.errors["reason"].to_list()[0]
    assert reason.replace("state_award", "X") in str(exc.value).replace("state_award", "X")


def test_the_timeline_holds_534_fz_and_the_parole_law_as_documented_only(law):
    items = {i["id"]: i for i in timeline_view(law)}
    assert items["fz-534"]["from"] == "2026-01-09"
    parole = items["uik-parole-servicemen-2026"]
    assert "documented_only" in parole["flags"] and parole["routes"] == [] and not parole["in_force_known"]
    assert [m["date"] for m in parole["milestones"]] == ["2026-01-27", "2026-02-04"]


def test_the_pardon_practice_is_cited_from_the_start_of_the_war():
    """RULES.md §2: convicts' decisive dates from 2022-02-24."""
    early = warexempt.check(
        charges=["162:2"],
        stage="sentenced",
        as_of="2022-12-01",
        events=[{"date": "2022-03-15", "kind": "contract_signed"}],
    )
    before = warexempt.check(
        charges=["162:2"],
        stage="sentenced",
        as_of="2022-01-15",
        events=[{"date": "2021-11-01", "kind": "contract_signed"}],
    )
    assert early.reasons == ["pardon:2022-secret"] and before.reasons == []


def test_events_are_read_from_the_vocabulary_only():
    """An unknown event kind is an error naming the value and the kinds there are."""
    with pytest.raises(CaseError) as exc:
        warexempt.check(
            charges=["158:2"], stage="pre_trial", as_of="2025-06-01", events=[{"date": "2025-01-10", "kind": "medal"}]
        )
    assert "'medal'" in str(exc.value) and "state_award" in str(exc.value)


def test_no_module_outside_the_rules_decides_which_event_counts():
    """The old flat-row builder is gone: the engine alone reads histories."""
    root = Path(warexempt.__file__).parent
    assert not (root / "rules" / "frame.py").exists()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "frame.case_row" not in text and "rules.frame import" not in text, path


def test_a_plain_situation_has_the_verdict_the_law_gives_its_charges(law):
    """The engine asks the law once per route cell for charges that no list names and no gate refuses
    (``engine._plain``): for every cell and a spread of charge sets that shortcut equals ``judge_attempt``."""
    from warexempt.law.tables import tables
    from warexempt.rules.charges import ChargeSet, book
    from warexempt.rules.engine import _plain
    from warexempt.rules.judge import judge_attempt

    t = tables(law)
    codes = ["158:1", "158:2", "158:3:в", "228:2", "111:1", "105:1", "131", "131:3", "205:1", "275", "220", "134:1"]
    sets = [book(law).charge_set(c) for c in codes] + [book(law).charge_set("158:1;228:2")]
    cells = t.cells[0]
    plain = _plain(cells, sets)
    assert plain.any() and not plain.all()
    for i, cell in enumerate(cells):
        for j, charges in enumerate(sets):
            if plain[i, j]:
                assert judge_attempt(t, cell, charges, False) == judge_attempt(t, cell, ChargeSet(()), False)


def test_a_270_fz_gravity_refusal_on_a_charge_without_a_part_says_which_part_it_assumed():
    """RULES.md §3: judged by its gravest part, cited, and flagged ``needs_detail``; a precise code is not flagged."""
    events = [{"date": "2023-08-01", "kind": "contract_signed"}, {"date": "2023-08-10", "kind": "command_petition"}]
    coarse = warexempt.check(charges=["158"], stage="pre_trial", as_of="2023-09-01", events=events)
    assert coarse.outcome == "not_covered" and "uk:158:3" in coarse.reasons and "needs_detail" in coarse.unconfirmed
    precise = warexempt.check(charges=["158:1"], stage="pre_trial", as_of="2023-09-01", events=events)
    assert precise.outcome == "suspended" and "needs_detail" not in precise.unconfirmed
