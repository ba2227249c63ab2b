"""A lookup grid with named dimensions: a situation of several small codes as one number, and back.

The engine judges each distinct situation once (``rules.judge``) and every case gathers its answer by the
situation's number; a ``Grid`` declares the dimensions by name so that no code packs or unpacks numbers by hand.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]


class Grid:
    """Dimensions ``name → size``; ``index`` composes each row's codes into one number, ``decode`` takes it apart."""

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

    def decode(self, number: int) -> dict[str, int]:
        """The codes of one number."""
        return {name: number // self.strides[name] % size for name, size in self.dims.items()}

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
