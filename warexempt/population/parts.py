"""Part files joined into one decisions file without decoding them: how a Dask run's workers write the output.

Why: a cluster's workers decide the parts of a large file; if their decisions came back to this process to be
encoded and written here, this one process would do a quarter of the run's work (encoding a million rows of Parquet
takes about as long as a third of deciding them) on the same cores. So each worker writes its part as a file of the
output's kind, exactly as ``output.Appender`` writes that part, and this process joins the files in the file's
order: the bytes are copied (``os.copy_file_range``: in the kernel), never decoded.

- CSV: the first part has the header, the others none; the file is their bytes one after another.
- Parquet: a file is ``PAR1``, its row groups' pages, its footer (Thrift compact protocol ``FileMetaData``), the
  footer's length and ``PAR1``. The pages hold no position in the file; the footer does (each row group's and
  column chunk's offsets) and numbers the row groups. The joined file is ``PAR1``, every part's pages, and the first
  part's footer with every part's row groups, their offsets moved by where their pages now are, their ordinals
  renumbered, and the total of rows: byte for byte the file one ``pyarrow.parquet.ParquetWriter`` writes when it
  is given the parts one after another (``Appender``). The parts must be written with the same writer options and
  without page indexes or Bloom filters (whose offsets live outside the footer): ``write_part`` does so, and
  ``Joiner`` refuses a part that has them or whose schema differs from the first part's.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from warexempt.population.output import Staged

__all__ = ["Joiner", "PartError", "footer_of", "write_part"]

MAGIC = b"PAR1"

# Thrift compact protocol types
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)
_INTS = (_I16, _I32, _I64)

# The parquet.thrift field ids this module reads or changes
FMD_SCHEMA, FMD_ROWS, FMD_GROUPS, FMD_KV, FMD_ORDERS = 2, 3, 4, 5, 7
RG_COLUMNS, RG_OFFSET, RG_ORDINAL = 1, 5, 7
CC_OFFSET, CC_META, CC_OFFSET_INDEX, CC_COLUMN_INDEX, CC_CRYPTO = 2, 3, 4, 6, 8
CM_OFFSETS = (9, 10, 11)  # data_page_offset, index_page_offset, dictionary_page_offset
CM_BLOOM = 14


class PartError(ValueError):
    """A part file that cannot be joined as it is (another schema, page indexes, a damaged footer)."""


# ----------------------------------------------------------------------------------------------------------------
# Thrift compact protocol: a struct as a list of [field id, type, value], read and written back byte for byte
# ----------------------------------------------------------------------------------------------------------------
Field = list[Any]  # [id, type, value]; a struct's value: list[Field]; a list's: (element type, [values])


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def byte(self) -> int:
        b = self.data[self.at]
        self.at += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int) -> Any:
        if kind in (_TRUE, _FALSE):  # (in a list: one byte each)
            return self.byte() == _TRUE
        if kind == _BYTE:
            return self.byte()
        if kind in _INTS:
            return self.zigzag()
        if kind == _DOUBLE:
            self.at += 8
            return self.data[self.at - 8 : self.at]
        if kind == _BINARY:
            n = self.varint()
            self.at += n
            return self.data[self.at - n : self.at]
        if kind in (_LIST, _SET):
            head = self.byte()
            size, element = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return (element, [self.value(element) for _ in range(size)])
        if kind == _MAP:
            size = self.varint()
            types = self.byte() if size else 0
            return (types, [(self.value(types >> 4), self.value(types & 0x0F)) for _ in range(size)])
        if kind == _STRUCT:
            return self.struct()
        raise PartError(f"a Parquet footer with an unknown Thrift type {kind}")

    def struct(self) -> list[Field]:
        fields: list[Field] = []
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return fields
            kind, delta = head & 0x0F, head >> 4
            fid = last + delta if delta else self.zigzag()
            value = kind == _TRUE if kind in (_TRUE, _FALSE) else self.value(kind)
            fields.append([fid, kind, value])
            last = fid


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n > 0x7F:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def zigzag(self, n: int) -> None:
        self.varint((n << 1) ^ (n >> 63))

    def value(self, kind: int, value: Any) -> None:
        if kind in (_TRUE, _FALSE):
            self.out.append(_TRUE if value else _FALSE)
        elif kind == _BYTE:
            self.out.append(value)
        elif kind in _INTS:
            self.zigzag(value)
        elif kind == _DOUBLE:
            self.out += value
        elif kind == _BINARY:
            self.varint(len(value))
            self.out += value
        elif kind in (_LIST, _SET):
            element, items = value
            if len(items) < 15:
                self.out.append(len(items) << 4 | element)
            else:
                self.out.append(0xF0 | element)
                self.varint(len(items))
            for item in items:
                self.value(element, item)
        elif kind == _MAP:
            types, pairs = value
            self.varint(len(pairs))
            if pairs:
                self.out.append(types)
            for k, v in pairs:
                self.value(types >> 4, k)
                self.value(types & 0x0F, v)
        else:
            self.struct(value)

    def struct(self, fields: list[Field]) -> None:
        last = 0
        for fid, kind, value in fields:
            wire = (_TRUE if value else _FALSE) if kind in (_TRUE, _FALSE) else kind
            if 0 < fid - last <= 15:
                self.out.append((fid - last) << 4 | wire)
            else:
                self.out.append(wire)
                self.zigzag(fid)
            if kind not in (_TRUE, _FALSE):
                self.value(kind, value)
            last = fid
        self.out.append(0)


def _get(fields: list[Field], fid: int) -> Field | None:
    return next((f for f in fields if f[0] == fid), None)


# ----------------------------------------------------------------------------------------------------------------
# Parquet files
# ----------------------------------------------------------------------------------------------------------------
def footer_of(path: Path) -> tuple[list[Field], int]:
    """A Parquet file's footer (``FileMetaData``, decoded) and where its pages end (the footer's start)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(size - 8)
        tail = fh.read(8)
        length = struct.unpack("<I", tail[:4])[0]
        start = size - 8 - length
        if tail[4:] != MAGIC or start < len(MAGIC):
            raise PartError(f"{path.name}: not a Parquet file")
        fh.seek(start)
        footer = _Reader(fh.read(length)).struct()
    return footer, start


