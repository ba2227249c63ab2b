"""The rules: the case frame, the one vectorised evaluation, and single-case helpers built on it."""

from warexempt.rules.case import Case, CaseError, Event
from warexempt.rules.engine import ChargeErrors, Status, evaluate
from warexempt.rules.frame import CASE_SCHEMA, case_frame

__all__ = ["CASE_SCHEMA", "Case", "CaseError", "ChargeErrors", "Event", "Status", "case_frame", "evaluate"]
