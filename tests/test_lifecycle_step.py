"""What a new event does (issue 10, item 1), each answer from replaying the history with the event through the one
rules path: refused when it cannot be true (RULES.md §5), recorded with no effect and why (with the decision's
citations), or changing the status; a case's timeline, each step with its citations, in Russian and English."""

from __future__ import annotations

import pytest

from warexempt.facade import check
from warexempt.lifecycle.step import Recorded, apply, apply_many, effective
from warexempt.lifecycle.timeline import step_view, timeline
from warexempt.rules.case import Case, Event


def _case(charges: list[str], stage: str, events: list[dict[str, str]], as_of: str = "2026-03-01") -> Case:
    case = Case.parse({"charges": charges, "stage": stage, "events": events, "as_of": as_of})
    return case.model_copy(
        update={"events": [e.model_copy(update={"id": i}) for e, i in zip(case.events, case.event_ids(), strict=True)]}
    )


def _event(date: str, kind: str, **fields: str) -> Event:
    return Event.model_validate({"date": date, "kind": kind, "id": "new", **fields})


CONTRACT = {"date": "2025-01-10", "kind": "contract_signed"}
PETITION = {"date": "2025-01-20", "kind": "command_petition"}


@pytest.mark.parametrize(
    ("history", "event", "words"),
    [
        ([], _event("2025-01-05", "state_award"), "before the entry into service"),  # an award before the contract
        ([CONTRACT, PETITION], _event("2025-02-01", "stage_changed", stage="trial"), "suspended"),
        ([CONTRACT, {"date": "2025-02-01", "kind": "died"}], _event("2025-03-01", "state_award"), "after the death"),
        ([CONTRACT, PETITION], _event("2025-12-01", "new_offence", charge="338:4"), "338"),  # 534-FZ part, too early
    ],
)
def test_an_event_that_cannot_be_true_is_refused_with_the_engines_words(law, history, event, words):
    """RULES.md §5."""
    result = apply(_case(["158:2"], "pre_trial", history), event, law)
    assert result.effect == "refused" and result.refused
    assert words in result.problems[0][1]
    view = step_view(result, law, "ru")
    assert view["effect"] == "refused" and view["message"].startswith("Отказано")


def test_a_trial_stage_petition_before_340_fz_is_recorded_with_no_effect_and_why(law):
    """RULES.md §2: at trial there was no route before 340-FZ (2024-10-13); the law does not act on the petition."""
    case = _case(["158:3:в"], "trial", [{"date": "2024-02-01", "kind": "contract_signed"}], "2024-06-02")
    result = apply(case, _event("2024-06-01", "command_petition"), law)
    assert (result.effect, result.why) == ("no_effect", "not_acted_on")
    assert result.after["deciding_event"] == "new" and result.after["status"] == "no_route"
    assert step_view(result, law, "en")["message"].startswith("Recorded, with no effect: the law in force on")


def test_a_petition_with_an_excluded_charge_changes_nothing_and_cites_the_exclusion(law):
    """RULES.md §3: УК 205 ч. 2 is on the list of excluded offences (ч. 1 ст. 78.1 УК)."""
    case = _case(["205:2"], "pre_trial", [{"date": "2024-05-01", "kind": "contract_signed"}], "2024-06-02")
    result = apply(case, _event("2024-05-05", "command_petition"), law)
    assert (result.effect, result.why) == ("no_effect", "not_acted_on")
    assert result.after["reasons"] == ["uk:78.1:1", "uk:205:2"]
    view = step_view(result, law, "ru")
    assert "ст. 205" in view["message"] and [c["id"] for c in view["after"]["citations"]] == ["uk:78.1:1", "uk:205:2"]


def test_an_award_without_a_suspension_changes_nothing(law):
    """RULES.md §4: an award releases only a suspended case."""
    case = _case(["158:3:в"], "pre_trial", [{"date": "2024-05-01", "kind": "contract_signed"}], "2024-06-02")
    result = apply(case, _event("2024-06-01", "state_award"), law)
    assert (result.effect, result.why) == ("no_effect", "no_rule")
    assert result.after["outcome"] == "eligible"


def test_an_event_after_a_release_changes_nothing_the_case_has_ended(law):
    case = _case(["158:2"], "pre_trial", [CONTRACT, PETITION, {"date": "2025-03-01", "kind": "state_award"}])
    result = apply(case, _event("2025-06-01", "discharged", ground="other"), law)
    assert (result.effect, result.why) == ("no_effect", "final")


def test_a_petition_that_suspends_changes_the_status_and_agrees_with_check(law):
    case = _case(["158:2"], "pre_trial", [CONTRACT])
    result = apply(case, _event("2025-01-20", "command_petition"), law)
    assert result.effect == "changed"
    direct = check(charges=["158:2"], stage="pre_trial", events=[CONTRACT, PETITION], as_of="2026-03-01")
    assert result.status["outcome"] == direct.outcome == "suspended" and result.status["reasons"] == direct.reasons
    assert (
        "upk:208:1:3.1" in step_view(result, law, "en")["message"] or "208" in step_view(result, law, "en")["message"]
    )


