import mpmath
import numpy as np
import pytest

from deqverify.core.activations import SIGMOID, SOFTPLUS, TANH

SMOOTH_ACTIVATIONS = [SIGMOID, TANH, SOFTPLUS]


@pytest.fixture(params=SMOOTH_ACTIVATIONS, ids=lambda a: a.name)
def smooth_activation(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(20251116)


@pytest.fixture(autouse=True)
def mpmath_precision_is_restored():
    """No test may leak an mpmath precision change (issue 5)."""
    before = mpmath.mp.prec
    yield
    assert mpmath.mp.prec == before, "mpmath precision leaked out of a test"
