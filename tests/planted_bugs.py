"""Implementations with planted bugs and hostile behaviour, for the conformance meta-tests.

Each class names the defect it plants; ``tests/test_conformance.py`` maps each one to the
check that must fail on it. Defects found in real libraries are marked "(seen in …)".
"""

import ctypes
import os
import signal
import sys
import threading
import time

import numpy as np

from deqverify.conformance.adapters.builtin import BuiltinImplementation
from deqverify.conformance.protocol import Capabilities
from deqverify.core.activations import get_activation


class Correct(BuiltinImplementation):
    name = "correct"


class JacobianFreeGradient(BuiltinImplementation):
    """Correct forward pass; backward drops 1/(1 − θ₂σ') (Jacobian-free backprop)."""

    name = "planted-jfb"

    def risk_gradient(self, theta, X, targets, activation):
        y = self.fixed_point(theta, X, activation)
        slope = get_activation(activation).df(X @ theta[:-1] + theta[-1] * y)
        weights = 2 * (y - targets) * slope / len(y)
        return np.r_[weights @ X, weights @ y]


class LooseSolverClaimsSuccess(BuiltinImplementation):
    """Picard for 15 steps at tolerance 1e-2, reporting every sample as converged."""

    name = "planted-loose"

    def fixed_point_status(self, theta, X, activation):
        sigma = get_activation(activation).f
        a = X @ theta[:-1]
        y = sigma(a)
        for _ in range(15):
            y_next = sigma(a + theta[-1] * y)
            if np.max(np.abs(y_next - y)) < 1e-2:
                break
            y = y_next
        return y_next, np.ones_like(y_next, dtype=bool)


class BatchLevelFailure(BuiltinImplementation):
    """Picard with one batch-wide stopping test: if any sample does not converge in 200
    steps, the whole batch is returned as NaN (one sample's failure corrupts the rest)."""

    name = "planted-batch"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        sigma = get_activation(activation).f
        a = X @ theta[:-1]
        y = sigma(a)
        for _ in range(200):
            y_next = sigma(a + theta[-1] * y)
            if np.max(np.abs(y_next - y)) < 1e-13:
                return y_next
            y = y_next
        return np.full_like(y, np.nan)


class RepellingRoot(BuiltinImplementation):
    """Finds every root on a grid and returns the one with the largest gain θ₂σ'(u): for a
    well-posed θ₂ there is only one root (correct), for θ₂L > 1 it picks the repelling one
    (seen in a library's Newton solver started from 0, on many multi-root samples)."""

    name = "planted-repelling"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        if theta[-1] * get_activation(activation).lipschitz < 1:
            return super().fixed_point(theta, X, activation)
        act = get_activation(activation)
        grid = np.linspace(-2, 60, 62_001)
        out = []
        for a in X @ theta[:-1]:
            g = grid - act.f(a + theta[-1] * grid)
            roots = grid[:-1][np.sign(g[:-1]) != np.sign(g[1:])]
            gains = theta[-1] * act.df(a + theta[-1] * roots)
            out.append(roots[np.argmax(gains)] if roots.size else np.nan)
        y = np.array(out)
        for _ in range(60):  # polish each root by Newton (it stays on the chosen branch)
            u = X @ theta[:-1] + theta[-1] * y
            y = y - (y - act.f(u)) / (1 - theta[-1] * act.df(u))
        return y


class StartsAtRepellingZero(BuiltinImplementation):
    """Not scored as a bug: fixed-point iteration from y = σ(a) where θ₂L ≥ 1. It reaches a
    stable root everywhere except tanh at a = 0, where the start y = 0 is itself an exact,
    repelling root and no step is taken."""

    name = "starts-at-zero"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        act = get_activation(activation)
        if theta[-1] * act.lipschitz < 1:
            return super().fixed_point(theta, X, activation)
        a = X @ theta[:-1]
        y = act.f(a)
        for _ in range(5_000):
            y = act.f(a + theta[-1] * y)
        return y


