"""The bundled statistics: provenance and hashes, the loader's checks, and ``warexempt data sources``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from warexempt.cli.app import app
from warexempt.population.stats import DATA, StatsError, bundled, load

runner = CliRunner()


def test_every_bundled_file_has_its_provenance_and_hash():
    listed = yaml.safe_load((DATA / "provenance.yaml").read_text(encoding="utf-8"))["files"]
    names = {e["file"] for e in listed}
    assert {p.name for p in DATA.iterdir() if p.suffix in (".csv", ".md")} == names
    for e in listed:
        assert e["source"] and e["date"] and e["definition"]
        assert hashlib.sha256((DATA / e["file"]).read_bytes()).hexdigest() == e["sha256"]
    assert bundled().hashes == {e["file"]: e["sha256"] for e in listed}


def test_the_figures_are_those_of_the_data():
    s = bundled()
    assert len(s.parts) == 927  # 961 rows, the old and new editions of arts 134, 135, 165 summed per part
    assert round(sum(p.values["totalConvicted"] for p in s.parts)) == 530_965
    assert s.value("cases_suspended_other_than_wanted_or_illness", "2019") == 648
    assert s.value("cases_suspended_other_than_wanted_or_illness", "2025H1") == 25_300
    assert s.claim("C01").value == 60_000 and s.claim("C02").value == 24_000
    assert s.article_totals[(2024, "275")].value == 145
    for f in s.figures:
        assert all(sid in s.sources for sid in f.source_ids), f.key


def test_a_deliberately_empty_figure_is_not_a_number():
    with pytest.raises(StatsError, match="empty in the data"):
        bundled().value("cases_suspended_other_than_wanted_or_illness", "2024")


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder)
    return folder


def _rehash(folder: Path, name: str) -> None:
    """Update provenance.yaml for an edited file, so the next check (not the hash) is the one tested."""
    path = folder / "provenance.yaml"
    text = path.read_text(encoding="utf-8")
    old = next(e["sha256"] for e in yaml.safe_load(text)["files"] if e["file"] == name)
    path.write_text(text.replace(old, hashlib.sha256((folder / name).read_bytes()).hexdigest()), encoding="utf-8")


def test_an_edited_file_is_refused_by_its_hash(tmp_path):
    folder = _copy(tmp_path)
    f = folder / "court_flows.csv"
    f.write_text(f.read_text(encoding="utf-8").replace("25300", "25400"), encoding="utf-8")
    with pytest.raises(StatsError, match=r"court_flows.csv: SHA-256 .* differs from provenance.yaml"):
        load(folder)


def test_a_wrong_sum_a_bad_number_a_missing_column_and_an_unknown_source_are_named(tmp_path):
    folder = _copy(tmp_path)
    name = "convictions_by_article.csv"
    original = (folder / name).read_text(encoding="utf-8")
    (folder / name).write_text(original.replace("2020,105,1,4027,", "2020,105,1,4028,"), encoding="utf-8")
    _rehash(folder, name)
    with pytest.raises(StatsError, match="the 2020 part rows sum to 530,966, not the official 2020 total 530,965"):
        load(folder)

    (folder / name).write_text(original.replace("2020,105,1,4027,", "2020,105,1,many,"), encoding="utf-8")
    _rehash(folder, name)
    with pytest.raises(
        StatsError, match=r"convictions_by_article.csv, row 2, column convicted_main: 'many' is not a"
    ) as e:
        load(folder)
    assert e.value.text("ru") == "convictions_by_article.csv, строка 2, столбец convicted_main: 'many' — не число"

    (folder / name).write_text(original.replace("dostoevsky_backend_2020pkl", "nowhere", 1), encoding="utf-8")
    _rehash(folder, name)
    with pytest.raises(StatsError, match=r"row 2, column source_id: source_id 'nowhere' is not in sources.csv"):
        load(folder)

    lines = original.splitlines()
    lines[0] = lines[0].replace(",note", "")
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    _rehash(folder, name)
    with pytest.raises(StatsError, match=r"missing \['note'\]"):
        load(folder)


def test_a_missing_provenance_entry_is_refused(tmp_path):
    folder = _copy(tmp_path)
    (folder / "provenance.yaml").unlink()
    with pytest.raises(StatsError, match="provenance file is missing"):
        load(folder)


def test_data_sources_lists_every_figure_with_its_source():
    res = runner.invoke(app, ["data", "sources", "--json"])
    assert res.exit_code == 0, res.output
    view = json.loads(res.output)
    assert len(view["figures"]) == len(bundled().figures)
    assert {f["file"] for f in view["files"]} >= {"court_flows.csv", "claims.csv", "dostoevsky_2020_by_part_wide.csv"}
    h1 = next(f for f in view["figures"] if f["key"] == "2025H1:cases_suspended_other_than_wanted_or_illness")
    assert h1["value"] == 25_300 and h1["sources"][0]["url"].startswith("http")
    assert all(f["sources"] for f in view["figures"])
    assert len(view["by_part_2020"]["rows"]) == 927 and view["by_part_2020"]["source_id"] in bundled().sources
    table = runner.invoke(app, ["data", "sources", "--lang", "ru"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "Цифры и их источники" in table.output
