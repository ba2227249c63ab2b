"""The rules: the case and events frames, the one evaluation (``evaluate``), and the single case built on it.

The names are imported on first use (PEP 562): the bulk runner needs the engine, not the single-case models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warexempt._lazy import lazy_exports

if TYPE_CHECKING:
    from warexempt.rules.case import Case, CaseError, Event
    from warexempt.rules.engine import DECISION_SCHEMA, ChargeErrors, evaluate
    from warexempt.rules.frames import CASE_SCHEMA, EVENT_SCHEMA
    from warexempt.rules.judge import Status

_WHERE = {
    "Case": "case",
    "CaseError": "case",
    "Event": "case",
    "ChargeErrors": "engine",
    "DECISION_SCHEMA": "engine",
    "evaluate": "engine",
    "Status": "judge",
    "CASE_SCHEMA": "frames",
    "EVENT_SCHEMA": "frames",
}
__all__ = [
    "CASE_SCHEMA",
    "DECISION_SCHEMA",
    "EVENT_SCHEMA",
    "Case",
    "CaseError",
    "ChargeErrors",
    "Event",
    "Status",
    "evaluate",
]


__getattr__ = lazy_exports(__name__, _WHERE)
