"""Which implementation of a kernel runs: the compiled one of the ``[fast]`` extra
(:mod:`deqverify.fast`, numba) where numba imports, the numpy reference otherwise.

``DEQVERIFY_FAST=0`` in the environment switches the compiled path off (read at every call),
and :func:`numpy_only` does so for a block of code (the differential properties compare the
two paths that way). The numpy path is the reference: every compiled kernel has a property
against it, and a caller falls back to it wherever a kernel's precondition does not hold.
"""

from __future__ import annotations

import functools
import os
import types
from contextlib import contextmanager

_SWITCHED_OFF = [False]


@functools.lru_cache(maxsize=1)
def _load():
    try:
        from deqverify.fast import interleaved_lu, scalar_newton
    except ImportError:  # the [fast] extra is not installed
        return None
    return types.SimpleNamespace(
        solve_identity_minus_scaled=interleaved_lu.solve_identity_minus_scaled,
        scalar_risk_sums=scalar_newton.scalar_risk_sums,
        scalar_risk_activations=scalar_newton.ACTIVATIONS)


def available() -> bool:
    """Whether the compiled kernels import here (numba installed)."""
    return _load() is not None


def kernels():
    """The compiled kernels — ``solve_identity_minus_scaled``
    (:mod:`deqverify.fast.interleaved_lu`), ``scalar_risk_sums`` and the
    ``scalar_risk_activations`` it evaluates (:mod:`deqverify.fast.scalar_newton`) — or None:
    numba missing, ``DEQVERIFY_FAST=0``, or inside :func:`numpy_only`."""
    if _SWITCHED_OFF[0] or os.environ.get("DEQVERIFY_FAST", "1").strip() == "0":
        return None
    return _load()


@contextmanager
def numpy_only():
    """Run the enclosed code on the numpy reference path."""
    previous, _SWITCHED_OFF[0] = _SWITCHED_OFF[0], True
    try:
        yield
    finally:
        _SWITCHED_OFF[0] = previous