class IteratesLinear(BuiltinImplementation):
    """Not a bug: solves the linear DEQ by fixed-point iteration and returns NaN (a flag)
    where it diverges (|θ₂| > 1, although the root is unique), gradients too."""

    name = "iterates-linear"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        if activation == "identity" and abs(theta[-1]) >= 1:
            return np.full(X.shape[0], np.nan)
        return super().fixed_point(theta, X, activation)

    def risk_gradient(self, theta, X, targets, activation):
        if activation == "identity" and abs(theta[-1]) >= 1:
            return np.full(theta.size, np.nan)
        return super().risk_gradient(theta, X, targets, activation)


class FiniteGradientOfFlaggedForward(BuiltinImplementation):
    """The forward flags (NaN) where |θ₂σ'| can exceed 1 (θ₂L < −1), yet the backward
    returns finite numbers there, 50 % off (seen in a tutorial layer whose backward iterates
    from a flagged state)."""

    name = "planted-flagged-forward"
    capabilities = Capabilities(reports_status=False)

    @staticmethod
    def _steep(theta, activation):
        return theta[-1] * get_activation(activation).lipschitz < -1

    def fixed_point(self, theta, X, activation):
        if self._steep(theta, activation):
            return np.full(X.shape[0], np.nan)
        return super().fixed_point(theta, X, activation)

    def risk_gradient(self, theta, X, targets, activation):
        gradient = super().risk_gradient(theta, X, targets, activation)
        return 1.5 * gradient if self._steep(theta, activation) else gradient


class EarlyConvergedOverwritten(BuiltinImplementation):
    """A batch solver that recycles a work buffer: samples that converged in the first
    iterations (saturated ones, |θ₁ᵀx| > 2) are overwritten with NaN once the batch exceeds
    512 rows (seen at n ≈ 1000 with tight tolerances)."""

    name = "planted-overwrite"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        y = super().fixed_point(theta, X, activation)
        if len(y) > 512:
            y = np.where(np.abs(X @ theta[:-1]) > 2.0, np.nan, y)
        return y


class IterativeBackward(BuiltinImplementation):
    """Backward pass solved by fixed-point iteration w ← g + θ₂σ'(u)·w for 100 steps: silently
    diverges where |θ₂σ'(u)| > 1 although the root is unique (seen in two libraries)."""

    name = "planted-iterative-backward"

    def risk_gradient(self, theta, X, targets, activation):
        act = get_activation(activation)
        y = self.fixed_point(theta, X, activation)
        slope = act.df(X @ theta[:-1] + theta[-1] * y)
        weights = np.zeros_like(y)
        for _ in range(100):
            with np.errstate(over="ignore", invalid="ignore"):
                weights = 2 * (y - targets) / len(y) + theta[-1] * slope * weights
        weights = np.nan_to_num(weights * slope, nan=1e300, posinf=1e300, neginf=-1e300)
        return np.r_[weights @ X, weights @ y]


class BatchWideStopping(BuiltinImplementation):
    """Not a bug: fixed-point iteration with one batch-wide stopping test (max residual over
    the batch ≤ 1e-11), the usual loop of a batched library. At θ₂L = 0.99 every answer is
    within 1e-11/(1 − 0.99) = 1e-9 of its root, but a hard row appended to the batch buys
    every other row more steps, so their answers move by up to ~1e-9 (a rule judging changes
    against a fixed 1e-12 failed this honest solver)."""

    name = "batch-wide-stopping"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        act = get_activation(activation)
        a = X @ theta[:-1]
        y, rows = act.f(a), np.isfinite(a)  # a NaN row stays NaN and is left out of the test
        for _ in range(20_000):
            y_next = act.f(a + theta[-1] * y)
            if np.max(np.abs(y_next - y)[rows], initial=0.0) <= 1e-11:
                return y_next
            y = y_next
        return np.full_like(y, np.nan)


