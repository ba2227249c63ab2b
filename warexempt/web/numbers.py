"""The numbers (``/numbers``): the population estimates and their figures, from the population report's sections.

The sections (``population.report.sections``: the coverage estimate, the charge mix, the intervals, the claim check,
the sensitivity analysis, the outcome scenarios) take a minute or more of CPU to build, so a page request never
waits for them: the first request starts one worker thread, the page says the figures are being computed and
reloads itself, and the finished sections are kept in memory and in a cache file keyed by everything they are made
from (package version, law fingerprint, the data files' SHA-256, seed, draws), so a restart does not redo them.
The figures are served as PNG files by this site (matplotlib's SVG carries inline styles the page's CSP forbids).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from warexempt._marks import N_

ALL = ("coverage", "charges", "intervals", "claim", "sensitivity", "scenarios")
LANGS = ("en", "ru")
FAILED = N_("The estimates could not be computed: {reason}")


class Numbers:
    """The report's sections for each language, built once in the background and cached."""

    def __init__(
        self,
        *,
        draws: int = 10_000,
        seed: int = 0,
        sections: tuple[str, ...] = ALL,
        cache_dir: Path | None = None,
        day: dt.date | None = None,
    ) -> None:
        self.draws, self.seed, self.sections, self.day = draws, seed, sections, day
        self.cache_dir = cache_dir
        self._views: dict[str, dict[str, Any]] = {}
        self._figures: dict[tuple[str, str], bytes] = {}
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._wanted: list[str] = []

    # --- what the page asks -------------------------------------------------------------------------------------
    def view(self, lang: str) -> dict[str, Any] | None:
        """The sections in ``lang`` if built (from memory or the cache file); else ``None``, and the building
        starts (``error(lang)`` says if it failed)."""
        with self._lock:
            if lang in self._views:
                return self._views[lang]
        if self._load(lang):
            return self._views[lang]
        self.start(lang)
        return None

    def error(self, lang: str) -> str | None:
        return self._errors.get(lang)

    def figure(self, lang: str, chart_id: str) -> bytes | None:
        return self._figures.get((lang, chart_id))

    def start(self, first: str = "en") -> None:
        """Build the sections in a worker thread (``first`` language first), if not already building."""
        with self._lock:
            self._wanted = [first, *(x for x in LANGS if x != first)]
            if self._worker is not None and self._worker.is_alive():
                return
            self._worker = threading.Thread(target=self._work, name="warexempt-numbers", daemon=True)
            self._worker.start()

    def wait(self, timeout: float) -> None:
        """Wait for the worker (tests; ``make run`` never does)."""
        if self._worker is not None:
            self._worker.join(timeout)

    # --- building -----------------------------------------------------------------------------------------------
    def _work(self) -> None:
        from warexempt.law.catalog import bundled_law
        from warexempt.population import report, scenarios

        ctx = report.Context(
            self.day or scenarios.DEFAULT_AS_OF, self.seed, self.draws, bundled_law(), scenarios.load_claims()
        )
        while True:
            with self._lock:
                todo = [x for x in self._wanted if x not in self._views and x not in self._errors]
            if not todo:
                return
            lang = todo[0]
            try:
                found = report.sections(lang, ctx, self.sections)
                data = self._plain(found, lang, ctx)
            except Exception as exc:  # any failure of the model is shown on the page, never a 500
                from warexempt.explain.i18n import gettext

                with self._lock:
                    self._errors[lang] = gettext(lang, FAILED, reason=str(exc))
                continue
            self._keep(lang, data)
            self._save(lang, data)

    def _plain(self, found: list[Any], lang: str, ctx: Any) -> dict[str, Any]:
        from warexempt import __version__

        return {
            "day": ctx.day.isoformat(),
            "draws": ctx.draws,
            "seed": ctx.seed,
            "version": __version__,
            "law_fingerprint": ctx.law.fingerprint,
            "sections": [
                {
                    "id": s.id,
                    "title": s.title,
                    "paragraphs": list(s.paragraphs),
                    "missing": s.missing,
                    "tables": [{"title": t.title, "header": list(t.header), "rows": t.rows} for t in s.tables],
                    "charts": [
                        {
                            "id": c.id,
                            "title": c.title,
                            "caption": c.caption,
                            "png": base64.b64encode(c.png).decode("ascii"),
                        }
                        for c in s.charts
                    ],
                }
                for s in found
            ],
        }

    def _keep(self, lang: str, data: dict[str, Any]) -> None:
        with self._lock:
            for s in data["sections"]:
                for c in s["charts"]:
                    self._figures[(lang, c["id"])] = base64.b64decode(c.pop("png"))
            self._views[lang] = data

    # --- the cache file -----------------------------------------------------------------------------------------
    def _path(self, lang: str) -> Path | None:
        if self.cache_dir is None:
            return None
        from warexempt import __version__
        from warexempt.law.catalog import bundled_law
        from warexempt.population.report import data_hashes

        key = json.dumps(
            [__version__, bundled_law().fingerprint, data_hashes(), self.seed, self.draws, self.sections, self.day],
            default=str,
        )
        return self.cache_dir / f"numbers-{hashlib.sha256(key.encode()).hexdigest()[:16]}-{lang}.json"

    def _load(self, lang: str) -> bool:
        path = self._path(lang)
        if path is None or not path.is_file():
            return False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        self._keep(lang, data)
        return True

    def _save(self, lang: str, data: dict[str, Any]) -> None:
        path = self._path(lang)
        if path is None:
            return
        with_png = {**data, "sections": [dict(s) for s in data["sections"]]}
        for s in with_png["sections"]:
            s["charts"] = [
                {**c, "png": base64.b64encode(self._figures[(lang, c["id"])]).decode("ascii")} for c in s["charts"]
            ]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(with_png, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass  # a cache that cannot be written only means computing again after a restart


def default_cache() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("warexempt")) / "numbers"
