"""Conformance: the deqverify battery run against any DEQ implementation.

>>> from deqverify.conformance import check_implementation
>>> report = check_implementation("builtin")          # doctest: +SKIP
>>> report.exit_code                                  # doctest: +SKIP
0
"""

from __future__ import annotations

from deqverify.conformance.checks import CHECKS, CheckResult
from deqverify.conformance.loader import ADAPTERS, LoadError, load_implementation
from deqverify.conformance.protocol import Capabilities
from deqverify.conformance.report import Report, read_expected_failures
from deqverify.conformance.runner import DEFAULT_TIMEOUT, run_checks


def check_implementation(impl, expected_failures: dict | None = None, checks=None,
                         timeout: float = DEFAULT_TIMEOUT) -> Report:
    """Run the battery on ``impl`` (a name, ``module:object`` or an object) → :class:`Report`.

    Raises :class:`LoadError` if the implementation cannot be loaded, or if an
    expected-failure id names no check.
    """
    name = impl if isinstance(impl, str) else getattr(impl, "name", type(impl).__name__)
    return Report(name, run_checks(impl, checks, timeout), dict(expected_failures or {}))


__all__ = ["ADAPTERS", "CHECKS", "Capabilities", "CheckResult", "LoadError", "Report",
           "check_implementation", "load_implementation", "read_expected_failures", "run_checks"]
