"""The rules: the case frame, the one vectorised evaluation, and single-case helpers built on it.

The names are imported on first use (PEP 562): the bulk runner needs the engine, not the single-case models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warexempt._lazy import lazy_exports

if TYPE_CHECKING:
    from warexempt.rules.case import Case, CaseError, Event
    from warexempt.rules.engine import ChargeErrors, Status, evaluate
    from warexempt.rules.frame import CASE_SCHEMA, case_frame

_WHERE = {
    "Case": "case",
    "CaseError": "case",
    "Event": "case",
    "ChargeErrors": "engine",
    "Status": "engine",
    "evaluate": "engine",
    "CASE_SCHEMA": "frame",
    "case_frame": "frame",
}
__all__ = ["CASE_SCHEMA", "Case", "CaseError", "ChargeErrors", "Event", "Status", "case_frame", "evaluate"]


__getattr__ = lazy_exports(__name__, _WHERE)
