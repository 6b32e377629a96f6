"""Command-line interface: ``deqverify solve | verify | fuzz | reproduce | check``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from deqverify import __version__
from deqverify.campaigns.run import DEFAULT_DATABASE
from deqverify.conformance.runner import DEFAULT_TIMEOUT
from deqverify.core import solve
from deqverify.core.activations import BUILTIN_ACTIVATIONS
from deqverify.core.errors import DEQError, InvalidInputError
from deqverify.core.models import SingleIndexDEQ


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
    from deqverify.app.experiments import run_all

    _require_dir_target(args.out, "--out")
    summary = run_all(args.out, quick=args.quick, progress=sys.stderr.isatty(), vector=args.vector)
    return 0 if all(run["status"] == "completed" for run in summary.values()) else 1


def _examples_for(theorem_id: str, examples: int) -> int:
    from deqverify.theorems import REGISTRY

    return examples if REGISTRY[theorem_id].kind == "pointwise" else max(5, examples // 4)


def _print_table(outcomes, stream=sys.stdout) -> None:
    header = f"{'id':10s} {'dropped':10s} {'statement':48s} {'examples':>8s} {'held':>5s} {'viol.':>5s} {'refused':>7s} {'worst margin':>12s} {'time':>7s}"
    print(header, file=stream)
    print("-" * len(header), file=stream)
    for o in outcomes:
        statement = o.statement if len(o.statement) <= 48 else o.statement[:45] + "..."
        margin = "—" if o.worst_margin == float("inf") else f"{o.worst_margin:.3g}"
        dropped = o.violated_assumption or "—"
        print(f"{o.theorem:10s} {dropped:10s} {statement:48s} {o.examples:8d} {o.held:5d} {o.violated:5d} "
              f"{o.refused:7d} {margin:>12s} {o.seconds:6.1f}s", file=stream)


def _validate_cells(theorem_ids, drop=None, examples=1):
    """Typed errors (exit 2) for unknown ids, assumptions and example counts."""
    from deqverify.theorems import REGISTRY

    unknown = [i for i in theorem_ids if i not in REGISTRY]
    if unknown:
        raise InvalidInputError(f"unknown theorem id(s) {unknown}; `deqverify theorems` lists them")
    if drop is not None and drop not in REGISTRY[theorem_ids[0]].assumptions:
        raise InvalidInputError(f"{theorem_ids[0]} has no assumption {drop!r}; it assumes "
                                f"{list(REGISTRY[theorem_ids[0]].assumptions) or 'nothing'}")
    if examples < 1:
        raise InvalidInputError(f"--examples must be at least 1, got {examples}")


def _directed(args) -> int:
    """A directed search on an open question: Nelder–Mead on the statement's objective from
    seeded restarts; prints how hard it looked; --record stores each restart's best problem."""
    from deqverify.campaigns.directed import directed_search
    from deqverify.campaigns.findings import write_record
    from deqverify.campaigns.run import Outcome
    from deqverify.theorems import REGISTRY

    if not args.theorem or args.drop:
        raise InvalidInputError("--directed searches one open question as stated: give --theorem ID "
                                "(JFB-NONLINEAR or VEC-INVERTIBLE) and no --drop")
    report = directed_search(args.theorem, args.restarts, args.evaluations, args.seed)
    examples = report.examples()
    outcome = Outcome(args.theorem, REGISTRY[args.theorem].statement, None, examples=len(examples),
                      held=sum(e["verdict"] == "held" for e in examples),
                      violated=sum(e["verdict"] == "violated" for e in examples),
                      worst_margin=min((float(v.margin) for _, _, v in report.best), default=float("inf")),
                      seconds=report.cpu_seconds)
    for restart, (objective, _, verdict) in enumerate(report.best):
        print(f"restart {restart}: best objective {objective:.6g}; {verdict.details}")
    print(f"\n{args.theorem}: {report.restarts} restarts, {report.evaluations} evaluations "
          f"({report.refused} refused), {report.cpu_seconds:.1f} s CPU; best objective "
          f"{report.best_objective:.6g}; {outcome.violated} of {report.restarts} restarts ended on a violation"
          + (f" ({report.empty} found nothing to keep: every evaluation refused or infinite)" if report.empty else ""))
    if args.record:
        search = {"restarts": report.restarts, "evaluations": report.evaluations,
                  "refused": report.refused, "cpu_seconds": round(report.cpu_seconds, 1),
                  "best_objective": report.best_objective}
        path = write_record(outcome, examples, Path(args.record), args.seed, search=search)
        print(f"wrote {path}")
    return 0


