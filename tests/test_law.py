"""The law as data: loading, validation errors that name file and field, as_of, and amendments as new files."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

import warexempt
from warexempt.law.catalog import load_law
from warexempt.law.errors import LawDataError


def test_as_of_routes_follow_the_instruments(law):
    assert law.as_of(dt.date(2023, 1, 1)).routes["pre_trial"] is None
    pre = law.as_of(dt.date(2023, 7, 1)).routes["pre_trial"]
    assert pre is not None and pre.route.reasons == ["fz-270:2"] and pre.route.max_gravity == "medium"
    assert pre.id == "fz-270/routes/pre_trial"
    assert law.as_of(dt.date(2024, 10, 12)).routes["trial"] is None
    trial = law.as_of(dt.date(2024, 10, 13)).routes["trial"]
    assert trial is not None and trial.route.reasons == ["uk:78.1:1", "upk:238:1:5"]
    sentenced = warexempt.law.as_of("2025-01-01").routes["sentenced"]
    assert sentenced is not None and sentenced.route.reasons == ["uk:80.2:1"]


def test_unconfirmed_facts_listed_by_day(law):
    early = {f.id for f in law.as_of(dt.date(2024, 5, 1)).unconfirmed}
    assert "uk:78.1:1@64-FZ" in early
    late = {f.id for f in law.as_of(dt.date(2025, 5, 1)).unconfirmed}
    assert "uk:78.1:1@64-FZ" not in late and "upk:28.2" in late


def test_exclusion_ranges_cover_dotted_articles(law):
    version = law.as_of(dt.date(2025, 1, 1)).exclusion_lists["uk:78.1:1"]
    articles = {p[0] for p in version.patterns}
    assert {"276.1", "280.1", "280.2", "281.2", "282.2"} <= articles
    assert not {"280.3", "282", "282.4", "284.1", "207.3"} & articles


def test_timeline_has_every_instrument(law):
    ids = [inst.id for _, _, inst in law.timeline()]
    assert ids.index("pardon-2022") < ids.index("fz-270") < ids.index("fz-64") < ids.index("fz-340")
    assert next(i for i in law.instruments if i.id == "pardon-2022").non_statutory


AMENDMENT = textwrap.dedent(
    """
    id: fz-999-fictitious
    kind: amendment
    title: {ru: "Вымышленный закон для теста", en: "A fictitious amendment for a test"}
    in_force: {from: 2027-01-01}
    exclusion_lists:
      - id: uk:78.1:1
        from: 2027-01-01
        base: previous
        add:
          - {code: "158", category: theft_fictitious}
    """
)


def _theft(petition: str):
    return {
        "charges": ["158:2"],
        "stage": "pre_trial",
        "events": [{"date": "2026-12-01", "kind": "contract_signed"}, {"date": petition, "kind": "command_petition"}],
        "as_of": "2027-06-01",
    }


def test_a_new_amendment_file_changes_answers_from_its_date_only(tmp_path):
    """An amendment is a new file, not code: 158 excluded from 2027-01-01 (fictitious)."""
    (tmp_path / "fz-999.yaml").write_text(AMENDMENT, encoding="utf-8")
    amended = load_law(tmp_path)
    before = warexempt.check(_theft("2026-12-31"), law=amended)
    after = warexempt.check(_theft("2027-01-01"), law=amended)
    assert before.outcome == "suspended"
    assert after.outcome == "not_covered" and after.reasons == ["uk:78.1:1", "uk:158:2"]
    assert warexempt.check(_theft("2027-01-01")).outcome == "suspended"  # the bundled law is unchanged


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            "id: x\nkind: federal_law\ntitle: {ru: a, en: b}\nin_force: {from: 2020-01-01}\nroutes:\n  - {stage: jail, covered: false}\n",
            "x.yaml: routes.0.stage",
        ),
        ("id: x\nkind: federal_law\ntitle: {ru: a, en: b}\nin_force: {from: not-a-date}\n", "x.yaml: in_force.from"),
        (
            "id: x\nkind: federal_law\ntitle: {ru: a, en: b}\nin_force: {from: 2020-01-01}\nsurprise: 1\n",
            "x.yaml: surprise",
        ),
        (
            "id: x\nkind: federal_law\ntitle: {ru: a, en: b}\nin_force: {from: 2020-01-01}\nexclusion_lists:\n  - {id: l, from: 2020-01-01, items: [{code: '999', category: c}]}\n",
            "article 999",
        ),
        (
            "id: x\nkind: federal_law\ntitle: {ru: a, en: b}\nin_force: {from: 2020-01-01}\nroutes:\n  - {stage: trial, covered: false, reasons: ['zz:1']}\n",
            "reason 'zz:1'",
        ),
        ("id: fz-64\nkind: federal_law\ntitle: {ru: a, en: b}\nin_force: {from: 2020-01-01}\n", "already used"),
        ("id: x\n  bad: [yaml\n", "cannot read YAML"),
    ],
)
def test_invalid_law_files_name_the_file_and_field(tmp_path, text, needle):
    (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(LawDataError, match=None) as info:
        load_law(tmp_path)
    assert needle in str(info.value)
