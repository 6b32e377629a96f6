"""pytest plugin: ``pytest --deq-impl IMPL [--deq-expected-failures FILE]`` runs the
conformance battery as one test per check (registered through the ``pytest11`` entry point).
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("deqverify")
    group.addoption("--deq-impl", help="DEQ implementation to check (name or module:object)")
    group.addoption("--deq-expected-failures", help="file of check ids allowed to fail")
    group.addoption("--deq-timeout", type=float, default=None,
                    help="seconds per check (default: deqverify.conformance.DEFAULT_TIMEOUT)")


def pytest_load_initial_conftests(early_config, parser, args):
    """With --deq-impl, collect the battery module too (it is inside the package)."""
    if any(arg == "--deq-impl" or arg.startswith("--deq-impl=") for arg in args):
        args.append(str(Path(__file__).with_name("battery.py")))


@pytest.fixture(scope="session")
def deq_report(request):
    from deqverify.conformance import (
        DEFAULT_TIMEOUT,
        check_implementation,
        read_expected_failures,
    )
    from deqverify.core.errors import DEQError

    spec = request.config.getoption("--deq-impl")
    expected_path = request.config.getoption("--deq-expected-failures")
    timeout = request.config.getoption("--deq-timeout") or DEFAULT_TIMEOUT
    try:
        expected = read_expected_failures(expected_path) if expected_path else {}
        return check_implementation(spec, expected, timeout=timeout)
    except DEQError as error:
        pytest.exit(f"deqverify: {error}", returncode=pytest.ExitCode.USAGE_ERROR)
