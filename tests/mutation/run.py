"""Mutation check: plant each bug of ``mutants.py`` in the installed (editable) source, run
a test suite against it, and record whether the suite killed it.

    python tests/mutation/run.py                      # the property suite (tox -e properties)
    python tests/mutation/run.py --suite tests        # the unit tests, for comparison
    python tests/mutation/run.py --only solve-no-freeze --json out.json
    python tests/mutation/run.py --checks --suite tests/test_check_sensitivity.py --suite tests/test_check_clauses.py

Needs an editable install (``pip install -e .``) so the suite imports the mutated files.
Runs under the ``ci`` Hypothesis profile (derandomised, no example database), so a verdict
does not depend on earlier runs. A mutant is killed when the suite fails; a run that exceeds
the timeout is inconclusive (a planted bug that makes a solver slow is not thereby detected),
and counted apart. The original file is always restored. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from mutants import CHECK_MUTANTS, MUTANTS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "deqverify"


def run_suite(suite: list[str], timeout: float) -> tuple[str, float]:
    env = dict(os.environ, HYPOTHESIS_PROFILE="ci")
    start = time.monotonic()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", *suite, "-x", "-q", "-p", "no:cacheprovider"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "inconclusive (timeout)", time.monotonic() - start
    outcome = "survived" if completed.returncode == 0 else "killed"
    if completed.returncode not in (0, 1):
        outcome = f"error (pytest exit {completed.returncode})"
    return outcome, time.monotonic() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", help="test directory or file to run (repeatable; "
                        "default: properties)")
    parser.add_argument("--only", action="append", help="mutant id (repeatable)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per suite run")
    parser.add_argument("--checks", action="store_true",
                        help="plant CHECK_MUTANTS (weakened theorem checks) instead of MUTANTS")
    parser.add_argument("--json", help="write the results as JSON")
    args = parser.parse_args(argv)
    args.suite = args.suite or ["properties"]
    chosen = [m for m in (CHECK_MUTANTS if args.checks else MUTANTS) if not args.only or m[0] in args.only]
    if not args.only:
        baseline, seconds = run_suite(args.suite, args.timeout)
        if baseline != "survived":
            print(f"the unmutated suite does not pass ({baseline}); fix that first", file=sys.stderr)
            return 2
        print(f"baseline: {' '.join(args.suite)} passes unmutated ({seconds:.0f} s)", flush=True)
    results = []
    print("| mutant | file | breaks | outcome | seconds |\n|---|---|---|---|---|", flush=True)
    for mutant_id, filename, old, new, description in chosen:
        path = PACKAGE / filename
        original = path.read_text()
        if original.count(old) != 1:
            raise SystemExit(f"{mutant_id}: the text to mutate occurs {original.count(old)} times in {filename}")
        try:
            path.write_text(original.replace(old, new))
            outcome, seconds = run_suite(args.suite, args.timeout)
        finally:
            path.write_text(original)
        results.append({"id": mutant_id, "file": filename, "breaks": description,
                        "outcome": outcome, "seconds": round(seconds, 1)})
        print(f"| {mutant_id} | {filename} | {description} | {outcome} | {seconds:.0f} |", flush=True)
    killed = sum(r["outcome"] == "killed" for r in results)
    inconclusive = sum(r["outcome"].startswith("inconclusive") for r in results)
    print(f"\n{killed} of {len(results)} mutants killed by `{' '.join(args.suite)}`"
          + (f" ({inconclusive} inconclusive: timed out)" if inconclusive else ""))
    if args.json:
        Path(args.json).write_text(json.dumps({"suite": " ".join(args.suite), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
