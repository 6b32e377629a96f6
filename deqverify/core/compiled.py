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
from contextlib import contextmanager

_SWITCHED_OFF = [False]


@functools.lru_cache(maxsize=1)
def _load():
    try:
        from deqverify.fast import interleaved_lu
    except ImportError:  # the [fast] extra is not installed
        return None
    return interleaved_lu


def available() -> bool:
    """Whether the compiled kernels import here (numba installed)."""
    return _load() is not None


def kernels():
    """The compiled kernel module, or None: numba missing, ``DEQVERIFY_FAST=0``, or inside
    :func:`numpy_only`."""
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
