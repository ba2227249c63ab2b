"""Who is acting: a user of an organisation with a role (``viewer`` < ``editor`` < ``admin``), or the local
operator (the CLI on the machine that holds the database file), who acts as an admin of the organisation named.

Every store function takes the actor and checks the role it needs (``require``); an actor sees only its own
organisation's cases.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from warexempt._marks import N_
from warexempt.register.errors import Forbidden, Invalid
from warexempt.register.models import ROLES

# what each operation needs (the operations' names are msgids: a refusal names them in the reader's language)
NEEDS = {
    N_("read"): "viewer",
    N_("export"): "viewer",
    N_("export notes"): "editor",
    N_("write cases"): "editor",
    N_("read notes"): "editor",
    N_("manage users"): "admin",
    N_("destroy the key"): "admin",
    N_("recompute"): "admin",
}


@dataclass(frozen=True)
class Actor:
    """The acting user: ``name`` as the audit log records it, the organisation (``org`` name, ``org_id``), the
    ``role``, and the user's id (``None`` for the local operator)."""

    name: str
    org: str
    org_id: int
    role: str
    user_id: int | None = None


def role(value: str) -> str:
    text = value.strip().lower()
    if text not in ROLES:
        raise Invalid("{role} is not a role; expected viewer, editor or admin", role=repr(value))
    return text


def require(actor: Actor, action: str) -> None:
    """Refuse (``Forbidden``) an ``action`` of ``NEEDS`` that the actor's role does not allow."""
    needed = NEEDS[action]
    if ROLES.index(actor.role) < ROLES.index(needed):
        raise Forbidden(
            "the role {role} may not {action}; it needs {needed}", role=actor.role, action=action, needed=needed
        )


def local_name() -> str:
    """The local operator's name in the audit log: ``local:`` and the login name."""
    try:
        return f"local:{getpass.getuser()}"
    except Exception:  # no login name (a container's numeric user)
        return "local"