class BatchAnderson(BuiltinImplementation):
    """Anderson(1) mixing that treats the n samples as one vector (one mixing coefficient
    for the whole batch), stopping on the batch norm: fine on uniform batches, wrong when
    easy and near-edge samples are mixed (seen in a library)."""

    name = "planted-batch-anderson"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        sigma = get_activation(activation).f
        a = X @ theta[:-1]
        y = sigma(a)
        g_old = y_old = None
        for _ in range(500):
            g = sigma(a + theta[-1] * y) - y
            if np.linalg.norm(g) / np.sqrt(len(y)) < 1e-11:
                break
            if g_old is None:
                y_new = y + g
            else:
                dg = g - g_old
                gamma = (g @ dg) / max(dg @ dg, 1e-300)
                y_new = y + g - gamma * (y - y_old + dg)
            g_old, y_old, y = g, y, y_new
        return y


class StoresTraces(BuiltinImplementation):
    """Keeps every iterate of a 300-step Picard solve ((n, 300) floats; seen in a library
    that keeps per-iteration traces: several GB at n = 10⁵)."""

    name = "planted-traces"

    def fixed_point(self, theta, X, activation):
        sigma = get_activation(activation).f
        a = X @ theta[:-1]
        trace = np.empty((len(a), 300))
        trace[:, 0] = sigma(a)
        for k in range(1, 300):
            trace[:, k] = sigma(a + theta[-1] * trace[:, k - 1])
        return super().fixed_point(theta, X, activation) + 0 * trace[:, -1]


class DenseJacobian(BuiltinImplementation):
    """Gradient through the batch Jacobian I − diag(θ₂σ') formed densely (n×n) and solved
    with LAPACK: exact, but O(n²) memory and O(n³) time."""

    name = "planted-dense"

    def risk_gradient(self, theta, X, targets, activation):
        y = self.fixed_point(theta, X, activation)
        slope = get_activation(activation).df(X @ theta[:-1] + theta[-1] * y)
        system = np.eye(len(y)) - np.diag(theta[-1] * slope)
        weights = np.linalg.solve(system.T, 2 * (y - targets) / len(y)) * slope
        return np.r_[weights @ X, weights @ y]


class BlockDiagonalProduct(BuiltinImplementation):
    """Divides the adjoint by the diagonal I − θ₂σ' applied as 256-row blocks of an n×n
    matrix (never stored whole): exact, 256·n floats of extra memory, but O(n²) time — the
    smallest super-linear cost, which the resource check's midpoint exponent 1.5 must catch
    (measured ≈ 1.7: per-block overhead flattens the slope)."""

    name = "planted-quadratic"
    BLOCK = 256

    def risk_gradient(self, theta, X, targets, activation):
        y = self.fixed_point(theta, X, activation)
        slope = get_activation(activation).df(X @ theta[:-1] + theta[-1] * y)
        inverse = 1.0 / (1.0 - theta[-1] * slope)
        residual = 2 * (y - targets) / len(y)
        weights = np.empty_like(y)
        for start in range(0, len(y), self.BLOCK):
            rows = np.arange(start, min(start + self.BLOCK, len(y)))
            block = np.equal.outer(rows, np.arange(len(y))) * inverse
            weights[rows] = block @ residual
        weights *= slope
        return np.r_[weights @ X, weights @ y]


