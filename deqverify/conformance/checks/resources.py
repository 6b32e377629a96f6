"""Resources: a DEQ layer's cost must be linear in the batch (every sample is an independent
scalar root), and its memory a small multiple of the input. Dense n×n Jacobians and stored
per-iteration traces pass every accuracy check and fail here.

Measured inside the worker process, so a runaway implementation is stopped by the timeout.
"""

from __future__ import annotations

import math
import time
import tracemalloc

from deqverify.conformance.checks.base import Check, problem, smooth

TIME_SIZES = (2_000, 4_000, 8_000, 16_000)
"""n and 8n with two steps between: a dense n×n solve costs ~n³/3 flops (16 000: ~1.4e12),
so doubling stops early (after at least two sizes) once a call takes more than
:data:`TIME_BUDGET` seconds."""
TIME_BUDGET = 1.0
MAX_EXPONENT = 1.3
"""Cost exponent log(t(8n)/t(n))/log 8 above which the cost is super-linear. Linear work
with a fixed overhead gives ≤ 1; 1.3 leaves room for cache effects. t is the CPU time of the
worker process (all its threads), so other processes on a shared machine do not inflate it."""
MEMORY_ROWS, MEMORY_DIM = 100_000, 10
MEMORY_BUDGET = 10.0
"""Seconds one memory-measurement call may take, extrapolated linearly from the timings: a
slow implementation is measured on fewer rows (never fewer than the largest timed n)."""
MEMORY_FACTOR, MEMORY_ALLOWANCE = 8.0, 32 * 2**20
"""Peak extra memory of one call ≤ 8·bytes(X) + 32 MiB: a handful of (n,) work arrays and
an interpreter's fixed overhead pass; traces of ~100 iterations ((n, iterations) floats) or
any n×n matrix do not."""


def _rss_high_water() -> int | None:
    """Reset and read the process's peak resident set (Linux); None where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return _status_field("VmHWM")
    except OSError:
        return None


def _status_field(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(field)


def peak_extra_bytes(call) -> int:
    """Peak memory a call adds on top of what the process held before it: the larger of
    the resident-set high-water mark (all allocators, Linux) and tracemalloc's peak (Python
    and numpy allocations, everywhere)."""
    rss_before = _rss_high_water()
    tracemalloc.start()
    try:
        call()
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rss = 0 if rss_before is None else _status_field("VmHWM") - rss_before
    return max(traced, rss)


def _seconds(call, repeats: int = 3) -> float:
    """Best of ``repeats`` timed calls after a warm-up (JIT compilation and caches are not
    the cost of a batch); after a warm-up slower than :data:`TIME_BUDGET`, one timed call."""
    start = time.process_time()
    call()
    if time.process_time() - start > TIME_BUDGET:
        repeats = 1
    times = []
    for _ in range(repeats):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return min(times)


class Resources(Check):
    id, cites, threshold = "resources", "—", 1.0

    def run(self, h):
        """The cost exponent in n (fixed point + gradient, n = 2000 → 16 000, d = 10) must be
        ≤ 1.3, and the peak extra memory of one call at n = 10⁵ (fewer rows for a slow
        implementation, see :data:`MEMORY_BUDGET`) ≤ 8·bytes(X) + 32 MiB. The score is the
        larger of exponent/1.3 and memory/allowance (≤ 1 passes)."""
        if not smooth(h):
            return self.skip("no smooth activation declared")
        activation = smooth(h)[0]
        impl = h.impl

        def both(theta, X, targets):
            def call():
                impl.fixed_point(theta.copy(), X.copy(), activation)
                impl.risk_gradient(theta.copy(), X.copy(), targets.copy(), activation)
            return call

        measured = []
        for n in TIME_SIZES:
            seconds = _seconds(both(*problem(activation, 0.5, n=n, d=MEMORY_DIM)))
            measured.append((n, seconds))
            h.note(f"n={n}: {seconds * 1e3:.3g} ms")
            if seconds > TIME_BUDGET and len(measured) >= 2:
                break
        (n0, t0), (n1, t1) = measured[0], measured[-1]
        exponent = math.log(max(t1, 1e-9) / max(t0, 1e-9)) / math.log(n1 / n0)
        notes = [f"time exponent {exponent:.2f} (n {n0}→{n1}: {t0 * 1e3:.3g} → {t1 * 1e3:.3g} ms)"]
        score = exponent / MAX_EXPONENT
        if exponent <= MAX_EXPONENT:  # only a linear implementation is given 10⁵ rows
            rows = int(min(MEMORY_ROWS, max(n1, n1 * MEMORY_BUDGET / max(t1, 1e-9))))
            theta, X, targets = problem(activation, 0.5, n=rows, d=MEMORY_DIM)
            both(theta, X, targets)()  # warm-up at this shape
            calls = {"fixed_point": lambda: impl.fixed_point(theta, X, activation),
                     "risk_gradient": lambda: impl.risk_gradient(theta, X, targets, activation)}
            allowance = MEMORY_FACTOR * X.nbytes + MEMORY_ALLOWANCE
            for label, call in calls.items():
                extra = peak_extra_bytes(call)
                notes.append(f"{label} peak +{extra / 2**20:.1f} MiB = {extra / X.nbytes:.2f}×X (n={rows})")
                score = max(score, extra / allowance)
        return self.result(score, "; ".join(notes) + f" (allowed: exponent ≤ {MAX_EXPONENT}, "
                           f"memory ≤ {MEMORY_FACTOR:g}·X + {MEMORY_ALLOWANCE // 2**20} MiB)")
