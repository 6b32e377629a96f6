"""One (theorem, dropped assumption) pair — a *cell* — as Hypothesis sees it, through public
API only: its own example-database key and, when seeded, its own reproducible stream.

Every property and campaign is built from the same inner function, so Hypothesis' function
digest (its database key and the source of a derandomised stream) would be the same for all
of them. Two public mechanisms separate them:

* the test function's ``__signature__`` (which Hypothesis' digest includes, for exactly
  this purpose: decorators that change a function's behaviour) carries the cell in an
  annotation, so each cell has its own derandomised stream under the ``ci`` profile;
* :class:`CellDatabase`, an :class:`~hypothesis.database.ExampleDatabase`, files every entry
  under the cell, whatever digest Hypothesis computed, so a seeded run (``@seed`` followed by
  ``@settings(database=...)``), an unseeded run and a run with another seed all save into
  and replay from the same place.
"""

from __future__ import annotations

import hashlib
import inspect

from hypothesis.database import ExampleDatabase

SUB_KEYS = (b"secondary", b"pareto")
"""Hypothesis files non-primary entries under ``<key>.<sub>``; a key ending in one of these
keeps the ending, any other key is the cell's primary key."""


def cell_name(theorem_id: str, violate: str | None) -> str:
    return f"{theorem_id}|{violate or 'all assumptions'}"


class CellDatabase(ExampleDatabase):
    """``base`` with every key replaced by the cell's key (sub-keys kept)."""

    def __init__(self, base: ExampleDatabase, cell: str):
        super().__init__()
        self.base, self.cell = base, cell
        self._prefix = b"deqverify-cell-" + hashlib.sha256(cell.encode()).hexdigest()[:32].encode()

    def __repr__(self):
        return f"CellDatabase({self.base!r}, {self.cell!r})"

    def _key(self, key: bytes) -> bytes:
        for sub in SUB_KEYS:
            if key.endswith(b"." + sub):
                return self._prefix + b"." + sub
        return self._prefix

    def save(self, key: bytes, value: bytes) -> None:
        self.base.save(self._key(key), value)

    def fetch(self, key: bytes):
        yield from self.base.fetch(self._key(key))

    def delete(self, key: bytes, value: bytes) -> None:
        self.base.delete(self._key(key), value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.base.move(self._key(src), self._key(dest), value)


def mark(function, cell: str):
    """Give ``function`` (one positional parameter ``problem``) a signature that names the
    cell, so that Hypothesis' digest — database key and derandomised stream — is distinct
    per cell. Returns the function."""
    parameter = inspect.Parameter("problem", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                  annotation=f"cell {cell}")
    function.__signature__ = inspect.Signature([parameter])
    return function
