"""Run the battery with crash and hang isolation.

Checks run in a worker process; a check that raises becomes an ``error`` record, one that
exceeds its timeout or kills the worker becomes a ``failed`` record ("timeout"/"crashed")
and the worker is restarted — the run itself never crashes. A name or ``module:object``
spec is loaded inside a fresh (spawned) worker; an object is handed to a forked one.
"""

from __future__ import annotations

import multiprocessing
import traceback

from .checks import CHECKS, CheckResult
from .loader import load_implementation

DEFAULT_TIMEOUT = 300.0


def _serve(spec, connection):
    try:
        impl = load_implementation(spec)
        name = spec if isinstance(spec, str) else getattr(impl, "name", type(impl).__name__)
        connection.send(("ready", None))
    except Exception:  # noqa: BLE001 - reported to the parent
        connection.send(("load-error", traceback.format_exc()))
        return
    while True:
        check_id = connection.recv()
        if check_id is None:
            return
        try:
            result = CHECKS[check_id].run(impl, name)
        except Exception as error:  # noqa: BLE001 - an implementation error is a result
            result = CheckResult(check_id, CHECKS[check_id].cites, "error",
                                 note=f"{type(error).__name__}: {error}".splitlines()[0][:300])
        connection.send(("result", result.to_dict()))


class _Worker:
    def __init__(self, spec):
        context = multiprocessing.get_context("spawn" if isinstance(spec, str) else "fork")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(spec, child), daemon=True)
        self.process.start()
        kind, payload = self.connection.recv()
        if kind != "ready":
            self.stop()
            raise RuntimeError(f"could not load the implementation:\n{payload}")

    def run(self, check_id, timeout):
        self.connection.send(check_id)
        if not self.connection.poll(timeout):
            return None, f"timeout after {timeout:g} s"
        try:
            _, payload = self.connection.recv()
        except EOFError:
            return None, f"crashed (worker exit code {self.process.exitcode})"
        return CheckResult(**payload), ""

    def stop(self):
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


def run_checks(spec, check_ids=None, timeout: float = DEFAULT_TIMEOUT) -> list[CheckResult]:
    """Run the named checks (default: all) against ``spec``; never raises for a bad impl."""
    results = []
    worker = _Worker(spec)
    try:
        for check_id in check_ids or list(CHECKS):
            result, problem = worker.run(check_id, timeout)
            if result is None:
                worker.stop()
                result = CheckResult(check_id, CHECKS[check_id].cites, "failed", note=problem)
                worker = _Worker(spec)
            results.append(result)
    finally:
        worker.connection.send(None) if worker.process.is_alive() else None
        worker.stop()
    return results