def _replay(args) -> int:
    """Re-check stored records (no search): exit 0 iff every stored verdict still holds."""
    from deqverify.campaigns.findings import replay, write_matrix

    results = replay(Path(args.replay))
    outcomes = [outcome for _, outcome, _ in results]
    _print_table(outcomes)
    changed = [(record, indices) for record, _, indices in results if indices]
    for record, indices in changed:
        print(f"{record['theorem']} without {record['drop']}: {len(indices)} stored verdict(s) "
              f"changed (examples {indices[:10]})")
    if args.out != "fuzz-out" or args.matrix:
        write_matrix(outcomes, Path(args.out))
        print(f"wrote {Path(args.out) / 'fuzz-matrix.md'} from the record")
    print(f"\n{len(results) - len(changed)} of {len(results)} records reproduce exactly")
    return 1 if changed else 0


def _report_store(args) -> int:
    """The matrix of what the example database holds: every cell's stored examples replayed
    (no search), so a shared store's findings, from any machine, become one table."""
    from deqverify.campaigns.findings import write_matrix
    from deqverify.campaigns.run import run_campaign
    from deqverify.theorems import REGISTRY

    outcomes = [run_campaign(t.id, a, 1, None, args.database, replay_only=True)
                for t in REGISTRY.values() for a in t.assumptions]
    held = [o for o in outcomes if o.examples]
    write_matrix(held, Path(args.out))
    _print_table(held)
    print(f"\n{len(held)} of {len(outcomes)} cells have stored examples in {args.database}; "
          f"wrote {Path(args.out) / 'fuzz-matrix.md'}")
    return 0


def _campaign_job(theorem_id, drop, examples, seed, database, record):
    """One cell in a worker process: (outcome, drawn problems or None)."""
    from deqverify.campaigns.run import run_campaign

    drawn = [] if record else None
    return run_campaign(theorem_id, drop, examples, seed, database, record=drawn), drawn


def _run_cells(cells, args, on_finish=None):
    """Run (theorem, dropped assumption, examples) cells — in order, or on ``--workers``
    processes sharing one example database. Ctrl-C stops the run: returns (finished
    outcomes in cell order, the cells not finished)."""
    from deqverify.campaigns.findings import write_record

    if getattr(args, "workers", 1) < 1:
        raise InvalidInputError(f"--workers must be at least 1, got {args.workers}")
    workers = min(getattr(args, "workers", 1), len(cells))
    record_to = getattr(args, "record", None)
    finished: dict = {}

    def finish(index, outcome, drawn):
        if record_to:
            write_record(outcome, drawn, Path(record_to), args.seed)
        finished[index] = outcome
        if on_finish:
            on_finish([finished[i] for i in sorted(finished)])

    def result():
        return [finished[i] for i in sorted(finished)], [c for i, c in enumerate(cells) if i not in finished]

    with _terminate_interrupts():
        if workers > 1:
            return _run_in_pool(_start_pool(workers), cells, args, finish, result, bool(record_to))
        return _run_in_order(cells, args, finish, result, record_to)


def _run_in_order(cells, args, finish, result, record_to):
    """The cells one after another in this process (``--workers 1``)."""
    from deqverify.campaigns.run import run_campaign

    start = time.perf_counter()
    progress = not args.quiet and sys.stderr.isatty()  # progress frames only on a terminal
    for position, (theorem_id, drop, examples) in enumerate(cells):
        label = f"{position + 1}/{len(cells)} {theorem_id} ({time.perf_counter() - start:.0f}s)"
        drawn = [] if record_to else None
        try:
            outcome = run_campaign(theorem_id, drop, examples, args.seed, args.database,
                                   progress=progress, label=label, record=drawn)
        except KeyboardInterrupt:
            return result()
        finish(position, outcome, drawn)
    return result()