def native_scratch_in_a_thread(nbytes: int, block: int = 64 * 1024) -> None:
    """Fill and free ``nbytes`` of C-heap scratch in 64 KiB blocks from another thread, as a
    native library's thread pool does: invisible to tracemalloc, and from the second call on
    the thread's malloc arena keeps part of the freed pages for the next call to reuse."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]

    def work():
        blocks = [libc.malloc(block) for _ in range(max(1, nbytes // block))]
        for address in blocks:
            ctypes.memset(address, 1, block)
        for address in blocks[::2] + blocks[1::2]:  # interleaved, as temporaries die
            libc.free(address)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


class CompilesPerShape(BuiltinImplementation):
    """Correct and lean, but the first gradient call at each new batch shape builds a
    160 MiB throw-away table, as a JIT compiler does: a one-off cost per shape, not the memory
    of a call, so the resource checks (which warm up at the measured shape) must pass it."""

    name = "compiles-per-shape"

    def __init__(self):
        self.compiled = set()

    def _compile(self, X):
        if np.shape(X) not in self.compiled:
            self.compiled.add(np.shape(X))
            np.ones(20 * 2**20).sum()

    def risk_gradient(self, theta, X, targets, activation):
        self._compile(X)
        return super().risk_gradient(theta, X, targets, activation)

    def risk_gradient_vector(self, params, X, targets, activation):
        self._compile(X)
        return super().risk_gradient_vector(params, X, targets, activation)


class NativeScratch(BuiltinImplementation):
    """Correct, but each forward pass fills 24·bytes(X) of native scratch in a worker thread
    (a workspace per sample and iteration, as a C++ library may keep): twice the resource
    check's memory allowance, which only its resident-set measure can see."""

    name = "planted-native-scratch"

    def fixed_point(self, theta, X, activation):
        native_scratch_in_a_thread(24 * np.asarray(X).nbytes)
        return super().fixed_point(theta, X, activation)


# ---- hostile: NaN, shapes, raises, mutation, output ------------------------------------

class NaNGradient(BuiltinImplementation):
    name = "hostile-nan-gradient"

    def risk_gradient(self, theta, X, targets, activation):
        return np.full(len(theta), np.nan)


class AllNaN(BuiltinImplementation):
    name = "hostile-all-nan"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        return np.full(len(X), np.nan)

    def risk_gradient(self, theta, X, targets, activation):
        return np.full(len(theta), np.nan)


class OffByOneFirstNaN(BuiltinImplementation):
    """Every output off by +1, and y[0] = NaN (once passed with "worst error 0")."""

    name = "hostile-off-by-one"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        y = super().fixed_point(theta, X, activation) + 1.0
        y[0] = np.nan
        return y


class GarbageOneNaN(BuiltinImplementation):
    name = "hostile-garbage"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        y = np.random.default_rng(0).standard_normal(len(X))
        y[len(y) // 2] = np.nan
        return y


class WrongShape(BuiltinImplementation):
    name = "hostile-shape"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        return super().fixed_point(theta, X, activation)[:, None]


class ReturnsLists(BuiltinImplementation):
    """Correct values as Python lists: converted by the protocol's one rule, so it passes."""

    name = "hostile-lists"
    capabilities = Capabilities(dtypes=("float64", "float32"), reports_status=True)

    def fixed_point_status(self, theta, X, activation):
        y, converged = super().fixed_point_status(theta, X, activation)
        return y.tolist(), converged.tolist()

    def risk_gradient(self, theta, X, targets, activation):
        return super().risk_gradient(theta, X, targets, activation).tolist()


class ObjectDtype(BuiltinImplementation):
    name = "hostile-object"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        return np.array([str(v) for v in super().fixed_point(theta, X, activation)], dtype=object)


class RaisesEverywhere(BuiltinImplementation):
    name = "hostile-raises"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        raise RuntimeError("solver failed\nroot cause: the real reason is on this last line")

    def risk_gradient(self, theta, X, targets, activation):
        raise RuntimeError("no gradient")


class MutatesXBefore(BuiltinImplementation):
    """Scales X in place before answering (so it answers for a different X)."""

    name = "hostile-mutate-before"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        X *= 1.5
        return super().fixed_point(theta, X, activation)


class MutatesXAfter(BuiltinImplementation):
    """Answers correctly, then scribbles on the caller's X and θ."""

    name = "hostile-mutate-after"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        y = super().fixed_point(theta, X, activation)
        X[...] = 0.0
        theta[0] += 1.0
        return y


class Noisy(BuiltinImplementation):
    name = "hostile-noisy"

    def fixed_point_status(self, theta, X, activation):
        print("iteration log: " + "x" * 200)
        os.write(2, b"C-level stderr line\n")
        return super().fixed_point_status(theta, X, activation)


class Slow(BuiltinImplementation):
    """Correct, with 20 ms of overhead per call."""

    name = "hostile-slow"

    def fixed_point_status(self, theta, X, activation):
        time.sleep(0.02)
        return super().fixed_point_status(theta, X, activation)


class Hangs(BuiltinImplementation):
    name = "planted-hang"

    def risk_gradient(self, theta, X, targets, activation):
        time.sleep(3600)


def busy(cpu_seconds):
    """Compute (no sleeping) for ``cpu_seconds`` of this process's CPU time."""
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        sum(range(1000))


class SlowButComputing(BuiltinImplementation):
    """Correct, but each gradient computes for 0.5 s of CPU before answering (a slow library:
    gradient-ift calls it five times)."""

    name = "hostile-slow-computing"

    def risk_gradient(self, theta, X, targets, activation):
        busy(0.5)
        return super().risk_gradient(theta, X, targets, activation)


class SpinsForever(BuiltinImplementation):
    """An endless busy loop in the gradient (it uses CPU, so it is not idle, but never ends)."""

    name = "hostile-spin"

    def risk_gradient(self, theta, X, targets, activation):
        busy(float("inf"))


class HangsInEveryCall(BuiltinImplementation):
    name = "hostile-hang-everywhere"

    def fixed_point_status(self, theta, X, activation):
        time.sleep(3600)

    def risk_gradient(self, theta, X, targets, activation):
        time.sleep(3600)


class Crashes(BuiltinImplementation):
    name = "planted-crash"

    def risk_gradient(self, theta, X, targets, activation):
        os._exit(3)


class Segfaults(BuiltinImplementation):
    name = "hostile-segfault"

    def risk_gradient(self, theta, X, targets, activation):
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGSEGV)


