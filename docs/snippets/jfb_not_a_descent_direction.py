"""JFB-NONLINEAR refuted, reproduced without deqverify (numpy only): for a tanh DEQ with
‖W‖₂ = 0.9 and a batch of two rows, the Jacobian-free gradient of U points against the
exact gradient (cosine ≈ −1), so a JFB step *increases* the loss to first order.

    python docs/snippets/jfb_not_a_descent_direction.py

Reads the stored directed-search record (findings/JFB-NONLINEAR--all--directed.json.gz);
each problem is z = tanh(Wz + Ux + b) with loss L(U) = Σᵢ gᵢᵀzᵢ*(U). The exact gradient is
taken by central differences of L (fixed points by plain iteration, a 0.9-contraction),
independent of any adjoint formula; the JFB gradient is Σᵢ diag(1 − zᵢ²)gᵢxᵢᵀ.
"""

import gzip
import json
from pathlib import Path

import numpy as np

record = json.loads(gzip.open(Path(__file__).parents[2] / "findings" / "JFB-NONLINEAR--all--directed.json.gz", "rt").read())


def fixed_points(W, U, b, X):
    Z = np.zeros((X.shape[0], W.shape[0]))
    for _ in range(2000):  # 0.9ᵗ < 1e-90: far below float64 rounding
        Z = np.tanh(Z @ W.T + X @ U.T + b)
    return Z


for example in record["examples"]:
    spec = example["spec"]
    k, theta = spec["model"]["width"], np.array(spec["theta0"])
    X, G = np.array(spec["X"]), np.array(spec["cotangents"])
    d = X.shape[1]
    W, U, b = theta[:k * k].reshape(k, k), theta[k * k:k * k + k * d].reshape(k, d), theta[k * k + k * d:k * k + k * d + k]
    Z = fixed_points(W, U, b, X)
    jfb = ((1 - Z ** 2) * G).T @ X
    exact = np.zeros_like(U)
    for i in range(k):
        for j in range(d):
            step = np.zeros_like(U)
            step[i, j] = 1e-6
            exact[i, j] = (np.sum(G * fixed_points(W, U + step, b, X))
                           - np.sum(G * fixed_points(W, U - step, b, X))) / 2e-6
    cosine = np.sum(jfb * exact) / (np.linalg.norm(jfb) * np.linalg.norm(exact))
    print(f"‖W‖₂ = {np.linalg.norm(W, 2):.3f}: cos(JFB, exact ∇_U) = {cosine:+.4f} (stored verdict: {example['verdict']})")
