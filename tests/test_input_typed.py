"""Input as people type it, and messages that say what to do (issue 9): words without regard to case and spaces;
errors naming the value, what was expected and the nearest choices; JSON errors under ``check --json``; YAML's
numbers and non-dates reported as written; ``cases`` refusing runs it cannot trust; a what-if that says why it has no
branch; help that lists what the law data allows."""

from __future__ import annotations

import json

import jsonschema
import polars as pl
import pytest
from typer.testing import CliRunner

from warexempt.cli.app import app
from warexempt.explain.views import decision_schema
from warexempt.law import catalog
from warexempt.law.catalog import bundled_law
from warexempt.population.source import KNOWN
from warexempt.rules.case import Case, CaseError

from .conftest import HONOUR

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def _check(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["check", *args], env=WIDE)
    assert "Traceback" not in res.output
    return res.exit_code, res.output


BASE = ["--charge", "158:1", "--as-of", "2025-06-01"]
EVENTS = ["--event", "2024-11-05:contract_signed", "--event", "2024-11-25:command_petition"]
REFUSED = ["--event", "2024-05-01:contract_signed", "--event", "2024-06-01:command_petition"]  # before 340-FZ
AWARD = ["--event", "2025-01-25:state_award"]
DIED = ["--event", "2024-11-05:contract_signed", "--event", "2025-01-25:died"]


# ------------------------------------------------------------------------------------------------------------
# Words as people type them
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "typed",
    [
        ["--stage", "Trial", "--event", "2024-11-05:Contract_Signed", "--event", "2024-11-25: COMMAND_PETITION "],
        ["--stage", " TRIAL ", *EVENTS, "--lang", " EN "],
        ["--stage", "trial", *EVENTS, "--lang", "En"],
    ],
)
def test_stage_event_kind_and_lang_are_read_without_regard_to_case_and_spaces(typed):
    code, out = _check(*BASE, *typed, "--json")
    assert code == 0, out
    expected = json.loads(_check(*BASE, "--stage", "trial", *EVENTS, "--json")[1])
    assert json.loads(out) == expected and expected["outcome"] == "suspended"


def test_grounds_stages_and_kinds_in_a_case_file_are_read_as_typed(tmp_path):
    f = tmp_path / "case.yaml"
    f.write_text(
        "charges: ['158:1']\nstage: ' Trial '\nas_of: 2025-06-01\nevents:\n"
        "  - {date: 2024-11-05, kind: Contract_Signed}\n  - {date: 2024-11-25, kind: COMMAND_PETITION}\n"
        "  - {date: 2025-02-01, kind: Discharged, ground: ' Health'}\n",
        encoding="utf-8",
    )
    code, out = _check(str(f), "--json")
    assert code == 0, out
    assert json.loads(out)["outcome"] == "released"
    case = Case.parse(
        {"charges": ["158:1"], "stage": "Sentenced", "events": [{"date": "2025-01-01", "kind": "State_Award"}]}
    )
    assert case.stage == "sentenced" and case.events[0].kind == "state_award"


# ------------------------------------------------------------------------------------------------------------
# Errors that name the value, what was expected and the nearest choices
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--stage", "nonsense"], "stage: 'nonsense' is not a stage; expected pre_trial, trial, appeal or sentenced"),
        (["--stage", "trail"], "(did you mean trial?)"),
        (["--stage", "trial", "--event", "2024-11-05:state_awrd"], "events[1].kind: 'state_awrd' is not an event kind"),
        (["--stage", "trial", "--event", "2024-11-05:state_awrd"], "(did you mean state_award"),
        (
            ["--stage", "trial", "--event", "2024-11-05:contract_signed", "--event", "2025-01-01:discharged:helth"],
            "events[2].ground: 'helth' is not a discharge ground; expected age, health, end_of_mobilisation or other "
            "(did you mean health?)",
        ),
        (
            ["--stage", "trial", "--event", "2024-13-45:contract_signed"],
            "events[1].date: '2024-13-45' is not a date (expected YYYY-MM-DD)",
        ),
        (["--stage", "trial", "--offence-date", "2024-02-30"], "offence_date: '2024-02-30' is not a date"),
        (["--stage", "trial", "--lang", "english"], "'english' is not a language; expected en or ru"),
    ],
)
def test_an_error_names_the_value_what_was_expected_and_the_nearest_choices(args, said):
    code, out = _check(*BASE, *args)
    assert code == 2
    assert said in out.replace("\n", " ") and "Input should" not in out


