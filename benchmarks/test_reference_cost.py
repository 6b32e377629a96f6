"""Cost of the mpmath reference per sample (forward + gradient at 50 digits), next to the
float64 core on the same sample, so nobody puts the reference in a hot loop by accident."""

import timeit

import numpy as np

import deqverify as dv
from deqverify import reference as ref


def test_mpmath_forward_and_gradient_per_sample(benchmark):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10)
    theta = np.r_[rng.standard_normal(10) / 3, 2.0]
    activation = dv.get_activation("sigmoid")

    def one_sample():
        with ref.working_precision(50):
            return ref.output_and_jacobian(theta, x, activation)

    benchmark(one_sample)
    float_risk = dv.EmpiricalRisk(dv.SingleIndexDEQ("sigmoid"), x[None, :], np.zeros(1))
    float_seconds = min(timeit.repeat(lambda: float_risk.value_and_gradient(theta),
                                      number=200, repeat=5)) / 200
    benchmark.extra_info.update(float64_seconds_per_sample=float_seconds,
                                ratio_to_float64=benchmark.stats.stats.median / float_seconds)
