"""The k-step damped phantom adjoint, shared by the layer battery's oracle and BWD-PHANTOM.

For a loss with ∂ℓ/∂z* = g and J = ∂f/∂z at z*, a phantom backward replaces the implicit
adjoint (I − Jᵀ)⁻¹g by u_k = τΣ_{i<k}(Bᵀ)ⁱg, B = τJ + (1 − τ)I, computed as a backward pass
does: k steps of u ← u + τw, w ← Bᵀw. BWD-PHANTOM states u_k = (I − Jᵀ)⁻¹(I − (Bᵀ)ᵏ)g
exactly; k = 1, τ = 1 is the Jacobian-free gradient (u = g).
"""

from __future__ import annotations

import numpy as np


def phantom_adjoint(J: np.ndarray, g: np.ndarray, steps: int, damping: float) -> np.ndarray:
    """u_k = τΣ_{i<k}(Bᵀ)ⁱg per sample, for J (n, K, K) and g (n, K)."""
    u, w = np.zeros_like(g), np.array(g, dtype=float)
    for _ in range(steps):
        u += damping * w
        w = damping * np.einsum("mji,mj->mi", J, w) + (1 - damping) * w
    return u
