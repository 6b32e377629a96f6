"""A risk with a tampered gradient, shared by the negative controls and the sensitivity
tests of the theorem checks."""

import numpy as np


class WrappedRisk:
    """Delegates to ``risk``; the gradient goes through ``transform(θ, g)``."""

    def __init__(self, risk, transform):
        self._risk, self._transform = risk, transform

    def __getattr__(self, name):
        return getattr(self._risk, name)

    def value(self, theta):
        return self._risk.value(theta)

    def gradient(self, theta):
        return self.value_and_gradient(theta)[1]

    def value_and_gradient(self, theta):
        value, gradient = self._risk.value_and_gradient(theta)
        return value, self._transform(np.asarray(theta), np.array(gradient))
