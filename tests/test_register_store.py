"""The register's store on both back ends (issue 10, items 2-4): migrations up and down, append-only events and
audit refused by the database itself, per-case sequence numbers and optimistic concurrency, corrections that
supersede, the derived status cached with the law's fingerprint, the hash-chained audit log, organisations, roles,
tokens and encrypted notes."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
import sqlalchemy
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from warexempt.law.catalog import load_law
from warexempt.register import db, people
from warexempt.register.errors import Conflict, Forbidden, Invalid, NotFound, Refused, StorageError
from warexempt.register.models import AUDIT, CASES, EVENTS, TABLES, Base
from warexempt.register.store import Register

from . import test_register_support as support
from .conftest import HONOUR
from .test_register_support import fresh_pg_database, new_org

db_url, reg, admin = support.db_url, support.reg, support.admin  # the fixtures, on both back ends

CONTRACT = {"date": "2025-01-10", "kind": "contract_signed"}
PETITION = {"date": "2025-01-20", "kind": "command_petition"}


def _case(reg: Register, actor: Any, label: str = "K-1", **kw: Any) -> Any:
    return reg.add_case(actor, label, ["158:2"], "pre_trial", **kw)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migrations_upgrade_and_downgrade_on_both_back_ends(kind, tmp_path, request):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def run(url: str) -> None:
        engine = db.make_engine(url)
        assert db.current(engine) is None
        db.migrate(engine)
        assert db.current(engine) == db.head()
        with engine.connect() as conn:
            assert set(TABLES) <= set(sqlalchemy.inspect(conn).get_table_names())
            # the models and the migration describe the same schema
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        db.downgrade(engine)
        assert db.current(engine) is None
        with engine.connect() as conn:
            assert not set(TABLES) & set(sqlalchemy.inspect(conn).get_table_names())
        db.migrate(engine)  # and up again, triggers too
        with engine.connect() as conn:
            assert "events" in sqlalchemy.inspect(conn).get_table_names()
        engine.dispose()

    if kind == "sqlite":
        run(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    else:
        with fresh_pg_database(request.getfixturevalue("pg_url")) as url:
            run(url)


def test_sqlite_is_durable_wal_with_synchronous_full(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'd.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.BUSY_MS


@pytest.mark.parametrize("statement", ["UPDATE {t} SET seq = seq + 100", "DELETE FROM {t}"])
@pytest.mark.parametrize("table", ["events", "audit"])
def test_update_and_delete_of_events_and_audit_are_refused_by_the_database(reg, admin, table, statement):
    _case(reg, admin, events=[CONTRACT])
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), reg.engine.begin() as conn:
        conn.execute(text(statement.format(t=table)))
    with reg.engine.connect() as conn:
        assert conn.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(EVENTS)).scalar()


def test_events_are_numbered_per_case_and_a_stale_sequence_is_a_conflict(reg, admin):
    _case(reg, admin, events=[CONTRACT])
    done = reg.append(admin, "K-1", PETITION, expected_seq=1)
    assert (done.seq, done.event_id, done.step.effect) == (2, "e2", "changed")
    with pytest.raises(Conflict) as err:  # a second editor who read the case at seq 1
        reg.append(admin, "K-1", {"date": "2025-03-01", "kind": "state_award"}, expected_seq=1)
    assert (err.value.expected, err.value.actual, err.value.code) == (1, 2, "conflict")
    assert "moved on" in str(err.value)
    retried = reg.append(admin, "K-1", {"date": "2025-03-01", "kind": "state_award"}, expected_seq=2)
    assert retried.seq == 3 and retried.step.status["outcome"] == "released"
    assert [e.seq for e in reg.get(admin, "K-1").events] == [1, 2, 3]


def test_the_unique_case_and_seq_is_the_last_guard(reg, admin):
    _case(reg, admin, events=[CONTRACT])
    row = reg.get(admin, "K-1")
    with pytest.raises(sqlalchemy.exc.IntegrityError), reg.engine.begin() as conn:
        case_id = conn.execute(
            sqlalchemy.select(CASES.c.id).where(CASES.c.label == "K-1", CASES.c.org_id == admin.org_id)
        ).scalar()
        conn.execute(
            EVENTS.insert().values(
                case_id=case_id,
                seq=row.seq,
                event_id="x",
                date=dt.date(2025, 2, 1),
                kind="command_petition",
                recorded_at=dt.datetime.now(dt.UTC),
                recorded_by="t",
            )
        )


def test_a_correction_supersedes_and_the_replay_leaves_the_old_event_out(reg, admin):
    """RULES.md §4: the petition recorded on a wrong day is corrected; the status follows the correction."""
    _case(reg, admin, events=[CONTRACT, PETITION, {"date": "2025-03-01", "kind": "died"}])
    assert reg.get(admin, "K-1").status["outcome"] == "terminated_death"
    fixed = reg.append(admin, "K-1", {"date": "2025-03-01", "kind": "state_award"}, supersedes="e3")
    assert fixed.step.status["outcome"] == "released"
    rec = reg.get(admin, "K-1")
    assert [e.event_id for e in rec.events] == ["e1", "e2", "e3", "e4"]  # nothing is lost
    assert [e.event_id for e in rec.effective_events()] == ["e1", "e2", "e4"]
    assert rec.status["outcome"] == "released" and rec.status["reasons"][0] == "uk:78.1:1:а"
    with pytest.raises(Invalid, match="already superseded"):
        reg.append(admin, "K-1", {"date": "2025-03-02", "kind": "state_award"}, supersedes="e3")
    with pytest.raises(NotFound):
        reg.append(admin, "K-1", {"date": "2025-03-02", "kind": "state_award"}, supersedes="e9")


def test_an_impossible_event_is_refused_and_nothing_is_stored(reg, admin):
    """RULES.md §5: an award before the contract."""
    _case(reg, admin)
    before = len(reg.audit_log(admin))
    with pytest.raises(Refused) as err:
        reg.append(admin, "K-1", {"date": "2025-01-01", "kind": "state_award"})
    assert "before the entry into service" in err.value.text()
    assert reg.get(admin, "K-1").seq == 0 and len(reg.audit_log(admin)) == before
    with pytest.raises(Invalid) as bad:
        reg.append(admin, "K-1", {"date": "2025-13-01", "kind": "state_awrd"})
    assert {f for f, _ in bad.value.problems} == {"event.date", "event.kind"}


def test_status_is_cached_with_the_law_and_recomputed_when_the_law_changes(reg, admin, tmp_path):
    _case(reg, admin, events=[CONTRACT, PETITION], as_of="2026-06-10")

    def cached() -> Any:
        with reg.engine.connect() as conn:
            return conn.execute(sqlalchemy.select(CASES).where(CASES.c.org_id == admin.org_id)).one()

    assert (cached().status_law, cached().status_seq, cached().outcome) == (reg.law.fingerprint, 2, "suspended")
    # a new law file (an amendment of the tests') changes the law's fingerprint: every cached status is stale
    (tmp_path / "honour.yaml").write_text(HONOUR, encoding="utf-8")
    amended = Register(reg.engine, load_law(tmp_path))
    assert amended.law.fingerprint != reg.law.fingerprint
    done = amended.recompute(admin)
    assert (done.recomputed, done.cases, done.law_fingerprint) == (1, 1, amended.law.fingerprint)
    assert cached().status_law == amended.law.fingerprint
    assert amended.recompute(admin).recomputed == 0  # nothing stale any more
    assert reg.get(admin, "K-1").law_fingerprint == reg.law.fingerprint  # read under the other law: derived afresh
    assert reg.recompute(admin).recomputed == 1 and cached().status_law == reg.law.fingerprint
    assert [r["action"] for r in reg.audit_log(admin)][-2:] == ["recompute", "recompute"]


def test_recompute_many_cases_in_one_call_matches_one_by_one(reg, admin):
    for i in range(12):
        events = [CONTRACT, PETITION] if i % 3 else [CONTRACT]
        if i % 5 == 0:
            events = [*events, {"date": "2025-03-01", "kind": "discharged", "ground": "health"}]
        _case(reg, admin, f"R-{i:02d}", events=events)
    one_by_one = {r.label: r.status for r in reg.cases(admin)}
    done = reg.recompute(admin, force=True)
    assert done.recomputed == 12
    with reg.engine.connect() as conn:
        rows = conn.execute(
            sqlalchemy.select(CASES.c.label, CASES.c.status).where(CASES.c.org_id == admin.org_id)
        ).all()
    import json

    for label, status in rows:
        stored = json.loads(status)
        assert {k: stored[k] for k in ("outcome", "eligible", "record_cleared", "reasons")} == {
            k: one_by_one[label][k] for k in ("outcome", "eligible", "record_cleared", "reasons")
        }


def test_every_write_is_audited_and_the_chain_verifies(reg, admin):
    _case(reg, admin, events=[CONTRACT])
    reg.append(admin, "K-1", PETITION, request_id="req-42")
    log = reg.audit_log(admin)
    assert [r["action"] for r in log] == ["org", "case", "event", "event"]
    last = log[-1]
    assert last["request_id"] == "req-42" and last["actor"] == admin.name and last["case_label"] == "K-1"
    assert last["before"]["outcome"] == "eligible" and last["after"]["status"]["outcome"] == "suspended"
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(log))
    assert reg.verify(admin.org).ok


def _drop_triggers(conn: Any) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER USER")
    else:
        for name in ("audit_no_update", "audit_no_delete"):
            conn.exec_driver_sql(f"DROP TRIGGER {name}")


def _restore_triggers(conn: Any) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE audit ENABLE TRIGGER USER")
    else:
        from importlib import import_module

        migration = import_module("warexempt.register.migrations.versions.0001_initial")
        for statement in migration.append_only_triggers("sqlite"):
            if statement.startswith("CREATE TRIGGER audit_"):
                conn.exec_driver_sql(statement)


@pytest.mark.parametrize(
    ("tamper", "kind", "seq"),
    [
        ("UPDATE audit SET actor = 'someone else' WHERE org_id = :o AND seq = 3", "altered", 3),
        ("DELETE FROM audit WHERE org_id = :o AND seq = 3", "removed", 3),
        ("DELETE FROM audit WHERE org_id = :o AND seq = 5", "removed", 5),  # the last row
        (  # two rows swapped
            "UPDATE audit SET seq = 1000 WHERE org_id = :o AND seq = 3; UPDATE audit SET seq = 3 WHERE org_id = :o AND "
            "seq = 4; UPDATE audit SET seq = 4 WHERE org_id = :o AND seq = 1000",
            "reordered",
            3,
        ),
    ],
)
def test_verify_reports_the_first_broken_link(reg, tamper, kind, seq):
    actor = new_org(reg)
    _case(reg, actor, events=[CONTRACT, PETITION])  # audit rows: org, case, event, event
    reg.append(actor, "K-1", {"date": "2025-03-01", "kind": "state_award"})  # row 5
    other = new_org(reg)
    with reg.engine.begin() as conn:
        _drop_triggers(conn)
        for statement in tamper.split("; "):
            conn.execute(text(statement), {"o": actor.org_id})
        _restore_triggers(conn)
    report = reg.verify()
    broken = [b for b in report.breaks if b.org == actor.org]
    assert len(broken) == 1 and (broken[0].kind, broken[0].seq) == (kind, seq), report.breaks
    assert other.org not in {b.org for b in report.breaks}


def test_users_see_only_their_organisation_and_roles_are_checked(reg, admin):
    token = people.add_user(reg, admin, "vera", "viewer")
    editor = people.add_user(reg, admin, "egor", "editor")
    viewer = people.authenticate(reg, token.secret)
    ed = people.authenticate(reg, editor.secret)
    _case(reg, ed, events=[CONTRACT])
    assert reg.get(viewer, "K-1").label == "K-1"
    with pytest.raises(Forbidden, match="may not write cases"):
        reg.append(viewer, "K-1", PETITION)
    with pytest.raises(Forbidden):
        people.add_user(reg, ed, "x", "admin")
    stranger = new_org(reg)
    with pytest.raises(NotFound):
        reg.get(stranger, "K-1")
    assert reg.cases(stranger) == []
    with pytest.raises(Invalid, match="not a role"):
        people.add_user(reg, admin, "y", "owner")


def test_tokens_are_stored_hashed_expire_are_revoked_and_record_their_last_use(reg, admin):
    made = people.add_user(reg, admin, "tanya", "editor", days=30)
    with reg.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT digest FROM tokens").scalars().all()
    assert made.secret not in stored and people.token_digest(made.secret) in stored
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    with pytest.raises(Forbidden):
        people.authenticate(reg, made.secret, now=later)
    people.authenticate(reg, made.secret)
    [info] = [u for u in people.users(reg, admin) if u.name == "tanya"]
    assert info.tokens == 1 and info.last_used_at is not None
    second = people.issue_token(reg, admin, "tanya", days=None)
    assert people.revoke_user(reg, admin, "tanya") == 2
    for secret in (made.secret, second.secret):
        with pytest.raises(Forbidden, match="not valid"):
            people.authenticate(reg, secret)
    with pytest.raises(Forbidden):
        people.authenticate(reg, "wx_guess")
    actions = [r["action"] for r in reg.audit_log(admin)]
    assert actions.count("token") == 2 and "revoke" in actions and "user" in actions


def test_notes_are_encrypted_and_unreadable_once_the_key_is_destroyed(reg, admin):
    _case(reg, admin, notes="встреча с адвокатом 12 марта", events=[CONTRACT])
    with reg.engine.connect() as conn:
        blob = conn.execute(sqlalchemy.select(CASES.c.notes).where(CASES.c.org_id == admin.org_id)).scalar()
        logged = " ".join(str(r) for r in conn.execute(sqlalchemy.select(AUDIT).where(AUDIT.c.org_id == admin.org_id)))
    assert blob is not None and "адвокат".encode() not in bytes(blob) and "адвокат" not in logged
    assert reg.get(admin, "K-1", with_notes=True).notes == "встреча с адвокатом 12 марта"
    assert reg.destroy_key(admin) is True
    assert reg.get(admin, "K-1", with_notes=True).notes is None
    assert reg.verify(admin.org).ok  # the chain holds only the ciphertext's hash
    reg.set_notes(admin, "K-1", "new notes under a new key")
    assert reg.get(admin, "K-1", with_notes=True).notes == "new notes under a new key"


def test_a_label_is_unique_in_an_organisation(reg, admin):
    _case(reg, admin)
    with pytest.raises(Conflict, match="already exists"):
        _case(reg, admin)
    assert _case(reg, new_org(reg)).label == "K-1"  # another organisation's K-1 is another case


def test_a_read_only_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "ro.sqlite3"
    with Register.open(f"sqlite:///{path}") as rw:
        people.create_org(rw, "ngo")
    engine = db.make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    ro = Register(engine)
    actor = ro.local("ngo")  # reading works
    with pytest.raises(StorageError, match="cannot be written"):
        ro.add_case(actor, "K-1", ["158:2"], "pre_trial")
    engine.dispose()


def test_a_batch_of_events_is_judged_event_by_event_and_stored_all_or_none(reg, admin):
    _case(reg, admin)
    done = reg.append_many(admin, "K-1", [CONTRACT, PETITION, {"date": "2025-03-01", "kind": "state_award"}])
    assert [(a.seq, a.event_id, a.step.effect) for a in done] == [
        (1, "e1", "no_effect"),
        (2, "e2", "changed"),
        (3, "e3", "changed"),
    ]
    assert reg.get(admin, "K-1").status["outcome"] == "released"
    assert [r["after"]["status"]["outcome"] for r in reg.audit_log(admin, "K-1") if r["action"] == "event"] == [
        "eligible",
        "suspended",
        "released",
    ]
    with pytest.raises(Refused) as err:  # the second of the batch is after the death: none of it is stored
        reg.append_many(
            admin, "K-1", [{"date": "2025-04-01", "kind": "died"}, {"date": "2025-04-02", "kind": "state_award"}]
        )
    assert err.value.problems[0][0] == "events[2]" and reg.get(admin, "K-1").seq == 3
    with pytest.raises(Conflict):
        reg.append_many(admin, "K-1", [{"date": "2025-05-01", "kind": "died"}], expected_seq=2)
    assert reg.verify(admin.org).ok


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_the_audit_logs_canonical_json_is_rfc_8785(value):
    """The fast encoder of the audit chain gives exactly the ``rfc8785`` package's bytes (text with control and
    non-ASCII characters, key order by code units, non-ASCII keys through the package itself)."""
    import rfc8785

    from warexempt.register.audit import canonical

    assert canonical(value) == rfc8785.dumps(value).decode("utf-8")


_plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_plain_values)
def test_plain_json_is_rfc_8785_for_the_values_a_writer_builds(value):
    """``audit.plain_json`` (a writer's own entries and hashed fields: JSON values, ASCII keys) gives exactly the
    ``rfc8785`` package's bytes, without ``canonical``'s walk."""
    import rfc8785

    from warexempt.register.audit import plain_json

    assert plain_json(value) == rfc8785.dumps(value).decode("utf-8")


_texts = st.none() | st.text(max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=10), st.text(max_size=10), _texts, _texts, _texts, st.integers(0, 10**6), st.text(max_size=8))
def test_a_sealed_rows_hash_is_the_digest_verify_recomputes(actor, action, label, before, after, org, request):
    """``audit.Chain.seal`` builds the canonical JSON of a row's hashed fields from parts made before the chain's
    lock: its hash is exactly ``audit.digest`` of the row (what ``verify`` checks)."""
    from warexempt.register import audit

    chain = audit.Chain(None, org, 41, "ab" * 32, request)  # type: ignore[arg-type]
    entry = (actor, action, label, before, after)
    ((seq, prev, digest),) = chain.seal([audit.Sealable.of(entry, org, request)], "2026-12-01T10:00:00.5+00:00")
    row = {"org_id": org, "seq": seq, "at": "2026-12-01T10:00:00.5+00:00", "actor": actor, "action": action}
    row |= {"case_label": label, "before": before, "after": after, "request_id": request, "prev_hash": prev}
    assert (seq, prev, chain.seq, chain.head) == (42, "ab" * 32, 42, digest)
    assert digest == audit.digest(row)
