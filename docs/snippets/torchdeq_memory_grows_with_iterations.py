"""torchdeq 0.1.0: the peak memory of one forward grows with f_max_iter (no deqverify here).

Runs each cap in a fresh process and prints how far one forward call raises the peak resident
set (ru_maxrss) above what a 1-iteration warm-up call reached, for a batch of 4096 states of
size 16 (512 KiB per state), f_tol = 0 so every iteration runs. Usage: python torchdeq_memory_grows_with_iterations.py
"""
import subprocess
import sys

CHILD = r"""
import resource, sys, torch
from torchdeq import get_deq
torch.manual_seed(0)
cap = int(sys.argv[1])
W = torch.randn(16, 16, dtype=torch.float64); W *= 0.5 / torch.linalg.matrix_norm(W, 2)
U = torch.randn(16, 8, dtype=torch.float64)
x = torch.randn(4096, 8, dtype=torch.float64)
f = lambda z: torch.tanh(z @ W.T + x @ U.T)
with torch.no_grad():
    warm = get_deq(f_max_iter=1, f_tol=0.0); warm.train()
    warm(f, torch.zeros(4096, 16, dtype=torch.float64))      # kernels loaded, one state's work
    deq = get_deq(f_max_iter=cap, f_tol=0.0); deq.train()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    deq(f, torch.zeros(4096, 16, dtype=torch.float64))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) / 1024)
"""
for cap in (25, 100, 400):  # 75 and 300 more iterations
    out = subprocess.run([sys.executable, "-c", CHILD, str(cap)], capture_output=True, text=True)
    print(f"f_max_iter={cap:4d}: peak +{float(out.stdout):6.1f} MiB ({float(out.stdout) * 2:.0f} states of 512 KiB)")