def test_several_problems_are_all_named_at_once():
    code, out = _check("--charge", "158:9", "--charge", "15x", "--stage", "trail")
    assert code == 2
    for said in ("stage: 'trail'", "charges[1]: '158:9'", "158:4", "charges[2]: '15x'"):
        assert said in out


def test_check_json_errors_are_json_on_stdout_with_exit_2():
    res = runner.invoke(app, ["check", *BASE, "--stage", "nonsense", "--json"])
    assert res.exit_code == 2
    error = json.loads(res.stdout)
    assert error == {
        "type": "unknown_stage",
        "title": "Unknown stage",
        "field": "stage",
        "value": "nonsense",
        "detail": "'nonsense' is not a stage; expected pre_trial, trial, appeal or sentenced",
    }
    res = runner.invoke(app, ["check", "--charge", "158:9", "--stage", "trial", "--as-of", "yesterday", "--json"])
    assert res.exit_code == 2
    assert json.loads(res.stdout)["field"] == "--as-of"
    res = runner.invoke(app, ["check", "--charge", "158:9", "--stage", "trail", "--json"])
    errors = json.loads(res.stdout)
    assert isinstance(errors, list) and [(e["type"], e["field"], e["value"]) for e in errors] == [
        ("unknown_stage", "stage", "trail"),
        ("invalid_charge", "charges[1]", "158:9"),
    ]
    assert all(set(e) == {"type", "title", "field", "value", "detail"} for e in errors)


def test_an_impossible_history_with_what_if_is_an_error_not_a_traceback():
    args = [*BASE, "--stage", "trial", "--event", "2024-11-01:contract_signed", "--event", "2024-11-05:died"]
    code, out = _check(*args, "--event", "2024-12-01:state_award", "--what-if")
    assert code == 2 and "after the death" in out
    res = runner.invoke(app, ["check", *args, "--event", "2024-12-01:state_award", "--what-if", "--json"])
    assert res.exit_code == 2 and json.loads(res.stdout)["type"] == "impossible_history"


# ------------------------------------------------------------------------------------------------------------
# YAML: numbers and non-dates reported as written
# ------------------------------------------------------------------------------------------------------------
def test_charge_codes_the_yaml_reader_made_numbers_are_named_as_written(tmp_path):
    f = tmp_path / "case.yaml"
    f.write_text("charges: [158:3, 158.1, '228:2']\nstage: trial\nas_of: 2025-01-01\n", encoding="utf-8")
    code, out = _check(str(f))
    assert code == 2
    assert "charges[1]: quote charge codes: '158:3'" in out and "charges[2]: quote charge codes: '158.1'" in out
    res = runner.invoke(app, ["check", str(f), "--json"])
    assert [(e["type"], e["value"]) for e in json.loads(res.stdout)] == [
        ("unquoted_charge", "158:3"),
        ("unquoted_charge", "158.1"),
    ]


def test_without_the_text_a_number_is_named_only_when_it_is_exact():
    with pytest.raises(CaseError) as exc:
        Case.parse({"charges": [9483, 158.1], "stage": "trial"})  # 9483 is YAML 1.1's 158:3 (158 * 60 + 3)
    said = str(exc.value)
    assert "charges[1]: quote charge codes: '158:3'" in said
    assert "charges[2]: quote charge codes in the file" in said


def test_a_date_that_is_none_in_a_case_file_is_named_not_a_traceback(tmp_path):
    f = tmp_path / "case.yaml"
    f.write_text(
        "charges: ['158:1']\nstage: trial\nas_of: 2025-01-01\nevents:\n  - {date: 2024-13-45, kind: contract_signed}\n",
        encoding="utf-8",
    )
    code, out = _check(str(f))
    assert code == 2 and "events[1].date: '2024-13-45' is not a date (expected YYYY-MM-DD)" in out


