"""Ctrl-C and SIGTERM during a run on 2 worker processes: the process exits 130 within 2 s
with what finished reported, and no worker survives it — whichever way the signal arrives
(to the whole process group as a terminal sends it, to the main process alone, or SIGTERM)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                                reason="needs /proc/PID/task/PID/children (Linux) to see the workers")

EXIT_WITHIN = 2.0
"""Seconds from the signal to the exit of the main process and of every worker."""
WORKERS_START_WITHIN = 120.0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _live_interrupts():
    """In the child, before exec: SIGINT and SIGTERM at their defaults, as in a terminal. A test
    run launched in the background (``cmd &`` without job control) inherits SIGINT ignored, and
    Python keeps an ignored SIGINT ignored, so Ctrl-C would never reach the run under test."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start(command):
    process = subprocess.Popen([sys.executable, "-m", "deqverify", *command, "--workers", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=_live_interrupts)
    deadline = time.monotonic() + WORKERS_START_WITHIN
    while time.monotonic() < deadline:
        workers = [c for c in _children(process.pid) if _alive(c)]
        if len(workers) >= 2:
            time.sleep(1.0)  # the workers are importing and running cells
            return process, workers
        time.sleep(0.1)
    process.kill()
    pytest.fail("the two workers never started")


@pytest.mark.parametrize("command", [["verify"], ["fuzz", "--matrix", "--out", "{tmp}"]], ids=["verify", "matrix"])
@pytest.mark.parametrize("how", ["group-sigint", "main-sigint", "main-sigterm"])
def test_an_interrupt_stops_every_worker_and_exits_130(command, how, tmp_path):
    command = [part.replace("{tmp}", str(tmp_path)) for part in command]
    process, workers = _start(command)
    signalled = time.monotonic()
    if how == "group-sigint":
        os.killpg(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, signal.SIGINT if how == "main-sigint" else signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=EXIT_WITHIN + 30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"still running 30 s after {how}")
    exited = time.monotonic() - signalled
    while any(_alive(w) for w in workers) and time.monotonic() - signalled < EXIT_WITHIN:
        time.sleep(0.05)
    survivors = [w for w in workers if _alive(w)]
    for worker in survivors:
        os.kill(worker, signal.SIGKILL)
    assert process.returncode == 130, (process.returncode, err[-2000:])
    assert exited <= EXIT_WITHIN, f"exited {exited:.1f} s after {how}"
    assert not survivors, f"workers {survivors} outlived the main process"
    assert "interrupted:" in out and "Traceback" not in err, err[-2000:]
