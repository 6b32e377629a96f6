"""Writing what ``deqverify reproduce`` produced: the summary and, with matplotlib, figures."""

from __future__ import annotations

import json
from pathlib import Path


def write_outputs(out: Path, summary: dict, plotter: str, figures: list, log) -> None:
    """``summary.json`` and, when matplotlib is installed, one PNG per (arguments, name)
    drawn by ``deqverify.app.figures.<plotter>``."""
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    try:
        from deqverify.app import figures as module
    except ImportError:
        log("matplotlib is not installed: wrote summary.json only; "
            "`pip install 'deqverify[plot]'` for the figures")
    else:
        for arguments, name in figures:
            getattr(module, plotter)(*arguments, out / f"{name}.png")
        log(f"wrote {len(figures)} figures")
    log(f"wrote {out / 'summary.json'}")