class FlagsWithNaNEverywhere(BuiltinImplementation):
    """Returns NaN for every sample of every problem: 'flags' everything."""

    name = "hostile-flags-everything"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        return np.full(len(X), np.nan)


class NonDeterministic(BuiltinImplementation):
    """Adds a last-bit jitter that changes from call to call (a racing parallel reduction)."""

    name = "planted-nondeterministic"

    def __init__(self):
        self.calls = 0

    def risk_gradient(self, theta, X, targets, activation):
        self.calls += 1
        return super().risk_gradient(theta, X, targets, activation) * (1 + self.calls * 1e-16)


class SloppyFloat32(BuiltinImplementation):
    """Solves float32 input by 3 Picard steps in float32 (error ≫ the 1e-4 allowance)."""

    name = "planted-float32"
    capabilities = Capabilities(dtypes=("float64", "float32"), reports_status=False)

    def fixed_point(self, theta, X, activation):
        if np.asarray(X).dtype != np.float32:
            return super().fixed_point(theta, X, activation)
        sigma = get_activation(activation).f
        a = (X @ theta[:-1]).astype(np.float32)
        y = sigma(a)
        for _ in range(3):
            y = sigma(a + theta[-1] * y).astype(np.float32)
        return y


# -- vector protocol (issue 13) -----------------------------------------------------------
def _vector_forward(params, X, activation):
    from deqverify.core.vector_model import VectorDEQ
    from deqverify.core.vector_params import VectorParams

    values = VectorParams(params["W"], params["U"], params["b"], params["v"])
    return VectorDEQ(values.width, activation).fixed_point(values, X).raise_for_status().value


def _vector_gradient(params, X, targets, activation, Z, adjoint):
    """R's gradient parts from the fixed points Z and per-sample adjoint vectors."""
    W, U, b, v = params["W"], params["U"], params["b"], params["v"]
    slope = get_activation(activation).df(Z @ W.T + X @ U.T + b)
    error = Z @ v - targets
    weighted = (2.0 * error / len(targets))[:, None] * slope * adjoint
    return {"W": weighted.T @ Z, "U": weighted.T @ X, "b": weighted.sum(axis=0),
            "v": (2.0 * error / len(targets)) @ Z}