def _moved(group: list[Field], by: int, ordinal: int) -> list[Field]:
    """A row group's footer entry with its offsets moved ``by`` bytes and its ordinal set. An offset of 0 is
    "not given" (no page starts there: the file starts with ``PAR1``), as Arrow writes the old ``file_offset``."""
    for field in group:
        if field[0] == RG_OFFSET:
            field[2] += by if field[2] else 0
        elif field[0] == RG_ORDINAL:
            field[2] = ordinal
        elif field[0] == RG_COLUMNS:
            for chunk in field[2][1]:
                if any(_get(chunk, fid) for fid in (CC_OFFSET_INDEX, CC_COLUMN_INDEX, CC_CRYPTO)):
                    raise PartError("a part with page indexes or encryption cannot be joined without decoding")
                for cc in chunk:
                    if cc[0] == CC_OFFSET:
                        cc[2] += by if cc[2] else 0
                    elif cc[0] == CC_META:
                        if _get(cc[2], CM_BLOOM):
                            raise PartError("a part with Bloom filters cannot be joined without decoding")
                        for cm in cc[2]:
                            if cm[0] in CM_OFFSETS:
                                cm[2] += by if cm[2] else 0
    return group


def _same_schema(a: list[Field], b: list[Field]) -> bool:
    return all(_get(a, fid) == _get(b, fid) for fid in (FMD_SCHEMA, FMD_KV, FMD_ORDERS))


def _copy(src: Path, start: int, length: int, out: BinaryIO) -> None:
    """``length`` bytes of ``src`` from ``start`` appended to ``out`` (in the kernel where it can)."""
    out.flush()
    with src.open("rb") as fh:
        done = 0
        while done < length:
            try:
                n = os.copy_file_range(fh.fileno(), out.fileno(), length - done, start + done)
            except OSError:  # (another file system, an old kernel: through user space)
                fh.seek(start + done)
                out.write(fh.read(length - done))
                out.flush()
                return
            if n == 0:
                raise PartError(f"{src.name}: shorter than its footer says")
            done += n
    out.seek(0, os.SEEK_END)


def write_part(part: pl.DataFrame, path: Path, *, parquet: bool, header: bool) -> None:
    """One part's decisions as ``Appender.add`` writes them (Parquet: one ``write_table``; CSV: the header only on
    the first part), in a file of its own."""
    if parquet:
        import pyarrow.parquet as pq

        table = part.to_arrow()
        with pq.ParquetWriter(path, table.schema, compression="lz4") as writer:
            writer.write_table(table)
    else:
        with path.open("wb") as fh:
            part.write_csv(fh, include_header=header)


class Joiner(Staged):
    """The decisions file made from part files (``write_part``) added in the file's order, with ``Appender``'s
    interface and staging: a run's staged name is written in place, any other path in a temporary folder beside
    it and renamed by ``close``; ``abort`` removes what was written."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._out: BinaryIO | None = None
        self._footer: list[Field] | None = None
        self._groups: list[list[Field]] = []
        self._rows = 0

    def add(self, part: Path) -> None:
        """Append one part file's rows (removed once copied)."""
        if self._out is None:
            self._out = self.target.open("wb")
            if self.parquet:
                self._out.write(MAGIC)
        if not self.parquet:
            _copy(part, 0, part.stat().st_size, self._out)
        else:
            footer, end = footer_of(part)
            if self._footer is None:
                self._footer = footer
            elif not _same_schema(footer, self._footer):
                raise PartError(f"{part.name}: another schema than the first part's")
            by = self._out.tell() - len(MAGIC)
            rows, groups = _get(footer, FMD_ROWS), _get(footer, FMD_GROUPS)
            self._rows += rows[2] if rows else 0
            for group in groups[2][1] if groups else []:
                self._groups.append(_moved(group, by, len(self._groups)))
            _copy(part, len(MAGIC), end - len(MAGIC), self._out)
        part.unlink()

    def _finish(self) -> None:
        """The footer written (``Staged.close`` renames the file to its name outside a run)."""
        if self._out is None:
            raise ValueError("Joiner.close before any part: the columns are not known")
        if self._footer is not None:
            footer = [list(f) for f in self._footer]
            for field in footer:
                if field[0] == FMD_ROWS:
                    field[2] = self._rows
                elif field[0] == FMD_GROUPS:
                    field[2] = (_STRUCT, self._groups)
            w = _Writer()
            w.struct(footer)
            self._out.write(bytes(w.out) + struct.pack("<I", len(w.out)) + MAGIC)
        self._out.close()

    def abort(self) -> None:
        if self._out is not None:
            self._out.close()
        self.discard()
