"""The law as data: dated instrument files, the Criminal Code catalogue, and the catalog that turns them into tables.

Nothing here knows about cases or rules: this package only answers "what did the law say on this day?". The names
are imported on first use (PEP 562): reading charge codes does not need the law files' schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warexempt._lazy import lazy_exports

if TYPE_CHECKING:
    from warexempt.law.catalog import Law, LawInForce, as_of, load_law
    from warexempt.law.codes import ChargeCode, parse_charge

_WHERE = {
    "Law": "catalog",
    "LawInForce": "catalog",
    "as_of": "catalog",
    "load_law": "catalog",
    "ChargeCode": "codes",
    "parse_charge": "codes",
}
__all__ = ["ChargeCode", "Law", "LawInForce", "as_of", "load_law", "parse_charge"]


__getattr__ = lazy_exports(__name__, _WHERE)
