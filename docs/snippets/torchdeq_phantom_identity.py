"""torchdeq 0.1.0's ``grad=k, tau=τ`` gradient equals the k-step damped phantom gradient
gᵀ·τΣ_{i<k}Bⁱ·∂f/∂θ, B = τJ + (1−τ)I = gᵀ(I − J)⁻¹(I − Bᵏ)∂f/∂θ (BWD-PHANTOM), checked here
without deqverify on z = tanh(Wz + Ux) for one sample. Usage: python torchdeq_phantom_identity.py"""
import torch
from torchdeq import get_deq

torch.manual_seed(0)
k, tau, n = 5, 0.5, 6
W = torch.randn(n, n, dtype=torch.float64); W = (0.7 * W / torch.linalg.matrix_norm(W, 2)).requires_grad_()
Ux, g = torch.randn(n, dtype=torch.float64), torch.randn(n, dtype=torch.float64)
f = lambda z: torch.tanh(z @ W.T + Ux)
deq = get_deq(f_solver="anderson", f_max_iter=200, f_tol=1e-14, grad=k, tau=tau); deq.train()
z_out, _ = deq(f, torch.zeros(1, n, dtype=torch.float64))
(library,) = torch.autograd.grad((z_out[-1][0] * g).sum(), W)
z = z_out[-1][0].detach()
J = torch.autograd.functional.jacobian(lambda v: torch.tanh(v @ W.detach().T + Ux), z)
B = tau * J + (1 - tau) * torch.eye(n, dtype=torch.float64)
u = torch.linalg.solve((torch.eye(n, dtype=torch.float64) - J).T, (torch.eye(n, dtype=torch.float64) - torch.linalg.matrix_power(B, k)).T @ g)
(closed,) = torch.autograd.grad((f(z) * u).sum(), W)
print("max |torchdeq − closed form| / max |closed form| =", ((library - closed).abs().max() / closed.abs().max()).item())
