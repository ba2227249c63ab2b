"""Russian a family can read (issue 9, item 7): every command's output with ``--lang ru`` (or ``WAREXEMPT_LANG=ru``)
has no English word outside codes, ids, file paths, URLs, dates and numbers; the legal terms are the Code's; the
catalog covers every message and help text; the glossary is shipped and shown."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import typer.main
from babel.messages.pofile import read_po
from typer.testing import CliRunner

import warexempt
from warexempt.cli.app import app
from warexempt.cli.i18n import help_texts
from warexempt.explain.citations import cite
from warexempt.explain.glossary import glossary
from warexempt.explain.i18n import catalog
from warexempt.explain.messages import translate
from warexempt.explain.render import outcome_label
from warexempt.law.catalog import bundled_law

from .conftest import ROOT

runner = CliRunner()
WIDE = {"COLUMNS": "220"}  # so that Rich folds no id in two

# What is a code, not a word, stripped before looking for English: URLs, paths and slash ids (fz-340/routes/trial),
# provision ids (uk:78.1:1:а, fz-340:in-force, uk:78.1:1@64-FZ), snake_case ids (contract_signed), options, dates
# and numbers.
CODES = [
    r"https?://\S+",
    r"\bwarexempt\b.*",  # a command line to type ("Попробуйте: warexempt check --stage trial …")
    r"\S*/\S*",
    r"\S*\.(?:csv|parquet|yaml|json|xlsx)\b",
    r"\b[a-z][\w.-]*:[\w.:@…-]+",
    r"\b\w+(?:_\w+)+\b",
    r"(?<![\w-])--?[a-z][a-z-]*",
    r"\d{4}-\d{2}-\d{2}",
    r"\d+",
]
# Codes that are words: file formats and encodings a message names, a key (Ctrl-C), the program's name.
ALLOWED = {"UTF", "CSV", "Parquet", "Windows", "YAML", "JSON", "SHA", "Ctrl", "warexempt"}
ENGLISH = re.compile(r"[A-Za-z]{3,}")


@cache
def _ids() -> tuple[set[str], set[str]]:
    """The law's ids that are words (an outcome, a stage, an event kind, a fact …, and the columns of a bulk file):
    codes where they stand as codes — in parentheses after their names («… (released)»), quoted («'discharged'»),
    or in a list of the values one may type («pre_trial, trial, appeal или sentenced»); and the instrument ids
    (general-procedure, fz-64), codes wherever they stand."""
    from warexempt.population import events, source

    law = bundled_law()
    v = law.vocabulary
    words = {i.id for items in (v.stages, v.roles, v.events, v.discharge_grounds, v.outcomes) for i in items}
    columns = {*source.KNOWN, *events.REQUIRED, *events.OPTIONAL}
    return words | set(law.facts) | columns, {i.id for i in law.instruments}


def _any(ids: set[str]) -> str:
    return "(?:" + "|".join(map(re.escape, sorted(ids, key=len, reverse=True))) + ")"


def english_words(text: str) -> list[str]:
    words, instruments = _ids()
    word = _any(words)
    text = re.sub(rf"\({word}\)|'{word}'|(?<![\w-]){word}(?:(?:, | или | и ){word})+(?![\w-])", " ", text)
    text = re.sub(rf"(?<![\w-]){_any(instruments)}", " ", text)
    for pattern in CODES:
        text = re.sub(pattern, " ", text)
    return [w for w in ENGLISH.findall(text) if w not in ALLOWED]


def run(*args: str, code: int = 0) -> str:
    res = runner.invoke(app, list(args), env=WIDE)
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    return res.output


def assert_russian(text: str) -> None:
    assert re.search("[а-яА-Я]", text), text
    found = english_words(text)
    assert not found, f"English in Russian output: {found}\n{text}"


TRIAL = ["--charge", "158:3:в", "--charge", "228:2", "--stage", "trial"]
TRIAL_EVENTS = ["--event", "2024-10-20:contract_signed", "--event", "2024-11-01:command_petition"]
AWARDED = [
    *("--charge", "158:3:в", "--stage", "pre_trial"),
    *("--event", "2024-05-14:contract_signed", "--event", "2024-06-05:command_petition"),
    *("--event", "2025-01-20:state_award", "--as-of", "2025-02-01"),
]
CONVICT = ["--charge", "158:3:в", "--stage", "sentenced", "--event", "2024-06-17:contract_signed"]
DESERTER = [
    *("--charge", "111:4", "--stage", "sentenced", "--event", "2025-08-01:contract_signed"),
    *("--event", "2026-02-01:new_offence:338:4", "--as-of", "2026-03-01"),
]

CHECKS = {
    "suspended, what-if": [*TRIAL, *TRIAL_EVENTS, "--as-of", "2025-06-01", "--what-if"],
    "released (78.1)": AWARDED,
    "released, what-if (final)": [*AWARDED, "--what-if"],
    "refused: excluded (treason)": ["--charge", "275", "--stage", "trial", *TRIAL_EVENTS[:2], "--as-of", "2025-01-15"],
    "refused: no route yet": ["--charge", "158:1", "--stage", "trial", *TRIAL_EVENTS[:2], "--as-of", "2024-09-16"],
    "refused, what-if": [
        *TRIAL,
        "--event",
        "2024-06-01:contract_signed",
        "--event",
        "2024-06-10:command_petition",
        "--as-of",
        "2024-07-01",
        "--what-if",
    ],
    "eligible, what-if": [*TRIAL, "--event", "2025-03-01:contract_signed", "--as-of", "2025-03-10", "--what-if"],
    "convict conditionally released": [*CONVICT, "--as-of", "2024-07-01", "--what-if"],
    "convict finally released": [*CONVICT, "--event", "2025-01-20:state_award", "--as-of", "2025-02-01"],
    "convict resumed": [*CONVICT, "--event", "2025-02-03:discharged:other", "--as-of", "2025-03-01", "--what-if"],
    "534-FZ new offence": DESERTER,
    "died": [*TRIAL, *TRIAL_EVENTS, "--event", "2025-02-01:died", "--as-of", "2025-03-01"],
    "events after the day ignored": [*TRIAL, *TRIAL_EVENTS, "--as-of", "2024-10-25"],
    "270-FZ, needs detail": [
        "--charge",
        "131",
        "--stage",
        "pre_trial",
        "--event",
        "2023-08-01:contract_signed",
        "--event",
        "2023-08-10:command_petition",
        "--as-of",
        "2023-09-01",
    ],
}


@pytest.mark.parametrize("args", CHECKS.values(), ids=CHECKS.keys())
def test_check_in_russian(args):
    assert_russian(run("check", *args, "--lang", "ru"))


def test_the_legal_terms_are_the_codes():
    released = run("check", *AWARDED, "--lang", "ru")
    assert "лицо освобождено от уголовной ответственности; судимости нет" in released
    assert "погашен" not in released  # a 78.1 release leaves no conviction to expunge
    final = run("check", *CONVICT, "--event", "2025-01-20:state_award", "--as-of", "2025-02-01", "--lang", "ru")
    assert "считается не имеющим судимости (ч. 2 ст. 86 УК РФ)" in final
    resumed = run("check", *CONVICT, "--event", "2025-02-03:discharged:other", "--as-of", "2025-03-01", "--lang", "ru")
    assert "исполнение наказания возобновлено" in resumed and "производство" not in resumed.split("Основания")[0]
    conditional = run("check", *CONVICT, "--as-of", "2024-07-01", "--lang", "ru")
    assert "условно освобождено от отбывания наказания" in conditional
    deserter = run("check", *DESERTER, "--lang", "ru")
    assert "исполнение наказания возобновлено" in deserter and "ст. 70 УК РФ" in deserter
    everything = (
        released + final + resumed + conditional + deserter + run("check", *TRIAL, *TRIAL_EVENTS, "--lang", "ru")
    )
    assert re.search(r"действовавшему на \d+ [а-я]+ \d{4}\W?г\.", everything)  # «на дату», not «день вопроса»
    for wrong in ("день вопроса", " путь", "Судимость погашена"):
        assert wrong not in everything
    assert not re.search(r"\b(он|его|ему|им)\b", everything)  # «лицо»: the person, whoever it is


def test_english_explanations_say_the_person():
    text = run("check", *AWARDED) + run("check", *DESERTER) + run("check", *CONVICT, "--as-of", "2024-07-01")
    text += run("check", *TRIAL, *TRIAL_EVENTS, "--event", "2025-02-01:died", "--as-of", "2025-03-01")
    assert "the person" in text
    assert not re.search(r"\b(he|him|his|she|her)\b", text, re.IGNORECASE)


def test_outcome_names_fit_the_stage(law):
    assert outcome_label(law, "resumed", "ru", "trial") == "производство по делу возобновлено"
    assert outcome_label(law, "resumed", "ru", "sentenced") == "исполнение наказания возобновлено"
    assert outcome_label(law, "resumed", "en", "sentenced") == "enforcement of the sentence resumed"
    assert " / " in outcome_label(law, "resumed", "ru")  # a count over many cases names both
    d = warexempt.check(
        charges=["158:3:в"],
        stage="sentenced",
        as_of="2025-03-01",
        events=[
            {"date": "2024-06-17", "kind": "contract_signed"},
            {"date": "2025-02-03", "kind": "discharged", "ground": "other"},
        ],
    )
    assert d.to_dict("ru")["outcome_label"] == "исполнение наказания возобновлено"


@pytest.mark.parametrize(
    "args",
    [
        ["law", "--as-of", "2025-01-01"],
        ["law", "--as-of", "2023-09-01"],
        ["law", "--as-of", "2022-08-01"],
        ["timeline"],
        ["demo"],
        ["glossary"],
        ["cases", str(ROOT / "tests" / "cases")],
    ],
    ids=lambda a: " ".join(a[:3]).replace(str(ROOT), ""),
)
def test_commands_in_russian(args):
    assert_russian(run(*args, "--lang", "ru"))


def test_the_language_can_come_from_the_environment():
    res = runner.invoke(app, ["check", *AWARDED], env={**WIDE, "WAREXEMPT_LANG": "ru"})
    assert res.exit_code == 0 and "судимости нет" in res.output
    assert "судимости нет" not in run("check", *AWARDED, "--lang", "en")


CSV = """case_id,charges,stage,contract_date,petition_date,award_date,discharge_date,discharge_ground,death_date
1,158:3:в;228:2,pre_trial,2024-05-02,2024-05-10,2025-01-20,,,
2,275,trial,2024-11-05,2024-11-25,,,,
3,158:9,pre_trial,2024-05-02,,,,,
4,158:2,sentenced,2024-06-17,,,2025-02-03,other,
5,158:2,sentenced,2024-06-17,,2025-01-01,,,
"""


def test_bulk_summary_in_russian(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(CSV, encoding="utf-8")
    out = run(
        "bulk", str(src), "-o", str(tmp_path / "out.parquet"), "--as-of", "2025-06-01", "--summary", "--lang", "ru"
    )
    assert_russian(out)
    assert "решено дел: 4" in out


ERRORS = {
    "unknown part": (["check", "--charge", "158:9", "--stage", "trial"], "части"),
    "unknown article": (["check", "--charge", "999", "--stage", "trial"], "нет статьи"),
    "unreadable code": (["check", "--charge", "абв", "--stage", "trial"], "не удается прочитать"),
    "unknown stage": (["check", "--charge", "158:1", "--stage", "суд"], "не стадия"),
    "no charge": (["check", "--stage", "trial"], "код обвинения"),
    "unknown event kind": (
        ["check", "--charge", "158:1", "--stage", "trial", "--event", "2024-01-01:вечеринка"],
        "вид",
    ),
    "award before service": (
        [
            "check",
            "--charge",
            "158:1",
            "--stage",
            "trial",
            "--event",
            "2024-01-01:contract_signed",
            "--event",
            "2023-12-01:state_award",
        ],
        "раньше поступления",
    ),
    "discharge without ground": (
        [
            "check",
            "--charge",
            "158:1",
            "--stage",
            "trial",
            "--event",
            "2024-01-01:contract_signed",
            "--event",
            "2024-02-01:discharged",
        ],
        "основание",
    ),
    "534-FZ part before its day": (
        [
            "check",
            "--charge",
            "111:4",
            "--stage",
            "sentenced",
            "--event",
            "2025-08-01:contract_signed",
            "--event",
            "2025-12-01:new_offence:338:4",
            "--as-of",
            "2026-03-01",
        ],
        "вступила в силу",
    ),
    "not a date": (["check", "--charge", "158:1", "--stage", "trial", "--as-of", "2025-13-01"], "не дата"),
    "bad event": (["check", "--charge", "158:1", "--stage", "trial", "--event", "кек"], "ДАТА:ВИД"),
    "law, not a date": (["law", "--as-of", "2025-13-01"], "не дата"),
    "no case folder": (["cases", "нет-такой-папки"], "нет такого файла или папки"),
    "no bulk file": (["bulk", "нет.csv", "-o", "out.parquet"], "нет такого файла"),
    "bulk output name": (["bulk", "нет.csv", "-o", "out.xlsx"], ".csv или .parquet"),
}


@pytest.mark.parametrize(("args", "needle"), ERRORS.values(), ids=ERRORS.keys())
def test_errors_in_russian(args, needle):
    out = run(*args, "--lang", "ru", code=2)
    assert out.startswith("ошибка:") and needle in out
    assert_russian(out)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("case_id,charges,stage,contract_date\n1,158,суд,2024-01-01\n".encode("cp1251"), "UTF-8"),
        (b"case_id,charges\n1,158\n", "нет столбцов"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "двоичные"),
    ],
)
def test_bulk_file_errors_in_russian(tmp_path, content, needle):
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    out = run("bulk", str(src), "-o", str(tmp_path / "out.parquet"), "--lang", "ru", code=2)
    assert needle in out
    assert_russian(out)


# Help: the usage line's metavariables ([OPTIONS], <path>) and the values one types (stage ids) are codes.
HELP_CODES = [
    r"Вызов:.*",
    r"Справка:.*",
    r"\[[A-Z ]+\]",
    r"<\w+>",
    r"\bCOMMAND\b",
    r"\[ARGS\]",
    r"\[?\b(?:file|paths|infile)\b\]?",
    r"\bOUTPUT\b",
]


@pytest.mark.parametrize(
    "args", [["check"], ["cases"], ["bulk"], ["law"], ["timeline"], ["glossary"], ["demo"]], ids=lambda a: a[0]
)
def test_help_in_russian(args):
    text = run(*args, "--help", "--lang", "ru")
    assert "Вызов:" in text and "Параметры" in text and "Показать эту справку и выйти." in text
    for pattern in HELP_CODES:
        text = re.sub(pattern, " ", text)
    words, _ = _ids()
    from warexempt.population.bulk import OUTPUT_COLUMNS

    keys = {"facts", "events", "charges", "stage", "as_of", "expect", "cases", "id", "kind", "date", "ground"}
    types = {"Date", "Datetime"}  # Parquet's
    codes = {w.lower() for w in words | keys | types | set(OUTPUT_COLUMNS)}  # what one types or reads, in any case
    assert [w for w in english_words(text) if w.lower() not in codes] == []
    assert run(*args, "--lang", "ru", "--help") == run(*args, "--help", "--lang", "ru")  # either order


def test_group_help_follows_the_environment():
    res = runner.invoke(app, ["--help"], env={**WIDE, "WAREXEMPT_LANG": "ru"})
    assert res.exit_code == 0 and "Команды" in res.output and "Словарь" not in res.output
    assert "glossary" in res.output and "Термины" in res.output
    assert "Commands" in run("--help")  # and English otherwise: nothing is left over from the Russian run


def test_every_help_text_and_message_has_a_russian_translation():
    known = set(catalog("ru"))
    missing = [t for t in help_texts(typer.main.get_command(app)) if t not in known]
    assert missing == []
    with (ROOT / "warexempt/locale/ru/LC_MESSAGES/warexempt.po").open("rb") as fh:
        entries = [m for m in read_po(fh, locale="ru") if m.id]

    def placeholders(text: str) -> set[str]:
        return set(re.findall(r"\{(\w*)\}", text))

    assert [m.id for m in entries if not placeholders(str(m.string)) <= placeholders(str(m.id))] == []


def test_messages_from_elsewhere_are_translated():
    assert translate("3 event(s) dated after the as-of date were ignored", "ru") == (
        "не учтено событий с датой позже даты проверки: 3"
    )
    assert translate("e2 (2024-03-01): state_award on 2024-03-01 is after the death", "ru").endswith("после смерти")
    assert translate("something new, not in the catalog", "ru") == "something new, not in the catalog"
    assert translate("anything", "en") == "anything"


def test_the_glossary(law):
    terms = glossary()
    ids = [t.id for t in terms]
    assert len(ids) == len(set(ids)) >= 20
    for t in terms:
        assert t.ru and t.en and t.definition_ru and t.definition_en
        c = cite(t.source, law)
        assert c.ru != t.source and c.en != t.source, t.source  # a provision the citations know
        assert not english_words(t.ru + " " + t.definition_ru), t.id
    names = {t.ru for t in terms}
    assert "лицо освобождено от уголовной ответственности; судимости нет" in names
    assert "лицо считается не имеющим судимости" in names
    en = run("glossary")
    assert "release from criminal liability" in en and "освобождение от уголовной ответственности" in en
    assert Path(warexempt.__file__).parent.joinpath("explain", "glossary.yaml").is_file()


def test_every_category_of_the_exclusion_lists_is_named(law):
    used = {
        item.category
        for inst in law.instruments
        for lst in inst.exclusion_lists + inst.cited_offences
        for item in lst.items
    }
    named = {c.id for c in law.vocabulary.categories}
    assert used <= named
