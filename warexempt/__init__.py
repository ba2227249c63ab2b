"""warexempt: Russia's "prosecution for military service" law as dated data, one cited rules engine, measurements.

Python API::

    import warexempt
    d = warexempt.check(charges=["158:3:в"], stage="pre_trial", as_of="2025-02-01",
                        events=[{"date": "2024-05-02", "kind": "contract_signed"},
                                {"date": "2024-05-10", "kind": "command_petition"}])
    d.outcome            # 'suspended'
    warexempt.law.as_of("2025-01-01").routes

The names are imported on first use (PEP 562), so a command that needs only part of the package (``warexempt bulk``)
does not pay for the rest at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warexempt._lazy import lazy_exports

if TYPE_CHECKING:
    from warexempt import law
    from warexempt.facade import Decision, check, evaluate, what_if

__all__ = ["Decision", "check", "evaluate", "law", "what_if"]
__version__ = "0.1.0"


__getattr__ = lazy_exports(
    __name__, {"law": "law", **dict.fromkeys(["Decision", "check", "evaluate", "what_if"], "facade")}
)
