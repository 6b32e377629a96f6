"""Population risk of the linear vector DEQ with a linear teacher, in closed form.

z = A⁻¹(Ux + b) with A = I − W, so ŷ = pᵀx + c with p = UᵀA⁻ᵀv and c = vᵀA⁻¹b. For
x ~ N(0, Σ) and targets ξᵀx: R = (p − ξ)ᵀΣ(p − ξ) + c². With a = A⁻ᵀv, g_p = 2Σ(p − ξ),
g_c = 2c and h = U g_p + g_c·b:
  ∇_U R = a g_pᵀ,  ∇_b R = g_c·a,  ∇_v R = A⁻¹h,  ∇_W R = a (A⁻¹h)ᵀ
(the last from d(A⁻ᵀ) = −A⁻ᵀ dAᵀ A⁻ᵀ and dA = −dW).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lu_factor, lu_solve

from deqverify.core.vector_params import VectorParams


def linear_vector_population(params: VectorParams, Sigma: np.ndarray, xi: np.ndarray):
    """(R, dict of gradient parts W, U, b, v) for the linear vector DEQ (see module doc)."""
    factor = lu_factor(params.A)
    a = lu_solve(factor, params.v, trans=1)
    p = params.U.T @ a
    c = float(a @ params.b)
    residual = p - xi
    grad_p = 2.0 * (Sigma @ residual)
    grad_c = 2.0 * c
    h = params.U @ grad_p + grad_c * params.b
    solved_h = lu_solve(factor, h)
    value = float(residual @ Sigma @ residual) + c * c
    return value, {"W": np.outer(a, solved_h), "U": np.outer(a, grad_p), "b": grad_c * a,
                   "v": solved_h}