class VectorJacobianFree(BuiltinImplementation):
    """Vector backward that skips the adjoint solve (JFB: w = ∂ℓ/∂z, not (I − SW)⁻ᵀ∂ℓ/∂z)."""

    name = "planted-vector-jfb"

    def risk_gradient_vector(self, params, X, targets, activation):
        Z = _vector_forward(params, X, activation)
        return _vector_gradient(params, X, targets, activation, Z, np.broadcast_to(params["v"], Z.shape))


class VectorTransposedAdjoint(BuiltinImplementation):
    """Adjoint solved with I − SW instead of its transpose."""

    name = "planted-vector-transposed"

    def risk_gradient_vector(self, params, X, targets, activation):
        Z = _vector_forward(params, X, activation)
        W, U, b = params["W"], params["U"], params["b"]
        slope = get_activation(activation).df(Z @ W.T + X @ U.T + b)
        k = W.shape[0]
        jacobians = np.eye(k) - slope[:, :, None] * W
        adjoint = np.linalg.solve(jacobians, np.broadcast_to(params["v"], Z.shape)[..., None])[..., 0]
        return _vector_gradient(params, X, targets, activation, Z, adjoint)


class VectorBatchNormStopping(BuiltinImplementation):
    """Picard stopped when ‖F‖_F/n is below 1e-6: per-sample errors grow
    with n (the correct adjoint is then applied to a loose forward)."""

    name = "planted-vector-batch-norm"

    @staticmethod
    def _picard(params, X, activation):
        f = get_activation(activation).f
        P = X @ params["U"].T + params["b"]
        Z = f(P)
        for _ in range(10_000):
            new = f(Z @ params["W"].T + P)
            if np.linalg.norm(new - Z) / len(X) <= 1e-6:
                return new
            Z = new
        return Z

    def fixed_point_vector_status(self, params, X, activation):
        Z = self._picard(params, X, activation)
        return Z, np.ones(len(X), dtype=bool)

    def risk_gradient_vector(self, params, X, targets, activation):
        Z = self._picard(params, X, activation)
        W, U, b = params["W"], params["U"], params["b"]
        slope = get_activation(activation).df(Z @ W.T + X @ U.T + b)
        transposed = np.eye(W.shape[0]) - W.T[None] * slope[:, None, :]
        adjoint = np.linalg.solve(transposed, np.broadcast_to(params["v"], Z.shape)[..., None])[..., 0]
        return _vector_gradient(params, X, targets, activation, Z, adjoint)


class VectorNaNLeak(BuiltinImplementation):
    """A batch-wide damping factor computed from every sample: one NaN input makes every
    sample NaN (seen in batched Anderson solvers)."""

    name = "planted-vector-nan-leak"

    def fixed_point_vector_status(self, params, X, activation):
        X = np.asarray(X, dtype=float)
        damping = 1.0 + 0.0 * np.sum(X)  # NaN as soon as one entry is
        bad = ~np.isfinite(X).all(axis=1)
        Z = np.full((len(X), params["W"].shape[0]), np.nan)
        Z[~bad] = _vector_forward(params, X[~bad], activation)
        return Z * damping, ~bad


class VectorDenseJacobian(BuiltinImplementation):
    """Backward through the dense nk×nk Jacobian I − blockdiag(SᵢW): O((nk)³) time, O((nk)²)
    memory — right answers, wrong cost."""

    name = "planted-vector-dense"

    def risk_gradient_vector(self, params, X, targets, activation):
        Z = _vector_forward(params, X, activation)
        W, U, b, v = params["W"], params["U"], params["b"], params["v"]
        n, k = Z.shape
        slope = get_activation(activation).df(Z @ W.T + X @ U.T + b)
        dense = np.eye(n * k)
        for i in range(n):
            dense[i * k:(i + 1) * k, i * k:(i + 1) * k] -= slope[i][:, None] * W
        adjoint = np.linalg.solve(dense.T, np.tile(v, n)).reshape(n, k)
        return _vector_gradient(params, X, targets, activation, Z, adjoint)


