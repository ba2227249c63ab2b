"""YAML case files a lawyer can write (format: the acceptance README), run through the one rules path.

All cases of all files are evaluated in one frame. An expected reason is matched by an engine reason equal to it or
more specific at a ``:`` boundary (``uk:205`` is matched by ``uk:205:2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from warexempt.law.catalog import Law, load_yaml
from warexempt.rules.case import Case, CaseError
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


def case_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(p.glob("*.yaml")))
        elif p.is_file():
            out.append(p)
        else:
            raise CaseFileError(f"{p}: no such file or folder")
    return out


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


def run_case_files(paths: list[Path], law: Law) -> list[CaseResult]:
    results: list[CaseResult] = []
    pending: list[tuple[CaseResult, Case, dict[str, Any]]] = []
    for path in case_files(paths):
        try:
            doc = load_yaml(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise CaseFileError(f"{path}: not a readable YAML file: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
            raise CaseFileError(f"{path}: expected a mapping with a list under 'cases:'")
        for i, raw in enumerate(doc["cases"]):
            cid = str(raw.get("id", f"{path.name}#{i}")) if isinstance(raw, dict) else f"{path.name}#{i}"
            res = CaseResult(cid, str(raw.get("title", "")) if isinstance(raw, dict) else "", path.name, None)
            results.append(res)
            try:
                if not isinstance(raw, dict) or "facts" not in raw or "expect" not in raw:
                    raise CaseError([("case", "needs 'facts', 'as_of' and 'expect'")], cid)
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
