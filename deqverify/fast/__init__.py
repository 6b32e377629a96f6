"""Compiled kernels (the optional ``[fast]`` extra, numba). Never the only implementation of
anything: each kernel has a numpy reference in :mod:`deqverify.core`, which
:mod:`deqverify.core.compiled` falls back to, and a differential property against it
(``properties/test_fast_kernels.py``)."""
