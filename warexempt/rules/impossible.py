"""RULES.md §5, in one place: the facts of a history that cannot be true, as checks over the ordered events.

Each check is a test over the arrays of ``rules.history`` (events up to ``as_of``, in legal order) with a message
that names what makes the event impossible. The engine runs them for every caller — a single check, a case file, a
bulk file, the register — so the same history is refused with the same words everywhere. The words of a single
event (an unknown kind, a discharge without a ground) are checked when it is read (``rules.case``, the bulk
reader); a stage change while the proceedings are suspended needs the law to know that they are, and is found with
the cycles (``rules.history.per_case``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from warexempt.law.codes import ChargeCodeError
from warexempt.law.criminal_code import CriminalCode
from warexempt.law.models import ROLES
from warexempt.rules.history import DEATH, ENTRY, NEW_OFFENCE, STAGE_CHANGE, History, role_mask, since

# the roles of events that need the person to be in service already (a contract or a call-up before them)
AFTER_ENTRY = [ROLES.index(r) for r in ("petition", "release", "resumption", "death")]
BEFORE_ENTRY = "{kind} on {date} comes before the entry into service (no contract_signed or called_up event before it)"
AFTER_DEATH = "{kind} on {date} is after the death"
TWO_CHANGES = "two stage changes on {date}: record the stage the case reached that day"


def _date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)


def problems(h: History, keys: list[str], codes: list[str], catalogue: CriminalCode) -> list[tuple[int, int, str]]:
    """Every impossible event of ``h``: (case, row in ``h``, message). ``keys``: the event keys' names, to name the
    event; ``codes``: the new offences' codes by number."""
    role, first, ev = h.role, h.first, h.events
    same_case_day = ~first & (ev.day == np.roll(ev.day, 1))
    tests = [
        (role_mask(AFTER_ENTRY)[role] & (since(role == ENTRY, h.case_start) == 0), BEFORE_ENTRY),
        (since(role == DEATH, h.case_start) > 0, AFTER_DEATH),
        ((role == STAGE_CHANGE) & (np.roll(role, 1) == STAGE_CHANGE) & same_case_day, TWO_CHANGES),
    ]
    found = []
    for test, message in tests:
        for r in np.flatnonzero(test):
            found.append((int(ev.case[r]), int(r), message.format(kind=keys[ev.key[r]], date=_date(int(ev.day[r])))))
    # a new offence names a valid code, of a part that existed on its date (534-FZ's parts from 2026-01-09): each
    # code is checked once, and on a date only where its part came into force later than any date (the rest pass)
    offences = np.flatnonzero(role == NEW_OFFENCE)
    since_day = np.array([_in_force_from(catalogue, c) for c in codes] or [0], dtype=np.int64)
    for r in offences[since_day[ev.charge[offences]] > ev.day[offences]] if len(offences) else offences:
        try:
            catalogue.check(codes[ev.charge[r]], on=_date(int(ev.day[r])))
        except ChargeCodeError as exc:
            found.append((int(ev.case[r]), int(r), str(exc)))
    return found


def _in_force_from(catalogue: CriminalCode, code: str) -> int:
    """The day number from which ``code`` is valid: its part's date of entry into force, the smallest day for a code
    valid on every date, the largest for one never valid (the check on its date then gives the message)."""
    try:
        checked = catalogue.check(code).code
    except ChargeCodeError:
        return 2**62
    article = catalogue.get(checked.article)
    part = article.part(checked.part) if article is not None and checked.part is not None else None
    since = part.in_force_from if part is not None else None
    return (since - dt.date(1970, 1, 1)).days if since is not None else -(2**62)
