"""The register's errors: values with an address and words in both languages, never a traceback.

Each error carries an English message template (a msgid of the catalog, ``N_``) and its values, so that the CLI,
the HTTP API and the web page word it in the reader's language (``text(lang)``); ``code`` says what kind of
failure it is, for an HTTP status (``not_found`` 404, ``forbidden`` 403, ``conflict`` 409, ``invalid``/``refused``
422, ``storage`` 503) or an exit code.
"""

from __future__ import annotations

from typing import Any

from warexempt._marks import N_


class RegisterError(Exception):
    """A failure of a register operation, worded by ``text(lang)``."""

    code = "invalid"

    def __init__(self, template: str, /, **params: Any) -> None:
        self.template = template
        self.params = {k: str(v) for k, v in params.items()}
        super().__init__(template.format(**self.params))

    def text(self, lang: str = "en") -> str:
        from warexempt.explain.i18n import gettext

        values = {k: gettext(lang, v) if k in WORDS else v for k, v in self.params.items()}
        return gettext(lang, self.template, **values)


WORDS = frozenset({"action"})  # values that are messages themselves (an operation's name), translated in turn


class NotFound(RegisterError):
    """No such organisation, case, user or token (in the actor's organisation)."""

    code = "not_found"


class Forbidden(RegisterError):
    """The actor's role does not allow the operation, or the token is unknown, expired or revoked."""

    code = "forbidden"


class Conflict(RegisterError):
    """Optimistic concurrency: the case has moved on since the caller read it (``expected``, ``actual`` seq), or a
    label that is already taken."""

    code = "conflict"

    def __init__(self, template: str, /, expected: int | None = None, actual: int | None = None, **params: Any) -> None:
        extra = {k: v for k, v in (("expected", expected), ("actual", actual)) if v is not None}
        super().__init__(template, **params, **extra)
        self.expected = expected
        self.actual = actual


class Invalid(RegisterError):
    """Input that cannot be stored: ``problems`` lists (place, message) pairs, every one found."""

    code = "invalid"

    def __init__(self, template: str, /, problems: list[tuple[str, str]] | None = None, **params: Any) -> None:
        super().__init__(template, **params)
        self.problems = list(problems or [])

    def text(self, lang: str = "en") -> str:
        from warexempt.explain.messages import translate

        head = super().text(lang)
        return "\n".join([head, *(f"  {where}: {translate(msg, lang)}" for where, msg in self.problems)])


class Refused(Invalid):
    """An event that cannot be true of the case's history (RULES.md §5), as the rules path found it."""

    code = "refused"


class StorageError(RegisterError):
    """The database could not do what was asked (read-only, full, unreachable, connection dropped); nothing that was
    acknowledged before is lost, and the failed write left nothing behind."""

    code = "storage"


MESSAGES = (
    N_("no organisation {org}"),
    N_("no case {label} in organisation {org}"),
    N_("no user {name} in organisation {org}"),
    N_("the role {role} may not {action}; it needs {needed}"),
    N_("{role} is not a role; expected viewer, editor or admin"),
    N_("the token is not valid: unknown, expired or revoked"),
    N_("case {label} has moved on: expected event sequence {expected}, it is at {actual}; read it again and retry"),
    N_("case {label} already exists in organisation {org}"),
    N_("user {name} already exists in organisation {org}"),
    N_("the database cannot be written: {detail}"),
    N_("the database is full: {detail}"),
    N_("the database cannot be reached: {detail}"),
    N_("the database failed: {detail}"),
    N_("the event cannot be recorded"),
    N_("the case cannot be recorded"),
    N_("{path}: the file was refused, nothing of it was stored ({n} problems)"),
    N_("case {label} has no event {event}"),
    N_("organisation {org} already exists"),
    N_("{value} is not a valid label: expected 1 to 100 characters, no line breaks"),
    N_("case {label} already has an event {event}"),
    N_("event {event} of case {label} was already superseded by {later}; correct the later event instead"),
    N_("user {name} was revoked; add a new user instead"),
    N_("{days} is not a number of days a token is valid; expected a whole number above 0"),
    N_("no token {token} in organisation {org}"),
    N_("{value} is not an export format; expected json, csv or yaml"),
)
