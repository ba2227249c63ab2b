"""A lookup grid with named dimensions: a situation of several small codes as one number, and back.

The engine judges each distinct situation once (``rules.judge``) and every case gathers its answer by the
situation's number; a ``Grid`` declares the dimensions by name so that no code packs or unpacks numbers by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.signedinteger[Any]]  # int32 codes and days, int64 positions and sums


class Grid:
    """Dimensions ``name → size``; ``index`` composes each row's codes into one number, ``decode_all`` takes them apart."""

    def __init__(self, **dims: int) -> None:
        self.dims = {name: max(size, 1) for name, size in dims.items()}
        self.strides: dict[str, int] = {}
        stride = 1
        for name in reversed(self.dims):
            self.strides[name] = stride
            stride *= self.dims[name]
        self.size = stride

    def index(self, **codes: Ints | npt.NDArray[np.bool_]) -> Ints:
        """One number per row from its code in every dimension (each in ``0 … size-1``)."""
        if set(codes) != set(self.dims):
            raise ValueError(f"a grid index needs exactly {', '.join(self.dims)}")
        total = np.zeros(len(next(iter(codes.values()))), dtype=np.int64)
        for name in self.dims:
            total += codes[name].astype(np.int64) * self.strides[name]
        return total

    def decode_all(self, numbers: Ints) -> list[dict[str, int]]:
        """The codes of each number, taken apart as arrays: the engine's loops over the distinct situations of a
        run (thousands in a large file) then do no arithmetic of their own."""
        columns = {name: (numbers // self.strides[name] % size).tolist() for name, size in self.dims.items()}
        return [dict(zip(columns, codes, strict=True)) for codes in zip(*columns.values(), strict=True)]

    def distinct(self, numbers: Ints) -> tuple[Ints, Ints]:
        """The distinct numbers, sorted, and each row's place among them. A mark per cell of the grid when the rows
        are many (one pass, no sort), a sort when they are few."""
        if len(numbers) * 16 < self.size:
            uniq, place = np.unique(numbers, return_inverse=True)
            return uniq.astype(np.int64), place.astype(np.int64)
        seen = np.zeros(self.size, dtype=np.bool_)
        seen[numbers] = True
        uniq = np.flatnonzero(seen)
        where = np.empty(self.size, dtype=np.int64)
        where[uniq] = np.arange(len(uniq))
        return uniq.astype(np.int64), where[numbers]
