"""YAML case files a lawyer can write (format: the acceptance README), run through the one rules path.

All cases of all files are evaluated in one frame. An expected reason is matched by an engine reason equal to it or
more specific at a ``:`` boundary (``uk:205`` is matched by ``uk:205:2``).

A run is refused as a whole (``CaseFileError``) when its files cannot be trusted to say what they mean: a file that
is not YAML or has no ``cases:`` list, a case id used twice (in one file or two: ids are unique across all files), an
``expect`` with a key or an outcome the format does not have, or no case at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from warexempt.law.catalog import Law, SafeLoader
from warexempt.rules.case import Case, CaseError, nearest, spoken
from warexempt.rules.engine import ChargeErrors, evaluate
from warexempt.rules.frames import frames


@dataclass
class CaseResult:
    id: str
    title: str
    file: str
    decision: dict[str, Any] | None
    mismatches: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def to_json(self) -> dict[str, Any]:
        d = self.decision or {}
        return {
            "id": self.id,
            "eligible": d.get("eligible"),
            "outcome": d.get("outcome"),
            "record_cleared": d.get("record_cleared"),
            "reasons": d.get("reasons", []),
            "unconfirmed": d.get("unconfirmed", []),
            "passed": self.passed,
            "mismatches": self.mismatches,
        }


class CaseFileError(ValueError):
    """A case file that cannot be read at all."""


EXPECT_KEYS = ("eligible", "outcome", "record_cleared", "reasons", "not_reasons", "unconfirmed")


class _Int(int):
    """A whole number as a case file wrote it (``yaml_source``): ``158:3`` unquoted is YAML 1.1's 9483."""

    yaml_source: str


class _Float(float):
    yaml_source: str


class CaseLoader(SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, keeping what a case's facts need to be reported as written: a number keeps its text (a
    charge code left unquoted is named as typed: "quote charge codes: '158:3'"), and a date that is not one
    (``2024-13-45``) stays text, so that the case's check names it instead of the loader failing on the file."""


def _number(kind: type[_Int] | type[_Float]) -> Any:
    def construct(loader: Any, node: yaml.ScalarNode) -> int | float:
        base = loader.construct_yaml_int(node) if kind is _Int else loader.construct_yaml_float(node)
        if base != base or base in (float("inf"), float("-inf")):  # .nan, .inf: not written as a code
            return base  # type: ignore[no-any-return]
        number = kind(base)
        number.yaml_source = str(node.value)
        return number

    return construct


def _timestamp(loader: Any, node: yaml.ScalarNode) -> object:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:  # 2024-13-45: looks like a date, is none
        return str(node.value)


CaseLoader.add_constructor("tag:yaml.org,2002:int", _number(_Int))
CaseLoader.add_constructor("tag:yaml.org,2002:float", _number(_Float))
CaseLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def load_case_yaml(text: str) -> Any:
    """A case file's YAML (``CaseLoader``)."""
    return yaml.load(text, Loader=CaseLoader)


def case_files(paths: list[Path]) -> list[Path]:
    out: dict[Path, Path] = {}  # resolved -> as given: a file named twice (or by its folder too) is read once
    for p in paths:
        if p.is_dir():
            out.update((f.resolve(), f) for f in sorted(p.glob("*.yaml")) if f.resolve() not in out)
        elif p.is_file():
            out.setdefault(p.resolve(), p)
        else:
            raise CaseFileError(f"{p}: no such file or folder")
    return list(out.values())


def _matches(expected: str, got: list[str]) -> bool:
    return any(g == expected or g.startswith(expected + ":") for g in got)


