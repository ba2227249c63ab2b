"""Errors and warnings in the user's language.

The readers, the engine and the CLI word their errors and an answer's warnings in English: the Python API, the JSON
answers and the bulk errors file keep them so. What a person reads on the screen goes through ``translate``: the text
is matched against the templates below (English msgids of the message catalog with ``{placeholders}``, each the
exact wording of a message somewhere in the code), and the translated template is filled with the values — those
that are messages or field names themselves (``NESTED``) translated in turn, every other value (a code, an id, a
path, a date, what the user typed) kept as it is. A compound message (``problem; problem``, ``field: problem``) is
translated part by part. A text that matches nothing is shown as it is, so a new message is never lost, only
untranslated until its template is added here (``tests/test_russian.py`` renders the common errors in Russian).
"""

from __future__ import annotations

import re
from functools import lru_cache

from warexempt._marks import N_
from warexempt.explain.i18n import catalog, gettext

# Placeholders whose values are messages (or field names) in their own right.
NESTED = frozenset({"message", "reason", "forms", "owners", "problem", "expected", "choices", "got"})

# The shape a placeholder's value must have; any other placeholder takes any text (the shortest that fits).
_DAY = r"\d{4}-\d{2}-\d{2}"
SHAPES = {
    "day": _DAY,
    "date": _DAY,
    "since": _DAY,
    "on": _DAY,
    "n": r"[\d,]+",
    "m": r"[\d,]+",
    "event": r"\S+",
    "kind": r"'?[\w-]+'?",  # an event kind, as given
    "name": r"[a-z_]+",  # a field of an event
    "items": r"[\w.:-]+(?:, [\w.:-]+)*",  # choices (``rules.case.spoken``): codes, ids
    "item": r"[\w.:-]+",
    "quoted": r"'[^']*'",
    "provision": r"(?:ч\. \S+ )?ст\. \S+",  # a part of an article, as law.criminal_code names it
    "key": r"[a-z_]+",  # a key of a case file's expect:
}