SINGLE_THREADED_BLAS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Thread counts for worker processes, unless the user has set them."""


@contextlib.contextmanager
def _environment(defaults: dict):
    """``os.environ`` with ``defaults`` for the variables the user has not set (inherited by
    processes started inside the block); restored afterwards."""
    added = {name: value for name, value in defaults.items() if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


@contextlib.contextmanager
def _terminate_interrupts():
    """SIGTERM raises KeyboardInterrupt while cells run, so that `kill` stops a run as Ctrl-C
    does (finished rows reported, workers stopped, exit 130) instead of killing the process
    and orphaning its workers."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    if threading.current_thread() is not threading.main_thread():  # signals are the main thread's
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _start_pool(workers: int):
    """``workers`` fresh interpreters (spawn) with one BLAS thread each — forked workers would
    inherit the parent's BLAS pool, and N workers × 2 threads on 2 cores ran the small k×k
    algebra of the cells 2.8× slower (measured on VEC-CONS) — that ignore SIGINT from birth
    (inherited across exec, so also while they import): a terminal's Ctrl-C reaches the whole
    process group, and only the main process acts on it, by terminating the pool."""
    import multiprocessing

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
    try:
        with _environment(SINGLE_THREADED_BLAS):
            return multiprocessing.get_context("spawn").Pool(processes=workers)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)


POOL_POLL_SECONDS = 0.1
"""How often the main process looks for finished cells (and can act on an interrupt)."""


def _run_in_pool(pool, cells, args, finish, result, record: bool):
    """Submit every cell to ``pool``; finish each as it completes. An interrupt terminates
    every worker at once (multiprocessing's public ``Pool.terminate``) and returns what
    finished; a cell that raised re-raises here."""
    try:
        pending = {pool.apply_async(_campaign_job, (*cell, args.seed, args.database, record)): index
                   for index, cell in enumerate(cells)}
        count = 0
        while pending:
            ready = [job for job in pending if job.ready()]
            if not ready:
                time.sleep(POOL_POLL_SECONDS)
            for job in ready:
                finish(pending.pop(job), *job.get())
                count += 1
                if not args.quiet and sys.stderr.isatty():
                    print(f"\r{count}/{len(cells)} cells done", end="", file=sys.stderr)
    except KeyboardInterrupt:
        pool.terminate()
        pool.join()
        return result()
    except BaseException:
        pool.terminate()
        raise
    pool.close()
    pool.join()
    return result()


def _report_interrupted(outcomes, rest) -> int:
    _print_table(outcomes)
    print(f"\ninterrupted: {len(outcomes)} finished, {len(rest)} not run: "
          + ", ".join(f"{t}{'' if d is None else ' without ' + d}" for t, d, _ in rest))
    return 130


def command_verify(args) -> int:
    """Run the catalogue on the built-in solver; exit 0 iff every statement held."""
    from deqverify.theorems import REGISTRY

    ids = args.theorem or [t.id for t in REGISTRY.values() if not t.open_question]
    _validate_cells(ids, examples=args.examples)
    _require_file_target(args.json, "--json")
    if args.certify:
        return _verify_by_proof(ids, args)

    def save(outcomes):
        if args.json:
            Path(args.json).write_text(json.dumps([o.to_dict() for o in outcomes], indent=2))

    outcomes, rest = _run_cells([(i, None, _examples_for(i, args.examples)) for i in ids], args, save)
    if rest:
        return _report_interrupted(outcomes, rest)
    _print_table(outcomes)
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        print(f"\n{o.theorem} VIOLATED: {o.details or o.refusals}\nreproduce with:\n{o.counterexample}")
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} statements held")
    return 0 if not failed else 1


