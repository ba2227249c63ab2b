"""The law as data: dated instrument files, the Criminal Code catalogue, and the catalog that turns them into tables.

Nothing here knows about cases or rules: this package only answers "what did the law say on this day?".
"""

from warexempt.law.catalog import Law, LawInForce, as_of, load_law
from warexempt.law.codes import ChargeCode, parse_charge

__all__ = ["ChargeCode", "Law", "LawInForce", "as_of", "load_law", "parse_charge"]
