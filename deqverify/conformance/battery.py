"""The battery as pytest tests (collected by the plugin when ``--deq-impl`` is given)."""

import pytest

from deqverify.conformance.checks import CHECKS


@pytest.mark.parametrize("check_id", list(CHECKS))
def test_conformance(check_id, deq_report):
    record = next(r for r in deq_report.records if r.id == check_id)
    if record.status == "skipped":
        pytest.skip(record.note)
    if record.status == "xfail":
        pytest.xfail(record.note)
    assert record.status in ("passed", "xpass"), (
        f"{check_id} ({record.cites}) {record.status}: worst error {record.worst_error:.3g} > "
        f"{record.threshold:.3g}; {record.note}\n{record.counterexample}")