def test_check_on_a_file_of_cases_says_to_use_cases(tmp_path):
    f = tmp_path / "many.yaml"
    f.write_text(_cases("X1"), encoding="utf-8")
    code, out = _check(str(f))
    assert code == 2 and f"warexempt cases {f}" in out.replace("\n", "")


# ------------------------------------------------------------------------------------------------------------
# cases: runs it cannot trust are refused
# ------------------------------------------------------------------------------------------------------------
def _cases(*ids: str, outcome: str = "eligible", charges: str = "['158:1']") -> str:
    body = "".join(
        f"  - id: {i}\n    facts: {{charges: {charges}, stage: pre_trial}}\n    as_of: 2025-01-01\n"
        f"    expect: {{eligible: true, outcome: {outcome}}}\n"
        for i in ids
    )
    return "cases:\n" + body


def _cases_run(*paths) -> tuple[int, str]:
    res = runner.invoke(app, ["cases", *map(str, paths)], env=WIDE)
    assert "Traceback" not in res.output
    return res.exit_code, res.output.replace("\n", " ")


def test_cases_refuses_an_id_used_twice_naming_both_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.yaml").write_text(_cases("X1", "X2"), encoding="utf-8")
    (tmp_path / "two.yaml").write_text(_cases("X3", "X2"), encoding="utf-8")
    code, out = _cases_run(tmp_path / "a", tmp_path / "two.yaml")
    assert code == 2 and "X2" in out and "one.yaml" in out and "two.yaml" in out and "X1" not in out
    code, _ = _cases_run(tmp_path / "a", tmp_path / "a" / "one.yaml")  # the same file twice is read once
    assert code == 0


def test_cases_refuses_an_unknown_outcome_or_key_in_expect(tmp_path):
    f = tmp_path / "one.yaml"
    f.write_text(_cases("X1", outcome="releasd"), encoding="utf-8")
    code, out = _cases_run(f)
    assert code == 2 and "'releasd' is not an outcome" in out and "did you mean released?" in out
    f.write_text(_cases("X1").replace("outcome:", "outcom:"), encoding="utf-8")
    code, out = _cases_run(f)
    assert code == 2 and "'outcom' is not a key of expect" in out


def test_cases_refuses_an_empty_folder(tmp_path):
    code, out = _cases_run(tmp_path)
    assert code != 0 and "no cases found" in out


def test_a_case_with_an_unquoted_charge_fails_with_the_code_as_written(tmp_path):
    f = tmp_path / "one.yaml"
    f.write_text(_cases("X1", charges="[158:3]"), encoding="utf-8")
    res = runner.invoke(app, ["cases", str(f), "--json"])
    assert res.exit_code == 1
    assert "quote charge codes: '158:3'" in json.loads(res.stdout)[0]["mismatches"][0]


