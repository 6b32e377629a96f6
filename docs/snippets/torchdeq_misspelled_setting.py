"""torchdeq 0.1.0 accepts any keyword and silently ignores the ones it never reads (no deqverify
here): ``stop_mode='rel'`` is stored in the config, but the forward stops on ``f_stop_mode``,
which stays 'abs' — the run is the default one, not the relative stopping asked for.
Usage: python torchdeq_misspelled_setting.py"""
import torch
from torchdeq import get_deq

x = 1e3 * torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
f = lambda z: 0.9 * torch.tanh(z / 1e3) * 1e3 + x   # states of size ~1e3: abs and rel stops differ
for settings in ({"f_tol": 1e-6}, {"f_tol": 1e-6, "stop_mode": "rel"}, {"f_tol": 1e-6, "f_stop_mode": "rel"}):
    deq = get_deq(f_max_iter=500, **settings)
    _, info = deq(f, torch.zeros(4, 3, dtype=torch.float64))
    print(f"{str(settings):45s} f_stop_mode={deq.f_stop_mode}  steps={info['nstep'].tolist()}")
