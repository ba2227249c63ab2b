"""``population.parts``: a Dask run's part files joined without decoding give, byte for byte, the file that
``output.Appender`` writes from the same parts one after another (Parquet: the pages copied, the footer's offsets
moved and its row groups renumbered; CSV: the header once) — with empty parts, parts of one row and many row
groups; a part that cannot be joined as it is (another schema, page indexes) is refused, never joined wrong."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from warexempt.population.output import Appender
from warexempt.population.parts import Joiner, PartError, footer_of, write_part
from warexempt.population.stream import decide_chunk

from .test_bulk_stream import DAY, T, _inputs

SIZES = [(0, 70), (70, 1), (71, 0), (71, 169)]  # (offset, rows): a part, one row, an empty part, the rest


def _parts(tmp_path: Path, parquet: bool) -> list[pl.DataFrame]:
    from warexempt.population.source import read_cases

    src, _ = _inputs(tmp_path, ".parquet")
    frame = read_cases(src).frame
    none = pl.Series("case_id", [], dtype=pl.String)
    parts = [decide_chunk(frame, o, n, T, DAY, parquet=parquet, repeated=none).decisions for o, n in SIZES]
    return [p for p in parts if p is not None]


def _joined(parts: list[pl.DataFrame], folder: Path, name: str, parquet: bool) -> Path:
    out = folder / name
    joiner = Joiner(out)
    for i, part in enumerate(parts):
        path = folder / f"part{i}{out.suffix}"
        write_part(part, path, parquet=parquet, header=i == 0)
        joiner.add(path)
        assert not path.exists()  # removed once copied
    joiner.close()
    return out


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_joined_parts_are_the_appenders_file_byte_for_byte(tmp_path: Path, suffix: str) -> None:
    parquet = suffix == ".parquet"
    parts = _parts(tmp_path, parquet)
    total = sum(p.height for p in parts)
    assert total > 150 and any(p.is_empty() for p in parts)  # (the good rows: bad ones are errors)
    appended = Appender(tmp_path / f"appended{suffix}")
    for part in parts:
        appended.add(part)
    appended.close()
    joined = _joined(parts, tmp_path, f"joined{suffix}", parquet)
    assert joined.read_bytes() == (tmp_path / f"appended{suffix}").read_bytes()
    assert not list(tmp_path.glob("*.partial"))  # written in a folder of its own, renamed at the end
    if parquet:
        meta = pq.ParquetFile(joined).metadata
        assert meta.num_rows == total and meta.num_row_groups >= 3
        assert pl.read_parquet(joined).equals(pl.concat(parts))


def test_many_row_groups_in_a_part_keep_their_offsets(tmp_path: Path) -> None:
    """Parts of several row groups each (a part larger than the writer's row group): every page found again."""
    frame = pl.DataFrame({"a": list(range(5000)), "b": [f"x{i % 7}" for i in range(5000)]})
    files = []
    for i, part in enumerate(frame.iter_slices(2000)):
        path = tmp_path / f"p{i}.parquet"
        with pq.ParquetWriter(path, part.to_arrow().schema, compression="lz4") as w:
            w.write_table(part.to_arrow(), row_group_size=300)
        files.append(path)
    joiner = Joiner(tmp_path / "out.parquet")
    for path in files:
        joiner.add(path)
    joiner.close()
    meta = pq.ParquetFile(tmp_path / "out.parquet").metadata
    assert meta.num_row_groups == 7 + 7 + 4
    assert [meta.row_group(i).num_rows for i in (0, 6, 7, 17)] == [300, 200, 300, 100]
    assert pl.read_parquet(tmp_path / "out.parquet").equals(frame)


def test_a_part_that_cannot_be_joined_as_it_is_is_refused(tmp_path: Path) -> None:
    first, other = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(pl.DataFrame({"a": [1, 2]}).to_arrow(), first)
    pq.write_table(pl.DataFrame({"a": ["1"]}).to_arrow(), other)  # another type
    joiner = Joiner(tmp_path / "out.parquet")
    joiner.add(first)
    with pytest.raises(PartError, match="another schema"):
        joiner.add(other)
    joiner.abort()
    assert not list(tmp_path.glob("out.parquet*"))  # nothing left under the output's name
    indexed = tmp_path / "c.parquet"
    pq.write_table(pl.DataFrame({"a": [1]}).to_arrow(), indexed, write_page_index=True)
    joiner = Joiner(tmp_path / "out2.parquet")
    with pytest.raises(PartError, match="page indexes"):
        joiner.add(indexed)
    joiner.abort()
    (tmp_path / "d.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(PartError, match="not a Parquet file"):
        footer_of(tmp_path / "d.parquet")
