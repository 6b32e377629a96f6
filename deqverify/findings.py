"""The fuzz matrix report: one row per (theorem, dropped assumption), Markdown and JSON."""

from __future__ import annotations

import json
from pathlib import Path


def read_matrix(out: Path) -> list:
    """The finished rows of a matrix written by :func:`write_matrix` (for ``--resume``)."""
    from .campaign import Outcome
    from .errors import InvalidInputError

    path = Path(out) / "fuzz-matrix.json"
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InvalidInputError(f"cannot resume from {str(path)!r}: {error}") from None
    return [Outcome.from_dict(row) for row in rows]


def write_matrix(outcomes, out: Path) -> None:
    """Write the rows finished so far (called after every row, so an interrupted matrix
    keeps what it finished)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "fuzz-matrix.json").write_text(json.dumps([o.to_dict() for o in outcomes], indent=2))
    lines = ["| theorem | dropped | examples | held | violated | refused (typed error) | check errors | worst margin | note |",
             "|---|---|---|---|---|---|---|---|---|"]
    for o in outcomes:
        margin = "—" if o.worst_margin == float("inf") else f"{o.worst_margin:.3g}"
        note = (o.details or (o.refusals[0] if o.refusals else "")).replace("|", "\\|")[:120]
        lines.append(f"| {o.theorem} | {o.violated_assumption} | {o.examples} | {o.held} | "
                     f"{o.violated} | {o.refused} | {o.errors} | {margin} | {note} |")
    (out / "fuzz-matrix.md").write_text("\n".join(lines) + "\n")
