"""torchdeq 0.1.0: the forward's peak memory grows with f_max_iter by ~5 floats per sample per
iteration (its per-sample statistics), whatever the state size K (no deqverify here). Each cap runs
in a fresh process with glibc's mmap threshold fixed, so freed buffers do not fragment the heap.
Half a state per iteration is crossed when K < 10. Usage: python torchdeq_memory_grows_with_iterations.py
"""
import subprocess
import sys

CHILD = r"""
import ctypes, resource, sys, torch
from torchdeq import get_deq
ctypes.CDLL(None).mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD: map every buffer >= 128 KiB by itself
torch.manual_seed(0)
k, cap, n = int(sys.argv[1]), int(sys.argv[2]), 4096
W = torch.randn(k, k, dtype=torch.float64); W *= 0.5 / torch.linalg.matrix_norm(W, 2)
x = torch.randn(n, k, dtype=torch.float64)
f = lambda z: torch.tanh(z @ W.T + x)
with torch.no_grad():
    get_deq(f_max_iter=1, f_tol=0.0)(f, torch.zeros(n, k, dtype=torch.float64))  # warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    get_deq(f_max_iter=cap, f_tol=0.0)(f, torch.zeros(n, k, dtype=torch.float64))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)  # KiB
"""
for k in (4, 16):
    rise = {cap: int(subprocess.run([sys.executable, "-c", CHILD, str(k), str(cap)], capture_output=True,
                                    text=True).stdout) for cap in (25, 200)}
    per_iteration = (rise[200] - rise[25]) * 1024 / 175 / (4096 * 8)  # floats per sample per iteration
    print(f"K = {k:2d}: peak +{rise[25] / 1024:.1f} MiB at 25 iterations, +{rise[200] / 1024:.1f} MiB at 200: "
          f"{per_iteration:.1f} floats per sample per iteration = {per_iteration / k:.2f} states")