# ------------------------------------------------------------------------------------------------------------
# what-if: why there is no branch, in plain words
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--charge", "158:1", "--stage", "trial", "--as-of", "2023-07-01"], "the case is not covered"),
        (
            ["--charge", "161:2", "--stage", "trial", "--as-of", "2024-07-01", *REFUSED],
            "the latest attempt (command petition, 1 June 2024) was refused",
        ),
        (
            ["--charge", "275", "--stage", "trial", "--as-of", "2025-07-01", *EVENTS],
            "a charge is on the list of offences the law excludes (Criminal Code of the Russian Federation, Art. 275)",
        ),
        (
            ["--charge", "158:1", "--stage", "trial", "--as-of", "2025-07-01", *EVENTS, *AWARD],
            "the case has already ended (released from criminal liability, 25 January 2025)",
        ),
        (
            ["--charge", "158:1", "--stage", "sentenced", "--as-of", "2025-07-01", *DIED],
            "the case has already ended",
        ),
    ],
)
def test_a_what_if_without_branches_says_why(args, said):
    res = runner.invoke(app, ["check", *args, "--what-if", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    jsonschema.validate(payload, decision_schema())
    assert payload["what_if"] == [] and said in payload["what_if_note"]
    code, out = _check(*args, "--what-if")
    assert code == 0 and said in out.replace("\n", " ")


def test_a_what_if_with_branches_has_labels_in_the_language_and_citations_as_the_answer_has():
    args = [*BASE, "--stage", "trial", *EVENTS, "--what-if", "--json"]
    en = json.loads(runner.invoke(app, ["check", *args]).stdout)
    ru = json.loads(runner.invoke(app, ["check", *args, "--lang", "ru"]).stdout)
    assert en["what_if_note"] is None and len(en["what_if"]) == len(ru["what_if"]) == 6
    vocab = bundled_law().vocabulary
    award = next(e for e in vocab.events if e.id == "state_award")
    assert {b["label"] for b in en["what_if"]} >= {award.en} and {b["label"] for b in ru["what_if"]} >= {award.ru}
    top = set(en["citations"][0])
    assert all(set(c) == top for b in en["what_if"] for c in b["citations"])
    rich = _check(*BASE, "--stage", "trial", *EVENTS, "--what-if", "--lang", "ru")[1]
    assert award.ru in rich


# ------------------------------------------------------------------------------------------------------------
# Help that teaches
# ------------------------------------------------------------------------------------------------------------


def test_check_help_lists_every_stage_event_kind_and_ground_of_the_vocabulary_with_an_example():
    res = runner.invoke(app, ["check", "--help"], env=WIDE)
    assert res.exit_code == 0
    vocab = bundled_law().vocabulary
    for stage in vocab.stages:
        assert f"{stage.id} — {stage.en}; e.g. --stage {stage.id}" in res.output
    for event in vocab.events:
        assert f"{event.id} — {event.en}" in res.output and f"--event 2025-02-01:{event.id}" in res.output
    for ground in vocab.discharge_grounds:
        assert f"{ground.id} — {ground.en}; e.g. --event 2025-02-01:discharged:{ground.id}" in res.output


def test_an_event_kind_from_a_law_folder_is_in_the_help(tmp_path, monkeypatch):
    (tmp_path / "honour.yaml").write_text(HONOUR, encoding="utf-8")
    monkeypatch.setenv("WAREXEMPT_LAW_DIRS", str(tmp_path))
    catalog.bundled_law.cache_clear()
    try:
        res = runner.invoke(app, ["check", "--help"], env=WIDE)
        assert "honour_roll — entered on the roll of honour" in res.output
    finally:
        monkeypatch.delenv("WAREXEMPT_LAW_DIRS")
        catalog.bundled_law.cache_clear()


def test_bulk_help_lists_the_columns_and_their_formats():
    res = runner.invoke(app, ["bulk", "--help"], env=WIDE)
    assert res.exit_code == 0
    for column in KNOWN:
        assert f"  {column} — " in res.output
    vocab = bundled_law().vocabulary
    for event in vocab.events:
        if event.bulk:
            assert f"{event.bulk} — " in res.output and f"the date of: {event.en}" in res.output
    assert "YYYY-MM-DD" in res.output and "lists of strings" in res.output


def test_a_bulk_file_reads_its_words_as_check_does(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        "case_id,charges,stage,contract_date,petition_date,discharge_date,discharge_ground\n"
        "A,158:1,Trial,2024-11-05,2024-11-25,2025-02-01, Health\n"
        "B,158:1,trial,2024-11-05,2024-11-25,2025-02-01,health\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.parquet"
    res = runner.invoke(app, ["bulk", str(src), "-o", str(out), "--as-of", "2025-06-01"])
    assert res.exit_code == 0, res.output
    got = pl.read_parquet(out)
    assert got["outcome"].to_list() == ["released", "released"] and got["stage"].to_list() == ["trial", "trial"]
    events = tmp_path / "events.csv"
    events.write_text(
        "case_id,date,kind,ground\nA,2024-11-05,Contract_Signed,\nA,2024-11-25, COMMAND_PETITION,\n"
        "A,2025-02-01,Discharged,HEALTH\n",
        encoding="utf-8",
    )
    cases = tmp_path / "cases.csv"
    cases.write_text("case_id,charges,stage\nA,158:1,Trial\n", encoding="utf-8")
    res = runner.invoke(app, ["bulk", str(cases), "--events", str(events), "-o", str(out), "--force"])
    assert res.exit_code == 0, res.output
    assert pl.read_parquet(out)["outcome"].to_list() == ["released"]