class VectorPerSampleJacobians(BuiltinImplementation):
    """Not a bug: the adjoint through per-sample k×k Jacobians Jᵢ = I − SᵢW, kept with their
    inverses and transposes (4 arrays of n·k² floats: 4·k² floats per sample, linear in n).
    A constant memory allowance (8·bytes(X) + 32 MiB) failed this correct implementation."""

    name = "vector-per-sample-jacobians"

    def risk_gradient_vector(self, params, X, targets, activation):
        Z = _vector_forward(params, X, activation)
        W, U, b = params["W"], params["U"], params["b"]
        slope = get_activation(activation).df(Z @ W.T + X @ U.T + b)
        jacobians = np.eye(W.shape[0]) - slope[:, :, None] * W
        transposed = np.ascontiguousarray(np.swapaxes(jacobians, 1, 2))
        inverses = np.linalg.inv(transposed)
        adjoint = np.einsum("nij,j->ni", inverses, params["v"])
        return _vector_gradient(params, X, targets, activation, Z, adjoint)


class VectorStoresTraces(BuiltinImplementation):
    """Right answers, but the backward keeps every one of 300 Picard iterates of the adjoint
    ((n, k, 300) floats: memory that grows with the iteration count, not only with n)."""

    name = "planted-vector-traces"

    def risk_gradient_vector(self, params, X, targets, activation):
        Z = _vector_forward(params, X, activation)
        W, U, b, v = params["W"], params["U"], params["b"], params["v"]
        slope = get_activation(activation).df(Z @ W.T + X @ U.T + b)
        trace = np.empty((300, *Z.shape))
        adjoint = np.broadcast_to(v, Z.shape).copy()
        for i in range(300):
            adjoint = v + (slope * adjoint) @ W
            trace[i] = adjoint
        return _vector_gradient(params, X, targets, activation, Z, trace[-1])


class VectorLooseForward(BuiltinImplementation):
    """Picard stopped at ‖Δz‖ ≤ 1e-3 per sample, every sample reported converged."""

    name = "planted-vector-loose"

    def fixed_point_vector_status(self, params, X, activation):
        f = get_activation(activation).f
        P = X @ params["U"].T + params["b"]
        Z = f(P)
        for _ in range(200):
            new = f(Z @ params["W"].T + P)
            done = np.max(np.abs(new - Z)) <= 1e-3
            Z = new
            if done:
                break
        return Z, np.ones(len(X), dtype=bool)


class VectorSilentSingular(BuiltinImplementation):
    """Linear vector DEQ by least squares: a singular I − W gets a finite answer, unflagged."""

    name = "planted-vector-singular"

    def fixed_point_vector_status(self, params, X, activation):
        if activation != "identity":
            return super().fixed_point_vector_status(params, X, activation)
        A = np.eye(params["W"].shape[0]) - params["W"]
        Z = np.linalg.lstsq(A, (X @ params["U"].T + params["b"]).T, rcond=None)[0].T
        return Z, np.ones(len(X), dtype=bool)


class VectorJitter(BuiltinImplementation):
    """Answers that differ between identical calls by one part in 10¹⁵."""

    name = "planted-vector-jitter"

    def __init__(self):
        self.rng = np.random.default_rng()

    def fixed_point_vector_status(self, params, X, activation):
        Z, converged = super().fixed_point_vector_status(params, X, activation)
        return Z * (1 + 1e-15 * self.rng.standard_normal(Z.shape)), converged


class VectorTiltedWGradient(BuiltinImplementation):
    """∇_W scaled by 1 + 10⁻⁶ (not a symmetry direction)."""

    name = "planted-vector-tilted"

    def risk_gradient_vector(self, params, X, targets, activation):
        parts = super().risk_gradient_vector(params, X, targets, activation)
        return dict(parts, W=parts["W"] * (1 + 1e-6))