def test_a_correction_replaces_the_event_it_supersedes(law):
    case = _case(["158:2"], "pre_trial", [CONTRACT, PETITION, {"date": "2025-03-01", "kind": "died"}])
    fixed = apply(case, _event("2025-03-01", "state_award"), law, supersedes="e3")
    assert fixed.effect == "changed" and fixed.status["outcome"] == "released"
    assert [e.id for e in fixed.history.events] == ["e1", "e2", "new"]


def test_the_replay_leaves_every_superseded_event_out():
    a, b, c, d = (Event(date="2025-01-0" + str(i), kind="contract_signed", id=f"e{i}") for i in range(1, 5))
    kept = effective([Recorded(a), Recorded(b), Recorded(c, supersedes="e2"), Recorded(d, supersedes="e3")])
    assert [e.id for e in kept] == ["e1", "e4"]


def test_the_timeline_cites_each_step_in_both_languages(law):
    case = _case(
        ["158:2"], "pre_trial", [CONTRACT, PETITION, {"date": "2025-03-01", "kind": "discharged", "ground": "health"}]
    )
    en, ru = timeline(case, law, "en"), timeline(case, law, "ru")
    assert [s["outcome"] for s in en] == ["eligible", "suspended", "released"]
    assert [s["changed"] for s in en] == [True, True, True]
    assert en[1]["citations"][0]["id"] == "upk:208:1:3.1" and "208" in ru[1]["citations"][0]["text"]
    assert ru[0]["event"] == "заключение контракта" and "УК РФ" in ru[2]["citations"][0]["text"]
    assert en[2]["reasons"] == check(case, law=law).reasons


def test_the_timeline_orders_same_day_events_by_the_law(law):
    """RULES.md §4: on one day the contract comes before the petition, whatever order they were recorded in."""
    case = _case(["158:2"], "pre_trial", [{"date": "2025-01-10", "kind": "command_petition"}, CONTRACT])
    steps = timeline(case, law, "en")
    assert [s["outcome"] for s in steps] == ["suspended", "suspended"]


def test_a_batch_is_judged_event_by_event_as_single_appends_are(law):
    case = _case(["158:2"], "pre_trial", [])
    events = [_event(**e) for e in (CONTRACT, PETITION)] + [_event("2025-03-01", "state_award")]
    events = [e.model_copy(update={"id": f"b{i}"}) for i, e in enumerate(events)]
    batch = apply_many(case, events, law)
    one_by_one = []
    for e in events:
        step = apply(case, e, law)
        one_by_one.append(step)
        case = step.history
    assert [s.effect for s in batch] == [s.effect for s in one_by_one] == ["no_effect", "changed", "changed"]
    assert [s.status["outcome"] for s in batch] == [s.status["outcome"] for s in one_by_one]


def _acceptance_cases() -> list[Case]:
    """Every acceptance case with events, as a ``Case`` whose events carry their ids."""
    from warexempt.rules.acceptance import case_files, load_case_yaml

    from .conftest import require_shared

    out = []
    for path in case_files([require_shared()]):
        doc = load_case_yaml(path.read_text(encoding="utf-8"))
        for raw in doc.get("cases") or []:
            facts = raw.get("facts") or {}
            if not facts.get("events"):
                continue
            data = {**facts, "case_id": str(raw["id"])}
            if raw.get("as_of"):
                data["as_of"] = raw["as_of"]
            out.append(_case_of(data))
    return out


def _case_of(data: dict[str, object]) -> Case:
    case = Case.parse(data)
    ids = case.event_ids()
    return case.model_copy(
        update={"events": [e.model_copy(update={"id": i}) for e, i in zip(case.events, ids, strict=True)]}
    )


def test_grouped_appends_judge_each_prefix_as_the_cases_of_their_own_would_be(law):
    """``apply_groups`` encodes each case once and judges its prefixes as rows of those arrays: every step's rows
    (before, after, status), history and effect equal those of the prefixes built as cases of their own and
    decided by ``statuses`` — on every acceptance case, its history cut at each place, its status day as given
    (often before the judging day) and as the judging day itself."""
    from warexempt.lifecycle.step import ANSWER, apply_groups, judging_day, statuses

    groups = []
    for case in _acceptance_cases():
        for cut in range(len(case.events)):
            base = case.model_copy(update={"events": case.events[:cut]})
            groups.append((base, case.events[cut:]))
            late = judging_day(base, case.events[cut:])
            groups.append((base.model_copy(update={"as_of": late}), case.events[cut:]))
    assert len(groups) > 100
    judged = apply_groups(groups, law)
    for (base, new), steps in zip(groups, judged, strict=True):
        day = judging_day(base, new)
        prefixes = [base.model_copy(update={"events": [*base.events, *new[:i]]}) for i in range(len(new) + 1)]
        on_day = statuses([p.model_copy(update={"as_of": day}) for p in prefixes], law)
        on_status_day = statuses(prefixes[1:], law)
        for i, step in enumerate(steps):
            assert (step.before, step.after, step.status) == (on_day[i], on_day[i + 1], on_status_day[i])
            assert step.history.events == prefixes[i + 1].events and step.day == day
            a, b = on_day[i + 1], on_day[i]
            refused = bool(a["error"]) and a["error"] != b["error"]
            same = all(a[k] == b[k] for k in ANSWER)
            assert step.effect == ("refused" if refused else "no_effect" if same else "changed")
            assert step.answer == {k: on_status_day[i][k] for k in ANSWER}
        assert len(steps) == len(new) or steps[-1].refused
