"""deepinv 0.5.0: with early_stop, the forward stops when the *mean* over the batch of the
per-sample relative steps is below thres_conv, so a slow sample beside fast ones is returned
far outside the tolerance and has_converged reads True (no deqverify here)."""
import torch
import deepinv

torch.manual_seed(0)
A = torch.randn(8, 16, dtype=torch.float64)
A /= torch.linalg.matrix_norm(A, 2)
physics = deepinv.physics.LinearPhysics(A=lambda z: z @ A.T, A_adjoint=lambda y: y @ A)
rate = torch.full((64, 1), 0.05, dtype=torch.float64)
rate[0] = 0.95                                                # one slow sample among 63 fast ones
denoiser = lambda z, sigma=None, **kw: rate * torch.tanh(z)   # per-row Lipschitz constant
model = deepinv.optim.PGD(prior=deepinv.optim.prior.PnP(denoiser=denoiser), data_fidelity=deepinv.optim.data_fidelity.L2(),
                          stepsize=1.0, g_param=0.1, max_iter=1000, thres_conv=1e-10, early_stop=True).double()
y = torch.randn(64, 8, dtype=torch.float64)
step = lambda z: denoiser(z - (z @ A.T - y) @ A)              # the PGD map deepinv iterates
with torch.no_grad():
    z = model(y, physics)
    relative = ((step(z) - z).norm(dim=1) / z.norm(dim=1)).tolist()
print(f"has_converged = {model.has_converged}, thres_conv 1e-10; relative residual of the slow sample "
      f"{relative[0]:.1e}, of the fast ones at most {max(relative[1:]):.1e}")