def _verify_by_proof(ids, args) -> int:
    """``verify --certify``: the statements with a proof, decided by ball arithmetic; exit 0
    iff no problem was proved to violate its claim."""
    import deqverify.certify  # noqa: F401  (MissingExtraError, exit 2, without python-flint)
    from deqverify.campaigns.certified import certifiable, certify_statement

    outcomes = []
    for theorem_id in certifiable(ids):
        outcomes.append(certify_statement(theorem_id, _examples_for(theorem_id, args.examples), args.seed))
        if args.json:
            Path(args.json).write_text(json.dumps([o.to_dict() for o in outcomes], indent=2))
    header = f"{'id':10s} {'statement':48s} {'problems':>8s} {'proved':>6s} {'viol.':>5s} {'uncert.':>7s} {'widest radius':>13s} {'time':>7s}"
    print(header)
    print("-" * len(header))
    for o in outcomes:
        statement = o.statement if len(o.statement) <= 48 else o.statement[:45] + "..."
        print(f"{o.theorem:10s} {statement:48s} {o.problems:8d} {o.certified:6d} {o.violated:5d} "
              f"{o.uncertified:7d} {o.widest_radius:13.2g} {o.seconds:6.1f}s")
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        print(f"\n{o.theorem} VIOLATED (proved): {o.violation}")
    print(f"\n{sum(o.certified for o in outcomes)} of {sum(o.problems for o in outcomes)} problems proved; "
          f"{len(outcomes) - len(failed)} of {len(outcomes)} statements without a proved violation")
    return 0 if not failed else 1


def command_fuzz(args) -> int:
    """Break one assumption; report how often the claim still held and the counterexample."""
    from deqverify.campaigns.findings import read_matrix, write_matrix
    from deqverify.theorems import REGISTRY

    if args.examples < 1:
        raise InvalidInputError(f"--examples must be at least 1, got {args.examples}")
    _require_dir_target(args.out, "--out")
    _require_dir_target(args.record, "--record")
    if args.resume and not args.matrix:
        raise InvalidInputError("--resume continues a matrix: use `deqverify fuzz --matrix "
                                f"--resume {args.resume}`")
    if args.replay:
        return _replay(args)
    if args.directed:
        return _directed(args)
    if args.report:
        return _report_store(args)
    if args.matrix:
        out = Path(args.resume or args.out)
        done = read_matrix(out) if args.resume else []
        finished = {(o.theorem, o.violated_assumption) for o in done}
        # every dropped assumption, and the open questions as stated (nothing dropped)
        cells = [(t.id, a, _examples_for(t.id, args.examples)) for t in REGISTRY.values()
                 for a in ((None,) if t.open_question else ()) + t.assumptions
                 if (t.id, a) not in finished]
        outcomes, rest = _run_cells(cells, args, lambda new: write_matrix(done + new, out))
        if rest:
            return _report_interrupted(done + outcomes, rest)
        write_matrix(done + outcomes, out)
        _print_table(done + outcomes)
        print(f"\nwrote {out / 'fuzz-matrix.md'} and fuzz-matrix.json")
        return 0
    if not args.theorem:
        raise InvalidInputError("give --theorem ID [--drop ASSUMPTION], or --matrix")
    _validate_cells([args.theorem], args.drop, args.examples)
    outcomes, rest = _run_cells([(args.theorem, args.drop, args.examples)], args)
    if rest:
        return _report_interrupted(outcomes, rest)
    outcome = outcomes[0]
    _print_table([outcome])
    print(f"\nwith {args.drop or 'nothing'} dropped, {args.theorem} held in {outcome.held} of "
          f"{outcome.examples} examples ({outcome.refused} refused with a typed error)")
    if outcome.counterexample:
        print(f"shrunk counterexample ({outcome.details}):\n{outcome.counterexample}")
    return 0


def command_check(args) -> int:
    """Run the conformance battery on an implementation; exit 0 iff every check not listed
    as an expected failure passed, 1 if one failed, 2 for a usage or loading error."""
    from deqverify.conformance import (
        CHECKS,
        check_implementation,
        read_expected_failures,
    )

    if args.summary:
        from deqverify.conformance.report import summary_table

        missing = [path for path in args.summary if not Path(path).is_file()]
        if missing:
            raise InvalidInputError(f"no such report file(s): {missing}")
        print(summary_table(args.summary))
        return 0
    if args.list:
        for check in CHECKS.values():
            print(f"{check.id:26s} {check.cites:10s} {check.description()}")
        return 0
    if not args.implementation:
        raise InvalidInputError("give an implementation (builtin, torchdeq, …, or module:object), or --list")
    unknown = [c for c in args.check or () if c not in CHECKS]
    if unknown:
        raise InvalidInputError(f"unknown check id(s) {unknown}; `deqverify check --list` shows them")
    if not (0 < args.timeout < float("inf")):  # NaN and inf too: a timeout must end
        raise InvalidInputError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    _require_file_target(args.json, "--json")
    _require_file_target(args.html, "--html")
    expected = read_expected_failures(args.expected_failures) if args.expected_failures else {}
    report = check_implementation(args.implementation, expected, args.check, args.timeout)
    print(report.table())
    if args.json:
        Path(args.json).write_text(report.to_json())
    if args.html:
        from deqverify.conformance.html_report import render

        Path(args.html).write_text(render(report), encoding="utf-8")
    return report.exit_code


