"""The fuzz matrix report: one row per (theorem, dropped assumption), Markdown and JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path

from deqverify import __version__
from deqverify.campaigns.run import VERDICTS, Outcome
from deqverify.core.errors import DEQError, InvalidInputError
from deqverify.theorems.registry import REGISTRY
from deqverify.theorems.spec import problem_from_spec


def read_matrix(out: Path) -> list:
    """The finished rows of a matrix written by :func:`write_matrix` (for ``--resume``)."""

    path = Path(out) / "fuzz-matrix.json"
    try:
        rows = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InvalidInputError(f"cannot resume from {str(path)!r}: {error}") from None
    try:
        if not isinstance(rows, list):
            raise TypeError(f"a list of rows, got a {type(rows).__name__}")
        return [Outcome.from_dict(row) for row in rows]
    except (TypeError, KeyError, AttributeError, ValueError) as error:
        raise InvalidInputError(
            f"cannot resume from {str(path)!r}: not a matrix written by `deqverify fuzz --matrix` "
            f"({type(error).__name__}: {error}); point --resume at the directory of such a run") from None


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
        lines.append(f"| {o.theorem} | {o.violated_assumption or '— (as stated)'} | {o.examples} | {o.held} | "
                     f"{o.violated} | {o.refused} | {o.errors} | {margin} | {note} |")
    (out / "fuzz-matrix.md").write_text("\n".join(lines) + "\n")


RECORD_FORMAT = 1


def record_path(directory: Path, theorem_id: str, violate: str | None, directed: bool = False) -> Path:
    slug = f"{theorem_id}--{violate or 'all'}{'--directed' if directed else ''}"
    return Path(directory) / f"{slug.replace('.', '_').replace('/', '_')}.json.gz"


def write_record(outcome, examples: list, directory: Path, seed, search: dict | None = None) -> Path:
    """Store every tallied problem of one campaign with its verdict and what produced it
    (versions of Hypothesis, numpy, scipy, deqverify; the seed), gzip-compressed JSON; a
    directed search (``search``: restarts, evaluations, CPU time, best objective) gets a file
    of its own beside the drawn record."""
    import gzip
    import platform

    import hypothesis
    import numpy
    import scipy


    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = record_path(directory, outcome.theorem, outcome.violated_assumption, directed=search is not None)
    payload = {
        "format": RECORD_FORMAT, "theorem": outcome.theorem, "drop": outcome.violated_assumption,
        "produced_by": {"deqverify": __version__, "hypothesis": hypothesis.__version__,
                        "numpy": numpy.__version__, "scipy": scipy.__version__,
                        "python": platform.python_version(), "seed": seed},
        "tally": {"held": outcome.held, "violated": outcome.violated, "refused": outcome.refused,
                  "error": outcome.errors},
        "examples": examples,
    }
    if search is not None:
        payload["search"] = search
    with gzip.open(path, "wt") as handle:
        json.dump(payload, handle)
    return path


def _read_record(path: Path) -> dict:
    """One record written by :func:`write_record`, checked for everything replay reads:
    gzip-compressed JSON, this format, a known theorem and one of its assumptions (or none),
    examples with a spec and a known verdict. Anything else is an :class:`InvalidInputError`
    naming the file and what is wrong with it."""
    import gzip

    def refuse(problem):
        raise InvalidInputError(f"{path.name} is not a record of `deqverify fuzz --record`: "
                                f"{problem}; re-record it with deqverify fuzz --record DIR")
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as error:
        refuse(f"{type(error).__name__}: {error}")
    if not isinstance(record, dict):
        refuse(f"a {type(record).__name__}, not an object")
    if record.get("format") != RECORD_FORMAT:
        raise InvalidInputError(f"{path.name}: record format {record.get('format')!r}, "
                                f"this version reads {RECORD_FORMAT}")
    missing = sorted({"theorem", "drop", "examples"} - record.keys())
    if missing:
        refuse(f"no {', '.join(missing)}")
    theorem = REGISTRY[record["theorem"]]  # UnknownIdError (typed) for an unknown id
    if record["drop"] is not None and record["drop"] not in theorem.assumptions:
        refuse(f"{record['drop']!r} is not an assumption of {theorem.id} {list(theorem.assumptions)}")
    examples = record["examples"]
    if not isinstance(examples, list) or not all(
            isinstance(e, dict) and "spec" in e and e.get("verdict") in VERDICTS for e in examples):
        refuse(f"examples must be a list of {{spec, verdict}} with a verdict in {list(VERDICTS)}")
    return record


def replay(directory: Path):
    """Re-check every stored problem of every record in ``directory`` with the current code:
    [(record, replayed Outcome, [indices whose verdict changed])], deterministic (no search)."""
    files = sorted(Path(directory).glob("*.json.gz"))
    if not files:
        raise InvalidInputError(f"no records (*.json.gz) in {str(directory)!r}; write them with "
                                "deqverify fuzz --record DIR")
    results = []
    for path in files:
        record = _read_record(path)
        theorem = REGISTRY[record["theorem"]]
        outcome = Outcome(theorem.id, theorem.statement, record["drop"])
        changed, start = [], time.perf_counter()
        for index, example in enumerate(record["examples"]):
            try:
                verdict = theorem.check(problem_from_spec(example["spec"]))
                now = "held" if verdict.holds else "violated"
                outcome.worst_margin = min(outcome.worst_margin, float(verdict.margin))
            except DEQError as error:
                now = "refused"
                if len(outcome.refusals) < 3:
                    outcome.refusals.append(f"{type(error).__name__}: {error}")
            except Exception as error:  # noqa: BLE001 - a crashing check is tallied, not fatal
                now = "error"
                outcome.refusals.append(f"check crashed: {type(error).__name__}: {error}")
            outcome.examples += 1
            field = {"held": "held", "violated": "violated", "refused": "refused", "error": "errors"}[now]
            setattr(outcome, field, getattr(outcome, field) + 1)
            if now != example["verdict"]:
                changed.append(index)
        outcome.seconds = time.perf_counter() - start
        results.append((record, outcome, changed))
    order = {(t.id, a): i for i, (t, a) in enumerate(
        (t, a) for t in REGISTRY.values() for a in (None, *t.assumptions))}
    return sorted(results, key=lambda item: order.get((item[0]["theorem"], item[0]["drop"]), len(order)))
