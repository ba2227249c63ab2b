"""``register recompute`` writes only what changed (issue 10, item 8), on both back ends.

A recompute after a law change must stamp every case with the new law, store the status the new law gives, and
leave a status that came out the same as it was (PostgreSQL writes only its law, seq and day); a forced recompute
under an unchanged law rewrites nothing; and a case whose cache changed after it was read is never stamped.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
import sqlalchemy

from warexempt.law.catalog import load_law
from warexempt.register import recompute
from warexempt.register.models import CASES
from warexempt.register.store import Register, derive

from . import test_register_support as support
from .conftest import HONOUR

db_url, reg, admin = support.db_url, support.reg, support.admin  # the fixtures, on both back ends

CONTRACT = {"date": "2025-01-10", "kind": "contract_signed"}
PETITION = {"date": "2025-01-20", "kind": "command_petition"}
SUSPENDED = {"date": "2025-02-01", "kind": "suspended"}
AWARD = {"date": "2025-04-01", "kind": "state_award", "award": "медаль «За отвагу»"}


def _stored(reg: Register, org_id: int) -> dict[str, Any]:
    columns = (CASES.c.label, CASES.c.status, CASES.c.status_law, CASES.c.status_seq, CASES.c.status_day)
    query = sqlalchemy.select(*columns).where(CASES.c.org_id == org_id)
    if reg.engine.dialect.name == "postgresql":
        query = query.add_columns(sqlalchemy.literal_column("xmin::text").label("version"))
    with reg.engine.connect() as conn:
        return {r.label: r for r in conn.execute(query)}


def _cases(reg: Register, actor: Any) -> None:
    histories = [
        [CONTRACT],
        [CONTRACT, PETITION],
        [CONTRACT, PETITION, SUSPENDED],
        [CONTRACT, PETITION, SUSPENDED, AWARD],
    ]
    for i, events in enumerate(histories):
        reg.add_case(actor, f"C-{i}", ["158:2"], "pre_trial", events=events, as_of="2026-06-10")


def test_a_law_change_stamps_every_case_and_stores_the_new_laws_answer(reg, admin, tmp_path):
    _cases(reg, admin)
    (tmp_path / "honour.yaml").write_text(HONOUR, encoding="utf-8")
    amended = Register(reg.engine, load_law(tmp_path))
    before = _stored(reg, admin.org_id)
    done = amended.recompute(admin)
    after = _stored(reg, admin.org_id)
    assert done.recomputed == len(after) == 4
    assert {r.status_law for r in after.values()} == {amended.law.fingerprint}
    expected = derive([amended.get(admin, label) for label in sorted(after)], amended.law)
    for label, status in zip(sorted(after), expected, strict=True):
        assert json.loads(after[label].status) == status  # what the new law says, whether it changed or not
        assert after[label].status_seq == amended.get(admin, label).seq
    kept = [label for label in after if after[label].status == before[label].status]
    assert kept, "the amendment changes no answer of a case without an award: their status text stays"
    # a forced recompute under the same law finds every cache up to date and rewrites no row
    again = amended.recompute(admin, force=True)
    assert again.recomputed == 4 and again.changed == 0
    unchanged = _stored(reg, admin.org_id)
    assert unchanged == after  # (PostgreSQL: the same row versions, xmin included)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # (SQLite's recompute holds the database from
def test_a_case_whose_cache_changed_after_it_was_read_is_not_stamped(reg, admin):  # reading to writing)
    """PostgreSQL: a recompute stamps its law onto a case only where the row still holds the status this law gives
    the case at the seq read (its digest) — never onto a status another writer stored meanwhile."""
    _cases(reg, admin)
    row = _stored(reg, admin.org_id)["C-1"]
    with reg.engine.connect() as conn:
        case_id, seq, digest = conn.execute(
            sqlalchemy.select(CASES.c.id, CASES.c.seq, CASES.c.status_digest).where(
                CASES.c.org_id == admin.org_id, CASES.c.label == "C-1"
            )
        ).one()

    def restamp(new_digest: str, at_seq: int) -> None:
        frame = pl.DataFrame({"id": [case_id], "seq": [at_seq], "as_of": [str(row.status_day)], "digest": [new_digest]})
        with reg.write() as conn:
            recompute._restamp(conn, frame, "a later law")

    restamp("0" * 64, seq)  # the row holds another status than the one this law gives: left alone
    assert _stored(reg, admin.org_id)["C-1"].status_law == row.status_law
    restamp(digest, seq + 1)  # the same status, but derived at a later seq than the row's: left alone
    assert _stored(reg, admin.org_id)["C-1"].status_law == row.status_law
    restamp(digest, seq)  # the row holds exactly this status at this seq: stamped
    assert _stored(reg, admin.org_id)["C-1"].status_law == "a later law"


def test_every_writer_stores_the_digest_of_the_status_it_stores(reg, admin, tmp_path):
    """A recompute restamps a case whose new status has the digest cached (``cases.status_digest``) without
    rewriting its status: so every path that writes a status — a new case, an append, a batch of appends, an
    import, a recompute that stores a changed answer — must store the digest of exactly that text."""
    from warexempt.register import io
    from warexempt.register.store import status_digest

    _cases(reg, admin)  # new cases
    reg.append(admin, "C-0", PETITION)  # one append
    reg.append_batch(admin, [("C-1", SUSPENDED), ("C-2", AWARD)])  # a batch
    imported = tmp_path / "import.yaml.txt"  # (not beside the law file below: the law reads every *.yaml)
    imported.write_text(
        "cases:\n  - id: IMPORTED\n    as_of: 2026-06-10\n    facts:\n      charges: ['158:2']\n      stage: pre_trial\n"
        "      events:\n        - {date: 2025-01-10, kind: contract_signed}\n",
        encoding="utf-8",
    )
    io.import_file(reg, admin, imported)
    (tmp_path / "honour.yaml").write_text(HONOUR, encoding="utf-8")
    Register(reg.engine, load_law(tmp_path)).recompute(admin)  # a changed answer stored, the rest restamped

    with reg.engine.connect() as conn:
        query = sqlalchemy.select(CASES.c.label, CASES.c.status, CASES.c.status_digest)
        rows = conn.execute(query.where(CASES.c.org_id == admin.org_id)).all()
    assert sorted(r.label for r in rows) == ["C-0", "C-1", "C-2", "C-3", "IMPORTED"]
    for label, status, digest in rows:
        assert digest == status_digest(status), label


def test_answers_that_all_changed_are_stored_whole_span_by_span(reg, admin, tmp_path, monkeypatch):
    """After a law change that alters every answer (each cached digest is one no status has), every case's status is
    stored whole, in spans of two cases: each span's update reaches exactly its own cases (on PostgreSQL it is
    bounded by the span's ids), none is left with the old law or another span's answer."""
    from warexempt.register.store import status_digest

    _cases(reg, admin)
    reg.add_case(admin, "C-4", ["228:2"], "trial", events=[CONTRACT, PETITION], as_of="2026-06-10")
    with reg.engine.begin() as conn:
        mine = sqlalchemy.update(CASES).where(CASES.c.org_id == admin.org_id)
        conn.execute(mine.values(status_digest="another answer", status="{}"))
    (tmp_path / "honour.yaml").write_text(HONOUR, encoding="utf-8")
    amended = Register(reg.engine, load_law(tmp_path))
    monkeypatch.setattr(recompute, "PART", 2)
    done = amended.recompute(admin)
    after = _stored(reg, admin.org_id)
    assert done.recomputed == len(after) == 5
    expected = derive([amended.get(admin, label) for label in sorted(after)], amended.law)
    for label, status in zip(sorted(after), expected, strict=True):
        assert json.loads(after[label].status) == status, label
        assert after[label].status_law == amended.law.fingerprint, label
    with reg.engine.connect() as conn:
        query = sqlalchemy.select(CASES.c.label, CASES.c.status, CASES.c.status_digest)
        rows = conn.execute(query.where(CASES.c.org_id == admin.org_id)).all()
    assert len(rows) == 5 and all(digest == status_digest(status) for _, status, digest in rows)


def test_a_recompute_that_fails_half_way_stores_nothing_and_says_why(reg, admin, tmp_path, monkeypatch):
    """The pipeline's readers run on threads of their own: an error in one (here: the events of the third span of
    one case each) reaches the caller, the write transaction is rolled back — no case restamped, no audit row —
    and a recompute after it does the whole work."""
    _cases(reg, admin)
    (tmp_path / "honour.yaml").write_text(HONOUR, encoding="utf-8")
    amended = Register(reg.engine, load_law(tmp_path))
    before, audited = _stored(reg, admin.org_id), len(reg.audit_log(admin))
    read_events = recompute._span_events
    seen: list[int] = []

    def failing(org: int | None) -> recompute.Read:
        read = read_events(org)

        def third_fails(conn: Any, lo: int, hi: int) -> pl.DataFrame:
            seen.append(lo)
            if len(seen) == 3:
                raise RuntimeError("the events of a span could not be read")
            return read(conn, lo, hi)

        return third_fails

    monkeypatch.setattr(recompute, "PART", 1)
    monkeypatch.setattr(recompute, "_span_events", failing)
    with pytest.raises(RuntimeError, match="could not be read"):
        amended.recompute(admin)
    assert _stored(reg, admin.org_id) == before and len(reg.audit_log(admin)) == audited
    monkeypatch.setattr(recompute, "_span_events", read_events)
    assert amended.recompute(admin).recomputed == 4


def test_a_recompute_whose_write_fails_half_way_stores_nothing(reg, admin, tmp_path, monkeypatch):
    """The writer failing while the readers and the decider are ahead of it: the error reaches the caller (the
    threads are told to stop; none is left waiting), the transaction is rolled back."""
    _cases(reg, admin)
    (tmp_path / "honour.yaml").write_text(HONOUR, encoding="utf-8")
    amended = Register(reg.engine, load_law(tmp_path))
    before = _stored(reg, admin.org_id)
    restamp = recompute._restamp
    calls: list[int] = []

    def second_fails(conn: Any, frame: pl.DataFrame, law: str) -> None:
        calls.append(frame.height)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        restamp(conn, frame, law)

    monkeypatch.setattr(recompute, "PART", 1)
    monkeypatch.setattr(recompute, "_restamp", second_fails)
    with pytest.raises(RuntimeError, match="disk is full"):
        amended.recompute(admin)
    assert _stored(reg, admin.org_id) == before
