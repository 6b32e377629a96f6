"""Command-line interface: ``deqverify solve | verify | fuzz | reproduce | check``."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import __version__, solve
from .activations import BUILTIN_ACTIVATIONS
from .errors import DEQError
from .models import SingleIndexDEQ


def _timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def command_solve(args) -> int:
    """Solve a random problem with Newton and Picard and compare them.

    X has N(0, 1) entries and θ₁ ~ N(0, I/d), so θ₁ᵀx ~ N(0, 1) whatever d. Times are for the
    solve alone, on the same offsets θ₁ᵀX for both solvers.
    """
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.n, args.d))
    theta = np.r_[rng.standard_normal(args.d) / np.sqrt(args.d), args.theta2]
    newton_model = SingleIndexDEQ(args.activation)
    newton_model.fixed_point(theta, X[:1])  # validates θ₂ before the timed solves
    offsets = X @ theta[:-1]
    result, newton_time = _timed(newton_model.solve_offsets, offsets, args.theta2)
    print(f"problem     n={args.n} d={args.d} activation={args.activation} "
          f"θ₂={args.theta2} (θ₂·L={args.theta2 * newton_model.activation.lipschitz:.4g}) "
          f"seed={args.seed}")
    print(f"newton      status={result.status} residual={result.residual:.3e} "
          f"iterations={result.iterations} time={newton_time * 1e3:.2f} ms")
    try:
        picard_model = SingleIndexDEQ(args.activation, method="picard")
        picard_model.check_well_posed(args.theta2)
        solve.contraction_factor(args.theta2, picard_model.activation)
        picard, picard_time = _timed(picard_model.solve_offsets, offsets, args.theta2)
    except DEQError as error:
        print(f"picard      not applicable: {error}")
    else:
        agreement = np.max(np.abs(picard.value - result.value))
        print(f"picard      status={picard.status} residual={picard.residual:.3e} "
              f"iterations={picard.iterations} time={picard_time * 1e3:.2f} ms "
              f"max|Δy|={agreement:.2e}")
        print(f"speed-up    {picard_time / newton_time:.2f}× over Picard")
    return 0 if result.status.value == "converged" else 1


def command_reproduce(args) -> int:
    """Run the paper's synthetic experiments; write summary.json and figures."""
    from .experiments import run_all

    summary = run_all(args.out, quick=args.quick)
    return 0 if all(run["status"] == "completed" for run in summary.values()) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deqverify", description=__doc__)
    parser.add_argument("--version", action="version", version=f"deqverify {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    solve = commands.add_parser("solve", help="solve a random DEQ problem, compare with Picard")
    solve.add_argument("--activation", default="sigmoid", choices=sorted(BUILTIN_ACTIVATIONS))
    solve.add_argument("--theta2", type=float, default=0.5)
    solve.add_argument("--n", type=int, default=100_000)
    solve.add_argument("--d", type=int, default=100)
    solve.add_argument("--seed", type=int, default=0)
    solve.set_defaults(handler=command_solve)

    reproduce = commands.add_parser("reproduce", help="the paper's synthetic experiments")
    reproduce.add_argument("--out", default="reproduce-out", help="output directory")
    reproduce.add_argument("--quick", action="store_true", help="2 000 instead of 40 000 steps")
    reproduce.set_defaults(handler=command_reproduce)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except DEQError as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