TEMPLATES: tuple[str, ...] = (
    N_("{items} or {item}"),  # a list of choices (rules.case.spoken)
    # rules.case, pydantic (the facts of a case)
    N_("case case: {problem}"),  # the default case id: the case was given no id of its own
    N_("case {case}: {problem}"),
    N_("unknown stage {value}: expected one of {known}"),
    N_("unknown event kind {value}: expected one of {known}"),
    N_("unknown discharge ground {value}: expected one of {known}"),
    N_("a {kind} event needs a {name}"),
    N_("a {kind} event has no {name} (only {owners} do)"),
    N_("no events"),
    N_("a charge code is empty"),
    N_("Field required"),
    N_("Extra inputs are not permitted"),
    N_("List should have at least 1 item after validation, not 0"),
    N_("Input should be a valid list"),
    N_("Input should be a valid string"),
    N_("Input should be a valid date or datetime, {reason}"),
    N_("Input should be a valid date in the format YYYY-MM-DD, {reason}"),
    N_("input is too short"),
    N_("input is too long"),
    N_("month value is outside expected range of 1-12"),
    N_("day value is outside expected range"),
    N_("invalid character in year"),
    N_("invalid character in month"),
    N_("invalid character in day"),
    N_("invalid date separator, expected `-`"),
    # rules.engine, rules.impossible, rules.history (histories that cannot be true; warnings)
    N_("{event} ({day}): {problem}"),
    N_("{kind} on {date} comes before the entry into service (no contract_signed or called_up event before it)"),
    N_("{kind} on {date} is after the death"),
    N_("two stage changes on {date}: record the stage the case reached that day"),
    N_("a stage change while the proceedings are suspended: record the resumption first"),
    N_("a stage change after the case was already released"),
    N_("{n} event(s) dated after the as-of date were ignored"),
    N_("a new offence outside a cycle of service changes nothing in this case: it is a case of its own"),
    # law.codes, law.criminal_code (charge codes; the templates of law.codes.MESSAGES)
    N_("charge {code}: {message}"),
    N_("{quoted}: {message}"),  # a charge code's problem (cli.app: the code as given, quoted, and what is wrong)
    N_("{message}. Did you mean: {suggestions}?"),
    N_("cannot read “{rest}”; expected {forms}"),
    N_("no code given; expected {forms}"),
    N_("“{text}” names no article (ст.); expected {forms}"),
    N_("a point (п.) needs its part (ч.); expected {forms}"),
    N_("ч. {part} ст. 30 is not a stage of a crime: ч. 1 is preparation, ч. 3 attempt; expected {forms}"),
    N_("ст. 30 needs its part: ч. 1 (preparation) or ч. 3 (attempt); expected {forms}"),
    N_("ст. 30 (preparation or attempt) needs the offence after it, as in ч. 3 ст. 30, ч. 1 ст. 158; expected {forms}"),
    N_("more than one offence in one code (separate charges with ;); expected {forms}"),
    N_("the Criminal Code has no article {article}"),
    N_("article {article} has been repealed"),
    N_("article {article} has no numbered parts"),
    N_("article {article} has parts {parts}"),
    N_("part {part} of article {article} has no points"),
    N_("part {part} of article {article} has {points}"),
    N_("{provision} came into force on {since} (Federal Law {law}); it did not exist on {on}"),
    N_("{provision} came into force on {since}; it did not exist on {on}"),
    N_(
        "ARTICLE[:PART[:POINT]] such as 158, 158:3 or 158:3:в, or 30:3-ARTICLE… for an attempt (30:1-… for "
        "preparation), or as written in a charge: ст. 158 ч. 2, ч. 3 ст. 158 п. «в», п. «в» ч. 3 ст. 158, "
        "ч. 3 ст. 30, ч. 5 ст. 228.1 УК РФ"
    ),
    N_("{code}: the parts and points of article {article} are not in the catalogue yet; the code could not be checked"),
    # cli.app (options and case files)
    N_("{option}: {value} is not a date (expected YYYY-MM-DD)"),
    N_("--event {value}: expected DATE:KIND or DATE:KIND:VALUE, e.g. {examples}"),
    N_("--lang: {value} (expected en or ru)"),
    N_("-o {path}: expected a .csv or .parquet file name"),
    N_("{path}: cannot read the case file: {reason}"),
    N_("{path}: expected the facts of one case (charges, stage, events, as_of)"),
    N_("[Errno {m}] No such file or directory: {path}"),
    N_("[Errno {m}] Is a directory: {path}"),
    N_("[Errno {m}] Permission denied: {path}"),
    N_("cannot write {path} ({reason})"),
    # rules.acceptance (case files)
    N_("{path}: no such file or folder"),
    N_("{path}: not a readable YAML file: {reason}"),
    N_("{path}: expected a mapping with a list under 'cases:'"),
    N_("no cases found in {path} (expected *.yaml files with a list under 'cases:')"),
    N_("invalid case: {problem}"),
    N_("invalid charges: {problem}"),
    N_("reason {reason} missing (got {got})"),
    N_("reason {reason} must not be given"),
    N_("unconfirmed: expected {want}, got {got}"),
    N_("{key}: expected {want}, got {got}"),
    N_("none"),
    # population (bulk files)
    N_("{path}: no such file"),
    N_("{path}: is a folder, expected a .csv or .parquet file"),
    N_("{path}: expected a .csv or .parquet file"),
    N_("{path}: expected a .csv or .parquet events file"),
    N_("{path}: cannot be read ({reason})"),
    N_("{path}: cannot be read as parquet: the file is damaged or is not a Parquet file"),
    N_("{path}: cannot be read as {format}: its lines cannot be split into fields (check the quotes around values)"),
    N_("{path}: cannot be read as an events file (CSV or Parquet)"),
    N_("{path}: missing column(s) {missing}; the columns are {columns}; expected at least {required} ({hints})"),
    N_("{path}: missing column(s) {missing}; the columns are {columns}; expected at least {required}"),
    N_("{path}: missing column(s) {missing}; an events file has {required} and optional {optional}"),
    N_("{path}: the file is not UTF-8 text (byte {n}: perhaps cp1251/Windows-1251); save it as UTF-8 and try again"),
    N_("{path}: this is not a CSV text file (it contains binary data)"),
    N_("{path}: column {column} is there {n} times ({spelt}); keep one"),
    N_("{path}: unknown column(s) {columns} in the events file"),
    N_("{path}: no such folder"),
    N_("{path}: cannot write there ({reason})"),
    N_("{path}: is a folder"),
    N_("{names} already exists; use --force to overwrite"),
    N_("{names} already exist; use --force to overwrite"),
    N_("{names} already exists; they are an incomplete set ({reason}); use --force to overwrite"),
    N_("{names} already exist; they are an incomplete set ({reason}); use --force to overwrite"),
    N_("another warexempt bulk run is writing {what} (pid {pid})"),
    N_("input/output error"),
    N_("{n} cases decided -> {output}; {m} rows with errors -> {errors}; manifest -> {manifest}"),
    N_("checking cases"),
    N_("reading and checking rows"),
    N_("deciding and writing"),
    N_("law data error"),
    N_("No such file or directory"),
    N_("Permission denied"),
    N_("No space left on device"),
)

