"""tox -e highprec: the edge-case grid of docs/precision.md, every row asserted against its
derived bound k·eps·condition (deqverify/reference/grid.py documents k)."""

import pytest

from deqverify.theorems.reference_grid import case_rows, edge_cases


@pytest.mark.parametrize("case", list(edge_cases()), ids=lambda c: c[0] if isinstance(c, tuple) else "")
def test_float64_error_within_derived_bound(case):
    for row in case_rows(*case):
        assert row.ok, (f"{row.case} / {row.quantity}: relative error {row.relative_error:.3g} "
                        f"({row.ulps:.3g} ulps) > bound {row.bound:.3g} at condition {row.condition:.3g}")
