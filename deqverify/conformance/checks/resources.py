"""Resources: a DEQ layer's cost must be linear in the batch (every sample is an independent
scalar root), and its memory a small multiple of the input. Dense n×n Jacobians and stored
per-iteration traces pass every accuracy check and fail here.

Measured inside the worker process, so a runaway implementation is stopped by the timeout.
"""

from __future__ import annotations

import ctypes
import gc
import time
import tracemalloc

import numpy as np

from deqverify.conformance.checks.base import Check, problem, smooth

TIME_SIZES = (2_000, 4_000, 8_000, 16_000)
"""n and 8n with two steps between: a dense n×n solve costs ~n³/3 flops (16 000: ~1.4e12),
so doubling stops early (after at least two sizes) once a call takes more than
:data:`TIME_BUDGET` seconds."""
TIME_BUDGET = 1.0
ROUNDS = 5
"""Timed calls per size (after one warm-up), taken in rounds that visit every size in turn,
so a burst of load on a shared machine slows all sizes of a round alike; the minimum per size
is kept. Sizes whose calls take longer than :data:`TIME_BUDGET` are timed once."""
MAX_EXPONENT = 1.5
"""Cost exponent (least-squares slope of log t against log n) above which the cost is
super-linear. Linear work with a fixed overhead gives ≤ 1; the cheapest super-linear defect is
quadratic (an n×n matrix formed or applied: exponent 2), so the threshold is the midpoint:
a factor 8^0.5 ≈ 2.8 of timing error at n → 8n on either side before a verdict flips. t is the
CPU time of the worker process (all its threads), so other processes do not inflate it."""
RESOLVABLE_SECONDS, EXTRA_DOUBLINGS = 0.05, 3
"""A series whose largest call takes under 50 ms is continued (doubling n, at most 3 more
sizes): below that a fixed per-call overhead (dispatch, a JIT cache lookup, ~1–10 ms) hides the
cost in n, and the fitted exponent says more about the overhead than about the cost."""
OVERHEAD_EXPONENT = 0.5
"""A fitted exponent below this (negative ones included) cannot come from work that grows
with n; it means a fixed overhead or noise dominates, and the note says the cost in n was not
resolved rather than reporting it as a measurement."""
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


def memory_caveat() -> str | None:
    """What a memory reading here cannot see, for the check's note (None on Linux, where the
    resident set is read): without it only tracemalloc counts, which misses native
    allocations (torch, JAX, C extensions)."""
    if _rss_high_water() is not None:
        return None
    return ("resident set not readable here (no /proc/self/clear_refs): only Python and numpy "
            "allocations were counted, not native ones (torch, JAX)")


def _status_field(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(field)


def _release_free_memory() -> None:
    """Hand back to the OS the memory that earlier calls freed but the C allocator kept
    (glibc's ``malloc_trim``; a no-op where there is none). Without it a call reuses what a
    previous one freed — torch's intra-op threads leave tens of MiB in their malloc arenas —
    and its resident-set growth reads as zero (measured: torchdeq's gradient +0.0 MiB right
    after a fixed-point call, +118 MiB after a trim)."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


M_MMAP_THRESHOLD, MAPPED_BUFFER_BYTES = -3, 128 * 1024
"""glibc's ``mallopt`` parameter and the size from which every buffer is mapped by itself."""


def _map_large_buffers() -> None:
    """Fix glibc's mmap threshold at 128 KiB (for the rest of the worker's life): every buffer
    of that size or more is then mapped on allocation and unmapped on free, so the resident
    set follows the large buffers that are live. By default the threshold rises to the size
    of the largest buffer freed, later ones come from the heap, and a solve that allocates
    and frees temporaries each iteration fragments it: measured on torchdeq's forward at
    n = 4096, a peak that rose by 0–1.0 states per extra iteration from reading to reading
    rose by 0.10–0.25 with the threshold fixed. A no-op where there is no glibc."""
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MAPPED_BUFFER_BYTES)
    except (OSError, AttributeError):
        pass


def peak_extra_bytes(call, readings: int = 1) -> int:
    """Peak memory a call adds on top of what the process held before it: the larger of
    tracemalloc's peak over one call (Python and numpy allocations, everywhere) and the
    smallest rise of the resident-set high-water mark (all allocators, Linux; each measured
    from a trimmed heap, see :func:`_release_free_memory`) over ``readings`` further calls
    run without tracemalloc.

    The two are never read in the same call: tracing interleaves its own small allocations
    with a native library's large buffers and fragments the C heap, so the resident set grows
    with the work done rather than with what is kept (measured: torchdeq's forward at
    n = 4096 rose by 1.4 states per extra iteration with tracing on, 0–0.3 with it off). The
    smallest of several rises is kept because allocator arenas only ever add to a reading."""
    _release_free_memory()
    tracemalloc.start()
    try:
        call()
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rises = []
    _map_large_buffers()
    for _ in range(readings):
        _release_free_memory()
        rss_before = _rss_high_water()
        if rss_before is None:  # no resident-set reading here: tracemalloc's peak alone
            break
        call()
        rises.append(_status_field("VmHWM") - rss_before)
    return max(traced, min(rises, default=0))


def _timed(call) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