def compare(expect: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = []
    for key in ("eligible", "outcome", "record_cleared"):
        if key in expect and expect[key] != got[key]:
            out.append(f"{key}: expected {expect[key]!r}, got {got[key]!r}")
    for r in expect.get("reasons") or []:
        if not _matches(r, got["reasons"]):
            out.append(f"reason {r!r} missing (got {', '.join(got['reasons']) or 'none'})")
    for r in expect.get("not_reasons") or []:
        if _matches(r, got["reasons"]):
            out.append(f"reason {r!r} must not be given")
    if "unconfirmed" in expect and bool(expect["unconfirmed"]) != bool(got["unconfirmed"]):
        out.append(f"unconfirmed: expected {expect['unconfirmed']!r}, got {got['unconfirmed'] or 'none'}")
    return out


def _expect_problems(expect: object, law: Law) -> list[str]:
    """What the format does not have in an ``expect``: an unknown key, or an outcome that is not one."""
    if not isinstance(expect, dict):
        return [f"'expect' must be a mapping of {', '.join(EXPECT_KEYS)}"]
    out = []
    for key in expect:
        if key not in EXPECT_KEYS:
            close = nearest(str(key), EXPECT_KEYS, 1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            out.append(f"expect: {str(key)!r} is not a key of expect; expected {spoken(EXPECT_KEYS)}{hint}")
    outcomes = law.vocabulary.ids("outcomes")
    if "outcome" in expect and expect["outcome"] not in outcomes:
        value = expect["outcome"]
        close = nearest(str(value), outcomes, 1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        out.append(f"expect.outcome: {str(value)!r} is not an outcome; expected {spoken(outcomes)}{hint}")
    return out


def _read(path: Path) -> list[Any]:
    try:
        doc = load_case_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CaseFileError(f"{path}: not a readable YAML file: {exc}") from None
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot be read ({exc.strerror})") from None
    cases = doc.get("cases") if isinstance(doc, dict) else None
    if not isinstance(cases, list):
        raise CaseFileError(f"{path}: expected a mapping with a list under 'cases:'")
    return cases


def run_case_files(paths: list[Path], law: Law) -> list[CaseResult]:
    """Every case of the files (folders: their ``*.yaml``), decided and compared with its ``expect``."""
    results: list[CaseResult] = []
    pending: list[tuple[CaseResult, Case, dict[str, Any]]] = []
    files = case_files(paths)
    docs = [(path, _read(path)) for path in files]
    seen: dict[str, Path] = {}
    repeated: dict[tuple[Path, Path], list[str]] = {}  # (where first, where again) -> the ids
    refused: list[str] = []
    for path, cases in docs:
        for i, raw in enumerate(cases):
            if not isinstance(raw, dict):
                continue
            if "id" in raw:
                cid = str(raw["id"])
                if cid in seen:
                    repeated.setdefault((seen[cid], path), []).append(cid)
                seen.setdefault(cid, path)
            if "expect" in raw:
                where = f"{path}: case {raw.get('id', f'#{i + 1}')}"
                refused.extend(f"{where}: {m}" for m in _expect_problems(raw["expect"], law))
    if repeated:
        said = [
            f"{', '.join(ids)} " + (f"twice in {a}" if a == b else f"in {a} and in {b}")
            for (a, b), ids in repeated.items()
        ]
        count = sum(len(ids) for ids in repeated.values())
        raise CaseFileError(
            f"{count} case id{'s are' if count > 1 else ' is'} used more than once: {'; '.join(said)} "
            "(ids must be unique across all files of a run)"
        )
    if refused:
        raise CaseFileError("; ".join(refused))
    if not any(cases for _, cases in docs):
        shown = ", ".join(str(p) for p in paths)
        raise CaseFileError(f"no cases found in {shown} (expected *.yaml files with a list under 'cases:')")
    for path, cases in docs:
        for i, raw in enumerate(cases):
            cid = str(raw.get("id", f"{path.name}#{i}")) if isinstance(raw, dict) else f"{path.name}#{i}"
            res = CaseResult(cid, str(raw.get("title", "")) if isinstance(raw, dict) else "", path.name, None)
            results.append(res)
            try:
                if not isinstance(raw, dict) or "facts" not in raw or "expect" not in raw:
                    raise CaseError([("case", "needs 'facts', 'as_of' and 'expect'")], cid)
                if not isinstance(raw["facts"], dict):
                    raise CaseError([("facts", "expected a mapping of charges, stage, events")], cid)
                case = Case.parse({**raw["facts"], "as_of": raw.get("as_of"), "case_id": cid}, cid)
            except CaseError as exc:
                res.mismatches.append(f"invalid case: {exc}")
                continue
            pending.append((res, case, raw["expect"]))
    if pending:
        try:
            rows = evaluate(*frames([c for _, c, _ in pending]), law=law).to_dicts()
        except ChargeErrors as exc:
            for i, msg in exc.rows.items():
                pending[i][0].mismatches.append(f"invalid charges: {msg}")
            ok = [p for i, p in enumerate(pending) if i not in exc.rows]
            rows = evaluate(*frames([c for _, c, _ in ok]), law=law).to_dicts() if ok else []
            pending = ok
        for (res, _, expect), row in zip(pending, rows, strict=True):
            if row["error"]:
                res.mismatches.append(f"invalid case: {row['error']}")
                continue
            res.decision = row
            res.mismatches.extend(compare(expect, row))
    return results
