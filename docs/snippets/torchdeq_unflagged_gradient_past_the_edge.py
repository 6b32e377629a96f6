"""torchdeq with tight tolerances and an exact (IFT) backward, on the linear DEQ
y = θ₁ᵀx + θ₂y at θ₂ = 2.5: the root y* = θ₁ᵀx/(1 − θ₂) is unique, but a fixed-point solver
cannot reach it, and torchdeq's own forward flags that (residual above f_tol). Its backward
still returns a finite gradient with no flag, off the exact one. Reproduced without deqverify.

    pip install torch==2.13.0 torchdeq==0.1.0 && python docs/snippets/torchdeq_unflagged_gradient_past_the_edge.py
"""

import torch
from torchdeq import get_deq

torch.manual_seed(0)
n, d = 64, 3
X = torch.randn(n, d, dtype=torch.float64)
targets = 0.5 * torch.randn(n, dtype=torch.float64)
for theta2 in (-0.6, 2.5):
    theta = torch.cat([torch.randn(d, dtype=torch.float64) / d ** 0.5, torch.tensor([theta2], dtype=torch.float64)])
    theta.requires_grad_(True)
    deq = get_deq(f_solver="anderson", f_max_iter=500, f_tol=1e-12, ift=True,
                  b_solver="anderson", b_max_iter=500, b_tol=1e-12)
    deq.train()
    offsets = X @ theta[:-1]
    z_out, info = deq(lambda z: offsets[:, None] + theta[-1] * z, torch.zeros(n, 1, dtype=torch.float64))
    loss = torch.mean((z_out[-1][:, 0] - targets) ** 2)
    (gradient,) = torch.autograd.grad(loss, theta)
    with torch.no_grad():  # the exact gradient of the closed form y* = θ₁ᵀx/(1 − θ₂)
        y = offsets / (1 - theta2)
        weight = 2 * (y - targets) / n / (1 - theta2)
        exact = torch.cat([X.T @ weight, (weight @ y).reshape(1)])
    error = float((gradient - exact).abs().max() / exact.abs().max())
    print(f"θ₂ = {theta2:+.1f}: forward residual {float(info['abs_lowest'].max()):.2g} (f_tol 1e-12: "
          f"{'flagged' if float(info['abs_lowest'].max()) > 1e-12 else 'converged'}); gradient finite: "
          f"{bool(torch.isfinite(gradient).all())}; relative error against the exact gradient {error:.2g}")
