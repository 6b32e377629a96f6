"""deepinv 0.5.0: BaseOptim.has_converged is set by early_stop and never cleared, so a later
call that does not converge still reads True (needs deepinv==0.5.0 and a torchvision that imports)."""
import torch
import deepinv

torch.manual_seed(0)
A = torch.randn(8, 16, dtype=torch.float64)
A /= torch.linalg.matrix_norm(A, 2)
physics = deepinv.physics.LinearPhysics(A=lambda z: z @ A.T, A_adjoint=lambda y: y @ A)
W = torch.randn(16, 16, dtype=torch.float64)
W /= torch.linalg.matrix_norm(W, 2)
scale = [0.5]                                                 # Lipschitz constant of the denoiser
denoiser = lambda z, sigma=None, **kw: torch.tanh(scale[0] * z @ W.T)
model = deepinv.optim.PGD(prior=deepinv.optim.prior.PnP(denoiser=denoiser), data_fidelity=deepinv.optim.data_fidelity.L2(),
                          stepsize=1.0, g_param=0.1, max_iter=200, thres_conv=1e-10, early_stop=True).double()
y = torch.randn(64, 8, dtype=torch.float64)
step = lambda z: denoiser(z - (z @ A.T - y) @ A)              # the PGD map deepinv iterates
for s in (0.5, 3.0):                                          # contractive, then expanding
    scale[0] = s
    with torch.no_grad():
        z = model(y, physics)
    print(f"scale {s}: residual {float((step(z) - z).abs().max()):.2g}, has_converged = {model.has_converged}")
fresh = deepinv.optim.PGD(prior=deepinv.optim.prior.PnP(denoiser=denoiser), data_fidelity=deepinv.optim.data_fidelity.L2(),
                          stepsize=1.0, g_param=0.1, max_iter=200, thres_conv=1e-10, early_stop=True).double()
with torch.no_grad():
    z = fresh(y, physics)
print(f"a fresh model at scale 3.0: residual {float((step(z) - z).abs().max()):.2g}, has_converged = {fresh.has_converged}")