def _require_file_target(path, flag: str) -> None:
    """Refuse, before any work is done, an output file that cannot be written: a directory,
    a missing parent directory, or a place this user may not write."""
    if not path:
        return
    target = Path(path)
    if target.is_dir():
        raise InvalidInputError(f"{flag} {path!r} is a directory: give a file name")
    parent = target.resolve().parent
    if not parent.is_dir():
        raise InvalidInputError(f"cannot write {path!r}: directory {str(target.parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InvalidInputError(f"{flag} {path!r}: no permission to write there")


def _require_dir_target(path, flag: str) -> None:
    """Refuse, before any work is done, an output directory that cannot be made or written:
    an existing file, a missing parent directory, or a place this user may not write."""
    if not path:
        return
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InvalidInputError(f"{flag} {path!r} is a file: give a directory")
    where = target if target.exists() else target.resolve().parent
    if not where.is_dir():
        raise InvalidInputError(f"{flag} {path!r}: its parent directory {str(target.parent)!r} does not exist")
    if not os.access(where, os.W_OK):
        raise InvalidInputError(f"{flag} {path!r}: no permission to write there")


def command_theorems(args) -> int:
    """List every statement with its assumptions (the names --drop accepts)."""
    from deqverify.app import catalogue

    print(catalogue.markdown() if args.markdown else catalogue.text(), end="" if args.markdown else "\n")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), like every other usage error here."""

    def error(self, message):
        self.exit(2, f"deqverify: error: {message} (see {self.prog} --help)\n")


def _count(text: str) -> int:
    """A positive integer argument."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deqverify", description=__doc__)
    parser.add_argument("--version", action="version", version=f"deqverify {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    solve = commands.add_parser("solve", help="solve a random DEQ problem, compare with Picard")
    solve.add_argument("--activation", default="sigmoid", choices=sorted(BUILTIN_ACTIVATIONS),
                       help="σ of the single-index DEQ")
    solve.add_argument("--theta2", type=float, default=0.5, help="the coupling θ₂")
    solve.add_argument("--n", type=_count, default=100_000, help="samples")
    solve.add_argument("--d", type=_count, default=100, help="input dimension")
    solve.add_argument("--seed", type=int, default=0, help="numpy seed of X and θ₁")
    solve.set_defaults(handler=command_solve)

    reproduce = commands.add_parser("reproduce", help="the paper's synthetic experiments")
    reproduce.add_argument("--out", default="reproduce-out", help="output directory")
    reproduce.add_argument("--quick", action="store_true", help="2 000 instead of 40 000 steps")
    reproduce.add_argument("--vector", action="store_true",
                           help="the vector-DEQ experiments (k = 3: conservation laws, balances)")
    reproduce.set_defaults(handler=command_reproduce)

    verify = commands.add_parser("verify", help="check every theorem on the built-in solver")
    verify.add_argument("--theorem", action="append", help="theorem id (repeatable)")
    verify.add_argument("--examples", type=int, default=40,
                        help="examples per pointwise statement (a quarter for trajectories)")
    verify.add_argument("--seed", type=int, default=0,
                        help="reproducible search (stored examples are replayed first either way)")
    verify.add_argument("--json", help="write the results as JSON")
    verify.add_argument("--database", default=DEFAULT_DATABASE, help="Hypothesis example database")
    verify.add_argument("--quiet", action="store_true", help="no progress bar")
    verify.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="statements run in parallel processes sharing the database "
                             "(default: all cores)")
    verify.add_argument("--certify", action="store_true",
                        help="decide the statements that have a proof (FP-1, VEC-FP-1, LIN-ORTH, "
                             "GD-RADIUS) by ball arithmetic: needs the [certify] extra")
    verify.set_defaults(handler=command_verify)

    theorems = commands.add_parser("theorems", help="the catalogue: ids, statements, assumptions")
    theorems.add_argument("--markdown", action="store_true", help="print docs/theorems.md")
    theorems.set_defaults(handler=command_theorems)

    fuzz = commands.add_parser("fuzz", help="drop one assumption and see whether the claim survives")
    fuzz.add_argument("--theorem", help="theorem id (deqverify theorems lists them)")
    fuzz.add_argument("--drop", help="assumption name, e.g. A-init, step-size")
    fuzz.add_argument("--matrix", action="store_true", help="every (theorem, assumption) pair")
    fuzz.add_argument("--examples", type=int, default=50,
                      help="examples per pointwise statement (a quarter for trajectories)")
    fuzz.add_argument("--seed", type=int, default=0,
                      help="reproducible search (stored examples are replayed first either way)")
    fuzz.add_argument("--out", default="fuzz-out", help="directory for the matrix reports")
    fuzz.add_argument("--resume", metavar="DIR", help="continue a matrix in DIR, skipping finished rows")
    fuzz.add_argument("--report", action="store_true",
                      help="rebuild the matrix from what --database holds (no search)")
    fuzz.add_argument("--record", metavar="DIR",
                      help="store every drawn problem and its verdict in DIR (one file per cell)")
    fuzz.add_argument("--replay", metavar="DIR",
                      help="re-check the records in DIR deterministically (no search); exit 1 "
                           "if a stored verdict changed; with --out, write the matrix from it")
    fuzz.add_argument("--directed", action="store_true",
                      help="optimise an open question's objective (Nelder-Mead from seeded restarts) "
                           "instead of drawing examples: JFB-NONLINEAR, VEC-INVERTIBLE")
    fuzz.add_argument("--restarts", type=int, default=4, help="--directed: seeded starts")
    fuzz.add_argument("--evaluations", type=int, default=400, help="--directed: checks per start")
    fuzz.add_argument("--database", default=DEFAULT_DATABASE, help="Hypothesis example database")
    fuzz.add_argument("--quiet", action="store_true", help="no progress bar")
    fuzz.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                      help="cells run in parallel processes sharing one example database "
                           "(default: all cores)")
    fuzz.set_defaults(handler=command_fuzz)

    check = commands.add_parser("check", help="conformance battery against a DEQ implementation")
    check.add_argument("implementation", nargs="?", help="builtin, torchdeq, torchdeq-exact, "
                       "jaxopt, optimistix, or package.module:object (the working directory "
                       "is importable)")
    check.add_argument("--list", action="store_true", help="list the check ids and exit")
    check.add_argument("--summary", nargs="+", metavar="JSON",
                       help="print the markdown table of stored JSON reports and exit")
    check.add_argument("--json", help="write the report as JSON")
    check.add_argument("--html", help="write the report as one HTML page (table, layer summary, residual "
                                      "and near-instability plots)")
    check.add_argument("--expected-failures", help="file of check ids (# reason) allowed to fail")
    check.add_argument("--check", action="append", help="run only this check id (repeatable)")
    check.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                       help=f"seconds without progress (no answer, no note, under 10%% CPU) after which "
                            f"a check or loading is a hang (default {DEFAULT_TIMEOUT:g}); a check that "
                            "keeps computing gets up to 20 times that")
    check.set_defaults(handler=command_check)
    return parser


HYPOTHESIS_STORAGE = Path(".deqverify") / "hypothesis"
"""Where Hypothesis keeps its own files (a cache of constants) during a command, unless the
user set HYPOTHESIS_STORAGE_DIRECTORY: beside the example store in .deqverify, not a stray
.hypothesis/ in whatever directory the command was run from."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _environment({"HYPOTHESIS_STORAGE_DIRECTORY": str(HYPOTHESIS_STORAGE)}):
            return args.handler(args)
    except DEQError as error:
        print(f"deqverify: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
