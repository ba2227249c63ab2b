"""Grouped appends (``Register.append_batch``): events of many cases judged in one engine call, stored with one
commit — the same answers as appending them one by one, all or none, on both back ends."""

from __future__ import annotations

from typing import Any

import pytest

from warexempt.register.errors import Invalid, NotFound, Refused
from warexempt.register.store import Register

from . import test_register_support as support

db_url, reg, admin = support.db_url, support.reg, support.admin  # the fixtures, on both back ends

CONTRACT = {"date": "2025-01-10", "kind": "contract_signed"}
PETITION = {"date": "2025-01-20", "kind": "command_petition"}
AWARD = {"date": "2025-03-01", "kind": "state_award"}
DIED = {"date": "2025-04-01", "kind": "died"}


def _cases(reg: Register, actor: Any, *labels: str) -> None:
    for label in labels:
        reg.add_case(actor, label, ["158:2"], "pre_trial")


def test_a_batch_over_several_cases_gives_what_single_appends_give(reg, admin):
    _cases(reg, admin, "A", "B", "C", "D")
    history: dict[str, list[dict[str, str]]] = {"A": [CONTRACT, PETITION, AWARD], "B": [CONTRACT, PETITION]}
    one_by_one = [(label, reg.append(admin, label, e)) for label, events in history.items() for e in events]
    batch = [("C", CONTRACT), ("D", CONTRACT), ("C", PETITION), ("D", PETITION), ("C", AWARD)]
    done = reg.append_batch(admin, batch)
    assert [(a.seq, a.event_id, a.step.effect) for a in done] == [
        (1, "e1", "no_effect"),
        (1, "e1", "no_effect"),
        (2, "e2", "changed"),
        (2, "e2", "changed"),
        (3, "e3", "changed"),
    ]
    same = {"C": "A", "D": "B"}
    for label, twin in same.items():
        got, want = reg.get(admin, label), reg.get(admin, twin)
        assert got.seq == want.seq and got.status == want.status
        assert [e.facts() for e in got.events] == [e.facts() for e in want.events]
    assert reg.get(admin, "C").status["outcome"] == "released"
    singles = {label: [a.step.effect for lab, a in one_by_one if lab == label] for label in ("A", "B")}
    for label, twin in same.items():
        assert [a.step.effect for (lab, _), a in zip(batch, done, strict=True) if lab == label] == singles[twin]
    events = [r for r in reg.audit_log(admin, "C") if r["action"] == "event"]
    assert [r["after"]["status"]["outcome"] for r in events] == ["eligible", "suspended", "released"]
    assert len({r["request_id"] for r in events}) == 1  # one write
    assert reg.verify(admin.org).ok


def test_a_batch_is_all_or_none_and_names_the_event_that_cannot_be_true(reg, admin):
    _cases(reg, admin, "A", "B")
    reg.append(admin, "A", CONTRACT)
    with pytest.raises(Refused) as err:  # B's award after its death: nothing of the batch is stored, not even A's
        reg.append_batch(admin, [("A", PETITION), ("B", CONTRACT), ("B", DIED), ("B", AWARD | {"date": "2025-05-01"})])
    assert err.value.problems[0][0] == "batch[4]"
    assert reg.get(admin, "A").seq == 1 and reg.get(admin, "B").seq == 0
    with pytest.raises(NotFound, match="'Z'"):
        reg.append_batch(admin, [("A", PETITION), ("Z", CONTRACT)])
    with pytest.raises(Invalid) as bad:
        reg.append_batch(admin, [("A", PETITION), ("B", {"date": "2025-13-01", "kind": "contract_signed"})])
    assert bad.value.problems[0][0].startswith("batch[2]")
    assert reg.get(admin, "A").seq == 1
    assert reg.append_batch(admin, []) == []
    assert reg.verify(admin.org).ok


def test_a_case_moved_on_by_another_writer_meanwhile_makes_the_batch_judge_again(reg, admin, db_url, monkeypatch):
    """Another writer (its own connection) appends to a case of the batch after the batch read it and before it is
    stored: the batch sees it under the lock, reads and judges again, and lands after it — nothing lost."""
    from warexempt.lifecycle.step import apply_groups
    from warexempt.register import batch as grouped

    _cases(reg, admin, "A", "B")
    reg.append(admin, "A", CONTRACT)
    real, calls = apply_groups, []

    def judged_while_another_writes(groups: Any, law: Any) -> Any:
        calls.append(len(groups))
        if len(calls) == 1:
            with Register.open(db_url, migrate=False) as other:
                other.append(other.local(admin.org), "A", PETITION | {"id": "theirs", "date": "2025-01-15"})
        return real(groups, law)

    monkeypatch.setattr(grouped, "apply_groups", judged_while_another_writes)
    done = reg.append_batch(admin, [("A", PETITION), ("B", CONTRACT)])
    assert len(calls) == 2
    assert [(a.seq, a.event_id) for a in done] == [(3, "e3"), (1, "e1")]
    assert [e.event_id for e in reg.get(admin, "A").events] == ["e1", "theirs", "e3"]
    assert reg.get(admin, "A").status["outcome"] == "suspended"
    assert reg.verify(admin.org).ok
