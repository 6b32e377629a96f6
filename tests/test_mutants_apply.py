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
