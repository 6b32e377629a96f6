"""Every planted bug of tests/mutation/mutants.py still applies: its text occurs exactly once
in the file it mutates (a refactor that moves the text would otherwise silently drop the
mutant from the next mutation run, which refuses to start)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "mutation"))
from mutants import CHECK_MUTANTS, MUTANTS  # noqa: E402


@pytest.mark.parametrize("mutant_id, filename, original, mutated, breaks",
                         MUTANTS + CHECK_MUTANTS, ids=[m[0] for m in MUTANTS + CHECK_MUTANTS])
def test_mutant_text_occurs_once(mutant_id, filename, original, mutated, breaks):
    source = (ROOT / "deqverify" / filename).read_text()
    assert source.count(original) == 1, f"{mutant_id}: update its text in tests/mutation/mutants.py"
    assert original != mutated


def test_a_suite_that_times_out_is_inconclusive_not_a_kill(tmp_path):
    """The runner's verdict for a suite run cut off by its timeout: a planted bug that only
    makes the suite slow has not been detected, so it is not counted as killed."""
    import run

    slow = tmp_path / "test_slow.py"
    slow.write_text("import time\n\ndef test_sleeps():\n    time.sleep(60)\n")
    outcome, seconds = run.run_suite([str(slow)], timeout=3.0)
    assert outcome == "inconclusive (timeout)" and seconds < 30
    failing = tmp_path / "test_fails.py"
    failing.write_text("def test_fails():\n    assert False\n")
    assert run.run_suite([str(failing)], timeout=120.0)[0] == "killed"
