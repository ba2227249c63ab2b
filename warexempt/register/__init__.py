"""The case register: durable, audited, multi-organisation records of real cases (issue 10).

SQLite by default (WAL, ``synchronous=FULL``), PostgreSQL 15 through psycopg 3; the schema is the Alembic
migrations of ``migrations/``, run on open. Events are append-only (database triggers refuse UPDATE and DELETE of
``events`` and ``audit``); a case's status is derived by the rules (``lifecycle.step``) and only cached.

The service API (every function takes the acting ``Actor`` and sees only its organisation):

``store.Register``
    ``Register.open(url=None, *, migrate=True, law=None)`` (``url``: ``--db``, else ``WAREXEMPT_DB``, else a SQLite
    file in the user's data folder) · ``close()`` / context manager · ``local(org) -> Actor`` (the local operator,
    an admin) ·
    ``add_case(actor, label, charges, stage, *, offence_date=None, as_of=None, notes=None, events=(),
    request_id=None) -> CaseRecord`` ·
    ``append(actor, label, event, *, expected_seq=None, supersedes=None, request_id=None) -> Appended`` (``.step``:
    ``lifecycle.step.StepResult`` with ``effect`` refused/no_effect/changed, ``.seq``, ``.event_id``) ·
    ``append_many(actor, label, events, *, expected_seq=None, request_id=None) -> list[Appended]`` (one case, all or
    none) · ``append_batch(actor, [(label, event), ...], *, request_id=None) -> list[Appended]`` (many cases, one
    engine call and one commit: ``batch.py``) ·
    ``get(actor, label, *, with_notes=False) -> CaseRecord`` · ``cases(actor, *, outcome=None) -> list[CaseRecord]``
    · ``set_notes(actor, label, text, *, request_id=None)`` · ``destroy_key(actor) -> bool`` ·
    ``recompute(actor=None, *, force=False) -> Recomputed`` (all organisations when ``actor`` is None; one engine
    call) · ``verify(org=None) -> audit.Report`` · ``audit_log(actor, label=None) -> list[dict]``.
``people``
    ``create_org(reg, name) -> int`` · ``orgs(reg)`` · ``add_user(reg, actor, name, role, *, days=90) -> NewToken``
    (``.secret`` shown once) · ``issue_token(reg, actor, name, *, days=90)`` · ``revoke_user(reg, actor, name) -> int``
    · ``revoke_token(reg, actor, token_id)`` · ``authenticate(reg, secret) -> Actor`` · ``users(reg, actor)``.
``io``
    ``import_file(reg, actor, path) -> Imported`` (YAML case format or JSON Lines; all or nothing: ``Invalid`` with
    ``.problems`` [(place, message)]) · ``export(reg, actor, fmt, *, with_notes=False, outcome=None) -> str``.
``errors``
    ``RegisterError`` (``.code``, ``.text(lang)``) and its kinds: ``NotFound``, ``Forbidden``, ``Conflict``
    (``.expected``, ``.actual``), ``Invalid`` / ``Refused`` (``.problems``), ``StorageError``.
``db``
    ``make_engine(url)``, ``migrate(engine, revision="head")``, ``downgrade(engine, revision="base")``,
    ``current(engine)``, ``head()``, ``default_url()``.
``audit``
    ``verify(conn, org=None) -> Report`` (``.ok``, ``.breaks``: the first broken link of each chain: ``Break(org,
    seq, kind=altered|removed|reordered, detail)``).
"""