# The fields of a case, as a path of a problem names them (``events.0.kind``).
FIELDS = {
    "case": N_("case"),
    "charges": N_("charges"),
    "stage": N_("stage"),
    "events": N_("events"),
    "kind": N_("kind"),
    "date": N_("date"),
    "ground": N_("ground"),
    "charge": N_("charge"),
    "award": N_("award"),
    "as_of": N_("as-of date"),
    "offence_date": N_("offence date"),
    "case_id": N_("case id"),
    "id": N_("event id"),
}

_PATH = re.compile(r"(?P<field>[a-z_]+(?:\[\d+\]|\.\w+)*): (?P<problem>.+)", re.DOTALL)


def _regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    out = []
    seen: set[str] = set()
    for i, part in enumerate(parts):
        if not i % 2:
            out.append(re.escape(part))
        elif part in seen:  # a placeholder named twice ("Wrote {path} … (datasette {path})") is the same text twice
            out.append(f"(?P={part})")
        else:
            seen.add(part)
            out.append(f"(?P<{part}>{SHAPES.get(part, '.+?')})")
    return re.compile("".join(out), re.DOTALL)


def _literal(template: str) -> int:
    return len(re.sub(r"\{\w+\}", "", template))


@lru_cache(maxsize=4)
def _patterns(lang: str) -> list[tuple[re.Pattern[str], str]]:
    """Every message of the catalog that can be a whole error or warning (the templates above, the problems of
    ``rules.case``, …), the most specific first (the most fixed text), each as a pattern."""
    found = [m for m in dict.fromkeys([*TEMPLATES, *catalog(lang)]) if _literal(m) >= 2 and "{}" not in m]
    found.sort(key=_literal, reverse=True)
    return [(_regex(t), t) for t in found]


def translate(text: str, lang: str) -> str:
    """``text`` (an English error or warning) in ``lang``; as it is when no template matches."""
    if lang == "en" or not text:
        return text
    return _translate(text, lang)


def _translate(text: str, lang: str) -> str:
    for pattern, template in _patterns(lang):
        found = pattern.fullmatch(text)
        if found:
            values = {k: _translate(v, lang) if k in NESTED else v for k, v in found.groupdict().items()}
            if "name" in values:
                values["name"] = field(found["name"], lang)
            return gettext(lang, template, **values)
    if text.endswith("."):  # a message with a closing full stop (or a question's "?.")
        inner = text[:-1]
        done = _translate(inner, lang)
        if done != inner:
            return done + ("" if done.endswith(("?", ".")) else ".")
    if "; " in text:
        parts = text.split("; ")
        done_parts = [_translate(p, lang) for p in parts]
        if done_parts != parts:
            return "; ".join(done_parts)
    path = _PATH.fullmatch(text)
    if path and re.split(r"[.\[]", path["field"])[0] in FIELDS:
        return f"{field(path['field'], lang)}: {_translate(path['problem'], lang)}"
    return text


def field(path: str, lang: str) -> str:
    """A field of a case as a problem names it (``events[1].kind``, ``events.0.kind``, ``charges``) in words:
    «события, № 1, вид»; an option (``--as-of``) as it is."""
    if lang == "en" or re.split(r"[.\[]", path)[0] not in FIELDS:
        return path  # an option (--as-of), a file, anything but a field of a case
    out = []
    for bit in re.findall(r"\[\d+\]|[^.\[\]]+", path):
        if bit.startswith("["):
            out.append(f"№ {bit[1:-1]}")
        elif bit.isdigit():  # pydantic counts from 0
            out.append(f"№ {int(bit) + 1}")
        else:
            out.append(gettext(lang, FIELDS[bit]) if bit in FIELDS else bit)
    return ", ".join(out)
