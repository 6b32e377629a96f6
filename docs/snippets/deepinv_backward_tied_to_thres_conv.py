"""deepinv 0.5.0: the DEQ backward (u = g + Jᵀu by iteration) stops on the forward's convergence
test, so its accuracy is set by the *forward* tolerance thres_conv, not by a setting of its own
(no deqverify here; the exact gradient is a dense solve of (I − J)ᵀu = g, J by autograd)."""
import torch
import deepinv

torch.manual_seed(0)
A = torch.randn(8, 16, dtype=torch.float64)
A /= torch.linalg.matrix_norm(A, 2)
physics = deepinv.physics.LinearPhysics(A=lambda z: z @ A.T, A_adjoint=lambda y: y @ A)
W = torch.nn.Parameter(0.7 * torch.linalg.qr(torch.randn(16, 16, dtype=torch.float64))[0])
denoiser = lambda z, sigma=None, **kw: torch.tanh(z @ W.T)
y = torch.randn(32, 8, dtype=torch.float64)
step = lambda z: denoiser(z - (z @ A.T - y) @ A)             # the PGD map deepinv iterates
for thres in (1e-5, 1e-9):                                    # the forward runs 300 steps either way
    model = deepinv.optim.PGD(prior=deepinv.optim.prior.PnP(denoiser=denoiser), data_fidelity=deepinv.optim.data_fidelity.L2(),
                              stepsize=1.0, g_param=0.1, max_iter=300, thres_conv=thres, DEQ=True).double()
    z = model(y, physics)
    (grad,) = torch.autograd.grad(z.sum(), W)
    zs = z.detach()                                           # exact: per sample (I − J)ᵀu = 1, then uᵀ∂f/∂W
    J = torch.func.vmap(torch.func.jacrev(lambda zi, yi: torch.tanh((zi - (zi @ A.T - yi) @ A) @ W.T)))(zs, y)
    u = torch.linalg.solve(torch.eye(16, dtype=torch.float64) - J.transpose(1, 2), torch.ones_like(zs)).detach()
    (exact,) = torch.autograd.grad((step(zs) * u).sum(), W)
    print(f"thres_conv {thres:g}: forward residual {float((step(zs) - zs).detach().abs().max()):.1e}, "
          f"gradient error {float((grad - exact).norm() / exact.norm()):.1e}")
