"""Implementations with planted bugs, for the conformance meta-tests."""

import os
import time

import numpy as np

from deqverify.activations import get_activation
from deqverify.conformance.adapters.builtin import BuiltinImplementation
from deqverify.conformance.protocol import Capabilities


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
    well-posed θ₂ there is only one root (correct), for θ₂L > 1 it picks the repelling one."""

    name = "planted-repelling"
    capabilities = Capabilities(reports_status=False)

    def fixed_point(self, theta, X, activation):
        act = get_activation(activation)
        out = []
        for a in X @ theta[:-1]:
            grid = np.linspace(-50, 50, 200_001)
            g = grid - act.f(a + theta[-1] * grid)
            roots = grid[:-1][np.sign(g[:-1]) != np.sign(g[1:])]
            gains = theta[-1] * act.df(a + theta[-1] * roots)
            out.append(roots[np.argmax(gains)] if roots.size else np.nan)
        return np.array(out)


class Hangs(BuiltinImplementation):
    name = "planted-hang"

    def risk_gradient(self, theta, X, targets, activation):
        time.sleep(3600)


class Crashes(BuiltinImplementation):
    name = "planted-crash"

    def risk_gradient(self, theta, X, targets, activation):
        os._exit(3)
