"""deepinv 0.5.0: a DEQ built with the deprecated (still exported) deepinv.unfolded.DEQ_builder
runs its forward pass, and raises only when the loss is backpropagated: its backward hook
builds FixedPoint with a keyword FixedPoint no longer accepts (needs deepinv==0.5.0)."""
import torch
import deepinv
from deepinv.unfolded import DEQ_builder

torch.manual_seed(0)
A = torch.randn(8, 16, dtype=torch.float64)
A /= torch.linalg.matrix_norm(A, 2)
physics = deepinv.physics.LinearPhysics(A=lambda z: z @ A.T, A_adjoint=lambda y: y @ A)
W = torch.nn.Parameter(0.5 * torch.eye(16, dtype=torch.float64))
denoiser = lambda z, sigma=None, **kw: torch.tanh(z @ W.T)
model = DEQ_builder("PGD", params_algo={"stepsize": 1.0, "g_param": 0.1, "lambda": 1.0},
                    data_fidelity=deepinv.optim.data_fidelity.L2(),
                    prior=deepinv.optim.prior.PnP(denoiser=denoiser), max_iter=100).double()
z = model(torch.randn(4, 8, dtype=torch.float64), physics)
print("forward ran:", tuple(z.shape))
try:
    z.sum().backward()
except TypeError as error:
    print("loss.backward() raised TypeError:", error)
