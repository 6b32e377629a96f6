"""Run the battery in a worker process, so that nothing an implementation does can hang or
crash the checker.

* Loading (import and construction) happens in the worker under the same timeout as a
  check. An exception while loading is a usage error (:class:`LoadError`, exit 2); a worker
  that hangs or dies while loading turns every check into a failed record.
* A check that raises becomes an ``error`` record with the exception's cause; one that
  exceeds its timeout or kills the worker becomes a ``failed`` record ("timeout"/"crashed")
  that keeps the notes the check sent before, and the worker is restarted.
* The implementation's stdout and stderr (file descriptors 1 and 2, so C libraries too) go
  to a file, and each record carries the tail of what was written during its check.
* ``protocol`` runs first; when it does not pass, the other checks are reported skipped.

A name or ``module:object`` spec is loaded in a fresh (spawned) worker; an object is handed
to a forked one.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import re
import sys
import tempfile
import time

from deqverify.conformance.calls import Harness, describe_exception
from deqverify.conformance.checks import CHECKS, CheckResult
from deqverify.conformance.loader import LoadError, load_implementation
from deqverify.conformance.protocol import ProtocolViolation, declared_families

DEFAULT_TIMEOUT = 15.0
"""Seconds without progress after which a check (or loading) is a hang. The built-in solver
needs under 3 s for the slowest check; an implementation that hangs in every call gets its
report within five minutes."""
PROGRESS_CPU_FRACTION = 0.1
"""A window of ``timeout`` seconds counts as progress when the worker used at least this
fraction of it in CPU time (all threads) or sent a note: a hang (sleeping, waiting on a lock
or a pipe) uses none, a slow computation uses close to one core."""
BUDGET_FACTOR = 20
"""A check that keeps computing is given up to 20 windows (5 minutes at the default) and the
record says how long it took; past that it fails as "still computing" (an endless loop)."""
OUTPUT_TAIL = 2000  # characters of captured output kept per record
_POLL = 0.05


def _redirect_output(path: str) -> None:
    """File descriptors 1 and 2 and Python's sys.stdout/sys.stderr (which a forked worker
    would otherwise share with the parent's capture) all go to ``path``."""
    handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    os.close(handle)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives with the worker
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    faulthandler.enable(sys.stderr)  # a crash's traceback lands in the record, not the report


def _serve(spec, connection, output_path):
    _redirect_output(output_path)
    try:
        impl = load_implementation(spec)
        name = spec if isinstance(spec, str) else getattr(impl, "name", type(impl).__name__)
    except LoadError as error:
        connection.send(("load-error", str(error)))
        return
    except Exception as error:  # noqa: BLE001 - reported to the parent as a load error
        connection.send(("load-error", f"{type(error).__name__}: {error}".splitlines()[0]))
        return
    connection.send(("ready", name))
    families = declared_families(impl)
    # every harness of this worker records into one list, so ``no-mutation`` also reports a
    # change made during an earlier check (a layer that edits its own parameters does it once)
    mutations = []
    while True:
        check_id = connection.recv()
        if check_id is None:
            return
        check = CHECKS[check_id]
        harness = Harness(impl, name, progress=lambda text: connection.send(("note", text)),
                          mutations=mutations)
        try:
            if check.family != "any" and check.family not in families:
                result = check.skip(f"the {check.family} protocol is not declared")
            else:
                result = check.run(harness)
                result.metrics = {**harness.metrics, **result.metrics}
        except ProtocolViolation as violation:
            result = CheckResult(check_id, check.cites, "failed", float("inf"), check.threshold,
                                 note=f"protocol violation: {violation}")
        except Exception as error:  # noqa: BLE001 - an implementation error is a result
            result = CheckResult(check_id, check.cites, "error", float("inf"), check.threshold,
                                 note=describe_exception(error))
        sys.stdout.flush()
        sys.stderr.flush()
        connection.send(("result", result.to_dict()))


class WorkerLost(Exception):
    """The worker hung or died; the message says which."""


