"""Import and export (issue 10, items 5-6): every acceptance case imported into the register has the status
``warexempt cases`` expects, on both back ends; a file is all or nothing, listing every problem with its place;
importing again stores nothing; a YAML export imports again unchanged; exports are audited, notes left out unless
asked for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from warexempt.register import io
from warexempt.register.errors import Invalid
from warexempt.rules.acceptance import case_files, compare, load_case_yaml, run_case_files

from . import test_register_support as support
from .conftest import require_shared
from .test_register_support import new_org

db_url, reg, admin = support.db_url, support.reg, support.admin  # the fixtures, on both back ends


def _expectations(folder: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in case_files([folder]):
        for raw in load_case_yaml(path.read_text(encoding="utf-8"))["cases"]:
            out[str(raw["id"])] = raw["expect"]
    return out


@pytest.mark.parametrize("sub", [".", "histories"])
def test_the_register_agrees_with_the_engine_on_every_acceptance_case(reg, law, sub):
    """Item 6: every case of ../shared/acceptance (and, in an organisation of their own since their ids repeat,
    the case histories) imported; each stored status is what `warexempt cases` expects, before and after a forced
    recompute through the vectorised path."""
    folder = require_shared() / sub
    actor = new_org(reg, "acceptance")
    for path in case_files([folder]):
        io.import_file(reg, actor, path)
    expected = _expectations(folder)
    engine = {r.id: r.decision or {} for r in run_case_files([folder], law)}
    for round_ in ("stored", "recomputed"):
        records = {r.label: r for r in reg.cases(actor)}
        assert set(records) == set(expected)
        for label, expect in expected.items():
            status = records[label].status
            assert compare(expect, status) == [], (round_, label)
            assert {k: status[k] for k in ("outcome", "eligible", "record_cleared", "reasons", "unconfirmed")} == {
                k: engine[label][k] for k in ("outcome", "eligible", "record_cleared", "reasons", "unconfirmed")
            }
        reg.recompute(actor, force=True)


GOOD = """
cases:
  - id: G-1
    facts:
      charges: ["158:3:в"]
      stage: trial
      events:
        - {date: 2024-10-20, kind: contract_signed}
        - {date: 2024-11-01, kind: command_petition}
    as_of: 2025-06-01
  - id: G-2
    title: not stored
    facts: {charges: ["228:2"], stage: pre_trial, events: [{id: c, date: 2024-05-01, kind: contract_signed}]}
    notes: "адвокат: встреча в марте"
"""

BAD = """
cases:
  - id: B-1
    facts: {charges: ["158:3:в"], stage: trail, events: [{date: 2024-13-45, kind: contract_signed}]}
  - id: B-2
    facts:
      charges: ["158:2"]
      stage: pre_trial
      events: [{date: 2024-05-01, kind: state_award}, {date: 2024-06-01, kind: contract_signed}]
  - id: B-3
    facts: {charges: ["158:2"], stage: pre_trial}
  - id: B-3
    facts: {charges: ["158:2"], stage: pre_trial}
  - facts: {charges: ["158:2"], stage: pre_trial}
"""


def test_a_file_is_all_or_nothing_and_lists_every_problem_with_its_place(reg, admin, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    with pytest.raises(Invalid) as err:
        io.import_file(reg, admin, bad)
    places = [p for p, _ in err.value.problems]
    assert "cases[1].facts.stage" in places and "cases[1].facts.events[1].date" in places
    assert "cases[2].facts.events" in places  # an award before the contract (RULES.md §5), found by the engine
    assert "cases[4].id" in places and "cases[5].id" in places
    assert "nothing of it was stored" in err.value.text() and "bad.yaml" in err.value.text()
    assert reg.cases(admin) == []  # B-3 (valid) was not stored either
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text(
        '{"id": "J-1", "facts": {"charges": ["158:2"], "stage": "pre_trial"}}\n{not json\n', encoding="utf-8"
    )
    with pytest.raises(Invalid) as err:
        io.import_file(reg, admin, jsonl)
    assert [p for p, _ in err.value.problems] == ["line 2"]
    assert reg.cases(admin) == []


def test_import_is_idempotent_by_label_and_event_id(reg, admin, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    first = io.import_file(reg, admin, good)
    assert (first.new_cases, first.new_events) == (2, 3)
    again = io.import_file(reg, admin, good)
    assert (again.new_cases, again.new_events, again.unchanged) == (0, 0, 2)
    assert reg.get(admin, "G-1").status["outcome"] == "suspended"
    # a new event of a registered case is appended; a changed event is refused (a correction is a new event)
    more = tmp_path / "more.yaml"
    more.write_text(
        GOOD.replace(
            "        - {date: 2024-11-01, kind: command_petition}",
            "        - {date: 2024-11-01, kind: command_petition}\n        - {date: 2025-03-01, kind: state_award}",
        ),
        encoding="utf-8",
    )
    assert io.import_file(reg, admin, more).new_events == 1
    assert reg.get(admin, "G-1").status["outcome"] == "released"
    changed = tmp_path / "changed.yaml"
    changed.write_text(GOOD.replace("2024-11-01", "2024-11-02"), encoding="utf-8")
    with pytest.raises(Invalid, match="refused") as err:
        io.import_file(reg, admin, changed)
    assert err.value.problems[0][0] == "cases[1].facts.events[2]"


def test_exports_reimport_unchanged_are_audited_and_leave_notes_out(reg, admin, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    io.import_file(reg, admin, good)
    yaml_text = io.export(reg, admin, "yaml")
    assert "адвокат" not in yaml_text and "title" not in yaml_text
    with_notes = io.export(reg, admin, "yaml", with_notes=True)
    assert "адвокат: встреча в марте" in with_notes
    again = tmp_path / "export.yaml"
    again.write_text(yaml_text, encoding="utf-8")
    assert io.import_file(reg, admin, again).new_events == 0  # the same organisation: nothing new
    other = new_org(reg)
    io.import_file(reg, other, again)
    assert io.export(reg, other, "yaml") == yaml_text  # and elsewhere the same cases, unchanged
    lines = [json.loads(line) for line in io.export(reg, admin, "json").splitlines()]
    assert [o["id"] for o in lines] == ["G-1", "G-2"]
    g1 = lines[0]
    assert [e["id"] for e in g1["facts"]["events"]] == ["e1", "e2"]
    assert g1["status"]["outcome"] == "suspended" and g1["status"]["reasons"] == ["upk:238:1:5"]
    assert g1["status"]["law_fingerprint"] == reg.law.fingerprint and "notes" not in g1
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text(io.export(reg, admin, "json"), encoding="utf-8")
    assert io.import_file(reg, new_org(reg), jsonl).new_cases == 2  # JSON Lines import too (status ignored)
    csv_text = io.export(reg, admin, "csv")
    assert csv_text.splitlines()[0].startswith("label,charges,stage") and "G-2" in csv_text
    exports = [r["after"] for r in reg.audit_log(admin) if r["action"] == "export"]
    assert [(e["format"], e["notes"]) for e in exports] == [
        ("yaml", False),
        ("yaml", True),
        ("json", False),
        ("json", False),
        ("csv", False),
    ]
    with pytest.raises(Invalid):
        io.export(reg, admin, "xml")