def cost_exponent(call_at, sizes, progress, budget: float = TIME_BUDGET,
                  deadline: float = float("inf")) -> tuple[float, list[tuple[int, float]]]:
    """Cost exponent of ``call_at(n)()`` over ``sizes`` → (exponent, [(n, seconds)]).

    Sizes are visited in increasing order, each with a warm-up call (JIT compilation and
    caches are not the cost of a batch), until a call takes more than ``budget`` seconds
    (:data:`TIME_BUDGET`; at least two sizes). Then up to :data:`ROUNDS` rounds time each size
    once more, while a round costs at most ``budget`` and the rounds so far took less than
    ``deadline`` seconds of wall time (so the check ends within its runner's timeout); seconds
    are the minimum per size, and the exponent is the least-squares slope of log(seconds)
    against log(n). A series whose largest call is under :data:`RESOLVABLE_SECONDS` is
    continued to larger n. ``progress(text)`` is told each first timing (a timeout's report
    then shows how far the series got)."""
    calls, best = [], []
    extra = [sizes[-1] * 2 ** (i + 1) for i in range(EXTRA_DOUBLINGS)]
    for n in (*sizes, *extra):
        if n in extra and best[-1] >= RESOLVABLE_SECONDS:
            break
        call = call_at(n)
        _timed(call)
        calls.append((n, call))
        best.append(_timed(call))
        progress(f"n={n}: {best[-1] * 1e3:.3g} ms")
        if best[-1] > budget and len(calls) >= 2:
            break
    started = time.monotonic()
    for _ in range(ROUNDS - 1):
        # two sizes (slow calls) are never judged from one timing each: their rounds run
        # whatever they cost, within the deadline
        if (sum(best) > budget and len(calls) > 2) or time.monotonic() - started > deadline:
            break
        best = [min(seconds, _timed(call)) for seconds, (_, call) in zip(best, calls)]
    measured = [(n, seconds) for (n, _), seconds in zip(calls, best)]
    logs = np.log([[n, max(seconds, 1e-9)] for n, seconds in measured])
    exponent = float(np.polyfit(logs[:, 0], logs[:, 1], 1)[0])
    return exponent, measured


def exponent_spread(measured) -> float | None:
    """Twice the standard error of the fitted slope (None from two sizes: no estimate)."""
    if len(measured) < 3:
        return None
    logs = np.log([[n, max(seconds, 1e-9)] for n, seconds in measured])
    x, y = logs[:, 0] - logs[:, 0].mean(), logs[:, 1]
    slope = (x @ y) / (x @ x)
    residuals = y - y.mean() - slope * x
    return float(2.0 * np.sqrt(residuals @ residuals / (len(measured) - 2) / (x @ x)))


def judged_exponent(exponent: float, measured) -> float:
    """The exponent a verdict rests on: the lower end of its 2-s.e. interval where the fit
    gives one (super-linear cost must be shown with that confidence, not suggested by noise),
    the fitted value from two sizes."""
    spread = exponent_spread(measured)
    return exponent if spread is None else exponent - spread


def exponent_note(exponent: float, measured) -> str:
    """The exponent with its spread, and what it cannot say: from two sizes there is no error
    estimate; below :data:`OVERHEAD_EXPONENT` the cost in n was not resolved."""
    (n0, t0), (n1, t1) = measured[0], measured[-1]
    spread = exponent_spread(measured)
    text = (f"time exponent {exponent:.2f}" + ("" if spread is None else f" ± {spread:.2f} (2 s.e.)")
            + f" (n {n0}→{n1}, {len(measured)} sizes: {t0 * 1e3:.3g} → {t1 * 1e3:.3g} ms)")
    if spread is None:
        text += "; from two sizes only (the calls are slow): no error estimate"
    if exponent < OVERHEAD_EXPONENT:
        text += ("; the cost in n is not resolved (a fixed per-call overhead or noise dominates "
                 "these timings): this reading cannot show super-linear cost")
    return text


class Resources(Check):
    id, cites, threshold = "resources", "—", 1.0

    def run(self, h):
        """The cost exponent in n (fixed point + gradient, n = 2000 → 16 000, d = 10; see
        :func:`cost_exponent`; judged by :func:`judged_exponent`) must be ≤ 1.5, and the
        peak extra memory of one call at n = 10⁵ (fewer rows for a slow implementation, see
        :data:`MEMORY_BUDGET`) ≤ 8·bytes(X) + 32 MiB. The score is the larger of
        exponent/1.5 and memory/allowance (≤ 1 passes)."""
        if not smooth(h):
            return self.skip("no smooth activation declared")
        activation = smooth(h)[0]
        impl = h.impl

        def both(theta, X, targets):
            def call():
                impl.fixed_point(theta.copy(), X.copy(), activation)
                impl.risk_gradient(theta.copy(), X.copy(), targets.copy(), activation)
            return call

        exponent, measured = cost_exponent(
            lambda n: both(*problem(activation, 0.5, n=n, d=MEMORY_DIM)), TIME_SIZES, h.note)
        n1, t1 = measured[-1]
        notes = [exponent_note(exponent, measured)]
        score = judged_exponent(exponent, measured) / MAX_EXPONENT
        if score <= 1.0:  # only a linear implementation is given 10⁵ rows
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
            notes.append(memory_caveat())
        notes = [note for note in notes if note]
        return self.result(score, "; ".join(notes) + f" (allowed: exponent ≤ {MAX_EXPONENT}, "
                           f"memory ≤ {MEMORY_FACTOR:g}·X + {MEMORY_ALLOWANCE // 2**20} MiB)")