class _NoAnswer(WorkerLost):
    """No message within the window (the caller decides whether that is a hang)."""


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, all threads) of a process, from /proc (Linux); None elsewhere,
    where the window is a plain timeout."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class _Worker:
    def __init__(self, spec, timeout: float, output_path: str):
        context = multiprocessing.get_context("spawn" if isinstance(spec, str) else "fork")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(spec, child, output_path), daemon=True)
        self.process.start()
        child.close()
        try:
            kind, payload, _ = self.await_message(timeout, "while loading")
        except WorkerLost:
            self.stop()
            raise
        if kind == "load-error":
            self.stop()
            raise LoadError(f"cannot load {spec!r}: {payload}")
        self.name = payload

    def receive(self, deadline: float, timeout: float, stage: str):
        """The next message before ``deadline``, or :class:`WorkerLost` on timeout or death."""
        while True:
            if self.connection.poll(_POLL):
                try:
                    return self.connection.recv()
                except (EOFError, OSError):
                    break
            if not self.process.is_alive() and not self.connection.poll(0):
                break
            if time.monotonic() > deadline:
                raise _NoAnswer(f"timeout {stage} (no answer in {timeout:g} s)")
        self.process.join(1)
        raise WorkerLost(f"crashed {stage} (worker exit code {self.process.exitcode})")

    def await_message(self, timeout: float, stage: str, notes=None):
        """The next message that is not a note → (kind, payload, seconds waited). Notes are
        appended to ``notes``. Waits in windows of ``timeout`` seconds: a window in which the
        worker neither sent a note nor used :data:`PROGRESS_CPU_FRACTION` of it in CPU time
        is a hang; a worker that keeps computing gets up to :data:`BUDGET_FACTOR` windows."""
        started = time.monotonic()
        window, cpu = started, _cpu_seconds(self.process.pid)
        while True:
            try:
                kind, payload = self.receive(window + timeout, timeout, stage)
            except _NoAnswer:
                now, used = time.monotonic(), _cpu_seconds(self.process.pid)
                if cpu is None or used is None or used - cpu < PROGRESS_CPU_FRACTION * (now - window):
                    spent = "" if cpu is None or used is None else f", {used - cpu:.2g} s of CPU in the last {now - window:.0f} s"
                    raise WorkerLost(f"timeout {stage} (no progress: no answer in {timeout:g} s{spent})") from None
                kind = None
            if kind not in (None, "note"):
                return kind, payload, time.monotonic() - started
            if kind == "note" and notes is not None:
                notes.append(payload)
            if time.monotonic() - started >= BUDGET_FACTOR * timeout:
                raise WorkerLost(f"timeout {stage} (still computing after {time.monotonic() - started:.0f} s, the "
                                 f"budget of {BUDGET_FACTOR} × {timeout:g} s for a check that keeps computing)")
            window, cpu = time.monotonic(), _cpu_seconds(self.process.pid)

    def run(self, check_id: str, timeout: float):
        """(record dict, "") or (None, reason) with the notes sent before the loss. A record
        that took longer than ``timeout`` (allowed while the worker kept computing) says so."""
        self.connection.send(check_id)
        notes = []
        try:
            _, payload, seconds = self.await_message(timeout, f"in {check_id}", notes)
        except WorkerLost as lost:
            before = f"; before it: {'; '.join(notes)}" if notes else ""
            return None, f"{lost}{before}"
        if seconds > timeout:
            payload["note"] = (payload["note"] + f" [slow: {seconds:.0f} s, more than --timeout {timeout:g} s; "
                               "allowed because it kept computing]").strip()
        return payload, ""

    def stop(self):
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


SITE_PACKAGES = re.compile(r"""[^\s"'(<]*[/\\](?:site|dist)-packages(?=[/\\])""")


def scrub_paths(text: str) -> str:
    """Captured output without this machine's paths, so a stored report names no directory
    of the machine that made it: an installed package's directory becomes ``<site-packages>``,
    the working directory ``.`` and the home directory ``~``."""
    text = SITE_PACKAGES.sub("<site-packages>", text)
    for path, placeholder in ((os.getcwd(), "."), (os.path.expanduser("~"), "~")):
        if len(path) > 1:
            text = text.replace(path, placeholder)
    return text


class _Output:
    """The tail of what the worker wrote since the last read."""

    def __init__(self):
        handle, self.path = tempfile.mkstemp(prefix="deqverify-impl-", suffix=".log")
        os.close(handle)
        self.offset = 0

    def take(self) -> str:
        size = os.path.getsize(self.path)
        start = max(self.offset, size - 4 * OUTPUT_TAIL)  # never read a flood into memory
        with open(self.path, "rb") as handle:
            handle.seek(start)
            data = handle.read(size - start)
        truncated = start > self.offset
        self.offset = size
        text = scrub_paths(data.decode("utf-8", "replace"))
        return "…" + text[-OUTPUT_TAIL:] if truncated or len(text) > OUTPUT_TAIL else text

    def remove(self):
        os.unlink(self.path)


def _ordered(check_ids) -> list[str]:
    ids = list(dict.fromkeys(check_ids or CHECKS))
    return ["protocol"] + [i for i in ids if i != "protocol"]


def run_checks(spec, check_ids=None, timeout: float = DEFAULT_TIMEOUT) -> list[CheckResult]:
    """Run the named checks (default: all; ``protocol`` always first) against ``spec``.

    Raises :class:`LoadError` when the implementation cannot be imported or constructed;
    never raises, hangs or crashes because of what the implementation does otherwise.
    """
    ids = _ordered(check_ids)
    unknown = [i for i in ids if i not in CHECKS]
    if unknown:
        raise LoadError(f"unknown check id(s) {unknown}; known: {list(CHECKS)}")
    output = _Output()
    try:
        return _run(spec, ids, timeout, output)
    finally:
        output.remove()


def _lost(check_id, reason, output="") -> CheckResult:
    check = CHECKS[check_id]
    return CheckResult(check_id, check.cites, "failed", float("inf"), check.threshold,
                       note=reason, output=output)


def _run(spec, ids, timeout, output) -> list[CheckResult]:
    try:
        worker = _Worker(spec, timeout, output.path)
    except WorkerLost as lost:
        text = output.take()
        return [_lost(i, f"implementation {lost}", text) for i in ids]
    results = []
    try:
        for position, check_id in enumerate(ids):
            if results and results[0].status != "passed":
                check = CHECKS[check_id]
                results.append(CheckResult(check_id, check.cites, "skipped",
                                           threshold=check.threshold, note="skipped: protocol"))
                continue
            payload, reason = worker.run(check_id, timeout)
            if payload is None:
                results.append(_lost(check_id, reason, output.take()))
                worker.stop()
                try:
                    worker = _Worker(spec, timeout, output.path)
                except (WorkerLost, LoadError) as lost:
                    results += [_lost(i, f"implementation {lost} on restart") for i in ids[position + 1:]]
                    return results
                continue
            record = CheckResult(**payload)
            record.output = output.take()
            results.append(record)
    finally:
        if worker.process.is_alive():
            worker.connection.send(None)
        worker.stop()
    return results
