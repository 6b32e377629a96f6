"""A DEQ block with BatchNorm1d (batch statistics) on its input branch, solved by torchdeq:
the fixed point of one sample moves when the rest of its batch changes, and a NaN row
spoils every other row. What `layer-batch-independence` and `layer-nan` report when such a
layer is declared batch-independent (no deqverify here)."""
import torch
from torch import nn
from torchdeq import get_deq

torch.manual_seed(0)
W = nn.Linear(4, 4, dtype=torch.float64)
with torch.no_grad():
    W.weight.mul_(0.6 / torch.linalg.matrix_norm(W.weight, 2))
U = nn.Linear(8, 4, bias=False, dtype=torch.float64)
norm = nn.BatchNorm1d(4, track_running_stats=False, dtype=torch.float64)
deq = get_deq(f_solver="anderson", f_max_iter=200, f_tol=1e-12, ift=True)


def solve(x):
    z, _ = deq(lambda z: torch.tanh(W(z) + norm(U(x))), torch.zeros(x.shape[0], 4, dtype=torch.float64))
    return z[-1].detach()


x = torch.randn(64, 8, dtype=torch.float64)
whole, half = solve(x), solve(x[:32])
poisoned = x.clone()
poisoned[0] = float("nan")
print(f"sample 1 solved in its batch of 64 and in the first 32: states {(whole[1] - half[1]).norm():.2e} apart")
print(f"one NaN input row: {int(torch.isnan(solve(poisoned)[1:]).any(dim=1).sum())} of 63 clean rows come back NaN")
