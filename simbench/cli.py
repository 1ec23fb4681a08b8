"""The ``simbench`` command: parses arguments, calls the library, prints.

Any error ends the command with one line naming the culprit (exit status 2 for bad
input, 1 for anything unexpected; ``simbench --debug ...`` shows the traceback instead);
Ctrl-C prints "interrupted" and exits with 130. Files are written atomically, so an
interrupted command leaves each file either as it was or complete.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
errors = Console(stderr=True, highlight=False)

#: exceptions that report bad input (a file, an argument, a metric's refusal), not a bug
BAD_INPUT = (ValueError, OSError, ImportError, LookupError, ArithmeticError)


def _table(frame, title: str) -> Table:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    return table


def cmd_tasks(args) -> None:
    from simbench.zoo.catalog import task_table

    console.print(_table(task_table(), "simbench tasks"))


def cmd_architectures(args) -> None:
    from simbench.zoo.catalog import architecture_table

    console.print(_table(architecture_table(), "simbench architectures"))


def cmd_train(args) -> None:
    from simbench.zoo import TrainConfig, train_population

    config = TrainConfig(max_steps=args.steps, threads=args.threads)
    members = [(task, seed) for task in args.task for seed in args.seeds]
    result = train_population(args.arch, args.hidden, members, config)
    columns = ["task", "seed", "steps", "stop_reason", "final_loss", "performance", "passed"]
    console.print(_table(result.table[columns], f"{args.arch}, {args.hidden} units"))


def cmd_zoo_build(args) -> None:
    from simbench.zoo.build import build_zoo

    started = time.perf_counter()
    zoo = build_zoo(args.recipe, out=args.out, workers=args.workers, threads=args.threads,
                    scheduler=args.scheduler)
    console.print(_table(zoo.summary(), f"zoo {zoo.path} ({len(zoo)} networks)"))
    console.print(f"built in {time.perf_counter() - started:.0f} s; zoo hash {zoo.hash[:16]}")


def cmd_zoo_info(args) -> None:
    from simbench.zoo.store import load_zoo

    zoo = load_zoo(args.zoo)
    console.print(_table(zoo.summary(), f"zoo {zoo.path} ({len(zoo)} networks, "
                                        f"{int(zoo.manifest.passed.sum())} passed)"))


def cmd_zoo_analyse(args) -> None:
    from simbench.dynamics.cache import analyse_zoo
    from simbench.zoo.store import load_zoo

    zoo = load_zoo(args.zoo)
    started = time.perf_counter()
    if args.metric:
        from simbench.bench.stored import store_states, stored_size

        for name, count in store_states(zoo, args.metric).items():
            console.print(f"{name}: {count} states stored")
        console.print(f"{args.zoo}/analyses/states: {stored_size(zoo) / 1e6:.2f} MB "
                      f"({time.perf_counter() - started:.0f} s)")
        return
    done = analyse_zoo(zoo.filter(passed=True) if args.passed else zoo, batch=args.batch, progress=True,
                       analyse=not args.copy_only)
    console.print(f"{done['folder']}: {done['present']} networks were there, {done['copied']} copied from the "
                  f"cache, {done['analysed']} analysed in {time.perf_counter() - started:.0f} s; "
                  f"{done['bytes'] / 1e6:.2f} MB")


def cmd_zoo_controls(args) -> None:
    from simbench.zoo.controls import add_controls

    written = add_controls(args.zoo, threads=args.threads)
    console.print(f"{args.zoo}: {written} untrained controls written (shuffled and random per trained network)")


def cmd_factors(args) -> None:
    from simbench.bench.factors import factor_table

    table = factor_table(args.leaderboards, None if args.metric == ["all"] else args.metric, args.zoo)
    repeated = table.duplicated(["metric", "suite"], keep=False)
    shown = table[["suite", "n_networks"]].copy()
    shown.insert(0, "metric", table["params"].where(repeated, table["metric"]))
    for name in ("activation_auc", "dale_auc", "activation_vs_dale"):
        shown[name] = [f"{v:.2f} [{lo:.2f}, {hi:.2f}]" for v, lo, hi in
                       zip(table[name], table[f"{name}_low"], table[f"{name}_high"])]
    shown["dominant"] = table["dominant"]
    console.print(_table(shown, "activation vs Dale's law (Tolmachev & Engel 2025); 95 % design-bootstrap intervals"))


def cmd_rescore(args) -> None:
    from simbench.bench.rescore import rescore
    from simbench.bench.run import default_zoo
    from simbench.zoo.store import load_zoo

    zoo = load_zoo(args.zoo) if args.zoo else default_zoo()
    rows = rescore(args.leaderboards, zoo, args.suite, n_boot=args.bootstrap)
    console.print(f"{len(rows)} rows of zoo {zoo.path.name} rescored in {args.leaderboards}/")


def cmd_reliability(args) -> None:
    from simbench.bench.reliability import reliability_table
    from simbench.bench.run import default_zoo
    from simbench.zoo.store import atomic_write_text, load_zoo

    zoo = load_zoo(args.zoo) if args.zoo else default_zoo()
    table = reliability_table(args.leaderboards, zoo, args.suite)
    if args.out:
        atomic_write_text(Path(args.out), table.to_csv(index=False, float_format="%.3f"))
    wide = table.pivot(index="score", columns="suite", values="spearman").round(2).reset_index()
    console.print(_table(wide, f"split-half reliability of the metric rankings, zoo {zoo.path.name} "
                               "(Spearman rho between two disjoint halves of the seeds)"))


def cmd_report(args) -> None:
    from simbench.bench.report import write_report
    from simbench.bench.run import default_zoo
    from simbench.zoo.store import load_zoo

    zoo = load_zoo(args.zoo) if args.zoo else default_zoo()
    console.print(f"wrote {write_report(args.leaderboards, zoo, args.out)}")


def cmd_metrics_list(args) -> None:
    from simbench.metrics import available_metrics

    table = Table(title="simbench metrics (entry-point group simbench.metrics)")
    for column in ("id", "kind", "parameters", "description"):
        table.add_column(column)
    for record in available_metrics():
        if record.error:
            table.add_row(record.id, "—", "", f"[red]failed to load: {record.error}[/red]")
        else:
            params = ", ".join(f"{k}={v}" for k, v in record.parameters.items())
            table.add_row(record.id, record.kind, params, record.description)
    console.print(table)


def cmd_run(args) -> int:
    from simbench.bench.leaderboard import check_output_folder
    from simbench.bench.run import default_zoo, run_metrics
    from simbench.metrics import available_metrics, get_metric
    from simbench.zoo.store import load_zoo

    check_output_folder(args.out)  # every argument checked before any work
    specs = ([r.id for r in available_metrics() if not r.error] if args.metric == ["all"] else args.metric)
    metrics = [get_metric(spec) for spec in specs]
    load_zoo(args.zoo) if args.zoo else default_zoo()
    columns = {"suite": "suite", "n_networks": "n", "arch_auc": "arch_auc", "task_auc": "task_auc",
               "knn_arch": "knn_arch", "knn_task": "knn_task", "scaffold_specificity": "specificity",
               "prepare_seconds": "prepare s", "pairwise_seconds": "pairs s"}
    failed = []
    options = dict(zoo=args.zoo, suites=args.suite, out=args.out, workers=args.workers, scheduler=args.scheduler,
                   n_boot=args.bootstrap, topology=args.topology, controls=args.controls, resume=args.resume,
                   undefined_suites="skip" if args.metric == ["all"] else "error",  # ood: cddm only
                   seeds_per_cell=args.seeds_per_cell, cache_states=args.state_cache)
    jobs = args.jobs if args.jobs is not None else (1 if args.workers > 1 or args.scheduler else None)
    for metric, outcome in run_metrics(metrics, jobs, **options):  # a failing metric is reported, the rest run
        if isinstance(outcome, Exception):
            if args.debug:
                raise outcome
            message = describe(outcome)
            report(message if message.startswith(metric.id) else f"{metric.name}: {message}")
            failed.append(metric.name)
        elif outcome.empty:
            console.print(f"{metric.name}: nothing to score (already published, or not defined on these suites)")
        else:
            shown = outcome[list(columns)].rename(columns=columns)
            console.print(_table(shown, f"{outcome.params[0]} → {args.out}/"))
    if failed:
        report(f"{len(failed)} of {len(metrics)} metrics failed: {', '.join(failed)}")
        return 2
    return 0


def cmd_plot_mds(args) -> None:
    from simbench.bench.leaderboard import load_distances
    from simbench.bench.plots import mds_plot
    from simbench.bench.run import default_zoo, for_suite
    from simbench.metrics import get_metric
    from simbench.zoo.store import load_zoo

    zoo = load_zoo(args.zoo) if args.zoo else default_zoo()
    for suite in args.suite or sorted(set(zoo.manifest.suite)):
        metric = for_suite(get_metric(args.metric), suite)
        distances = load_distances(args.leaderboards, suite, metric.name)
        out = Path(args.out) / f"mds-{suite}-{metric.id}.png"
        mds_plot(distances, zoo.manifest, f"{metric.name} — {suite}", out)
        console.print(f"saved {out}")


def cmd_fixed_points(args) -> None:
    from simbench.bench.run import default_zoo
    from simbench.dynamics.cache import zoo_dynamics
    from simbench.dynamics.plot import fixed_point_plot
    from simbench.zoo.store import load_zoo

    zoo = load_zoo(args.zoo) if args.zoo else default_zoo()
    result = zoo_dynamics(zoo, [args.network], progress=True)[0]
    condition = None
    if args.condition is not None:
        if args.condition not in result.conditions:
            raise ValueError(f"unknown condition {args.condition!r}; valid: {', '.join(result.conditions)}")
        condition = result.conditions.index(args.condition)
    console.print(_table(result.summary(), f"{args.network}: fixed points per constant input"))
    out = Path(args.out or f"{args.network}-fixed-points.png")
    title = f"{args.network}: fixed points coloured by unstable dimensions"
    fixed_point_plot(result, zoo.recording(args.network).states, out, title, condition)
    console.print(f"saved {out}")


def cmd_ood(args) -> None:
    from simbench.bench.run import default_zoo
    from simbench.dynamics.ood import ood_map, plot_ood_map
    from simbench.zoo.store import load_zoo

    zoo = load_zoo(args.zoo) if args.zoo else default_zoo()
    result = ood_map(zoo.network(args.network))
    console.print(_table(result.summary(), f"{args.network}: P(correct) inside / outside the training "
                                           f"range ({result.seconds:.1f} s)"))
    out = plot_ood_map(result, args.out or f"{args.network}-ood.png")
    console.print(f"saved {out}")


def cmd_probe(args) -> None:
    from simbench.bench.recordings import write_probe

    inputs, table = write_probe(args.suite, args.out)
    console.print(f"saved {inputs} (inputs, suite, conditions) and {table} (the conditions)")


def cmd_place(args) -> None:
    from simbench.bench.place import place
    from simbench.bench.recordings import load_network

    subject = args.states if args.states else load_network(args.network)
    placed = place(subject, args.suite, args.metric, zoo=args.zoo, exclude=args.exclude,
                   n_nearest=args.nearest, leaderboards=args.leaderboards)
    console.print(_table(placed.nearest, f"nearest {args.suite} networks, {placed.metric}"))
    calls = placed.calls[["factor", "call", "distance", "zoo_loo", "knn", "knn_low", "knn_high"]]
    console.print(_table(calls, "1-NN calls; zoo_loo: leave-one-out accuracy of the same rule on this zoo; "
                                "knn: the leaderboard's 1-NN accuracy and its interval"))
    console.print(_table(placed.cells.head(args.cells), "cells, nearest first; percentile of your distances "
                                                          "within each cell's own distances (50 ≈ one more seed)"))
    if placed.fixed_points is not None:
        points = placed.fixed_points[["network", "condition", "fixed_points", "stable", "saddles", "manifold_dim",
                                      "cycles"]]
        console.print(_table(points, "fixed points per constant input: yours and the nearest's"))
        graphs = placed.topology[["network", "condition", "nodes", "edges", "transitions"]]
        console.print(_table(graphs, f"topology graphs; edges by unstable dimensions of their ends "
                                     f"(fp-topology distance {placed.topology_distance:.3f})"))
    for path in placed.save_figures(args.out):
        console.print(f"saved {path}")


def at_least(low: int):
    """An argparse type: an integer ≥ ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer ≥ {low}, got {text!r}")
        return value
    return parse


class Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="simbench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="on an error, show its traceback")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("tasks", help="list tasks and suites").set_defaults(func=cmd_tasks)
    commands.add_parser("architectures", help="list architectures").set_defaults(func=cmd_architectures)
    train = commands.add_parser("train", help="train one population and print its results")
    train.add_argument("--arch", required=True)
    train.add_argument("--task", nargs="+", required=True, help="tasks of one suite")
    train.add_argument("--seeds", nargs="+", type=at_least(0), default=[0])
    train.add_argument("--hidden", type=at_least(1), default=32)
    train.add_argument("--steps", type=at_least(1), default=3000)
    train.add_argument("--threads", type=at_least(1), default=None)
    train.set_defaults(func=cmd_train)

    _add_zoo_commands(commands)
    _add_benchmark_commands(commands)
    return parser


def _add_zoo_commands(commands) -> None:
    """`simbench zoo build | info | analyse | controls`."""
    zoo = commands.add_parser("zoo", help="build and inspect zoos").add_subparsers(dest="zoo_command", required=True)
    build = zoo.add_parser("build", help="train what a recipe lists and the zoo lacks")
    build.add_argument("recipe")
    build.add_argument("--out", default=None, help="zoo directory (default: next to the recipe, named after it)")
    build.add_argument("--workers", type=at_least(1), default=1, help="local training processes")
    build.add_argument("--threads", type=at_least(1), default=None, help="torch threads per worker")
    build.add_argument("--scheduler", default=None, help="Dask scheduler address, tcp://host:port")
    build.set_defaults(func=cmd_zoo_build)
    info = zoo.add_parser("info", help="counts and performance per task × architecture")
    info.add_argument("zoo")
    info.set_defaults(func=cmd_zoo_info)
    analyse = zoo.add_parser("analyse", help="store the fixed-point analyses of every network with the zoo "
                                             "(resumable: adds only what is missing)")
    analyse.add_argument("zoo")
    analyse.add_argument("--metric", nargs="+", default=None,
                         help="store these metrics' prepared states instead (ZOO/analyses/states), for "
                              "metrics whose per-network work is long and whose states are small")
    analyse.add_argument("--batch", type=at_least(1), default=32,
                         help="networks of one architecture analysed together")
    analyse.add_argument("--passed", action="store_true",
                         help="only the networks a benchmark row scores (trained, above threshold; no controls)")
    analyse.add_argument("--copy-only", action="store_true",
                         help="store what the local dynamics cache holds; analyse nothing")
    analyse.set_defaults(func=cmd_zoo_analyse)

    controls = zoo.add_parser("controls", help="add the untrained controls (shuffled, random) of every "
                              "trained network to a zoo")
    controls.add_argument("zoo")
    controls.add_argument("--threads", type=at_least(1), default=1, help="torch threads (default 1)")
    controls.set_defaults(func=cmd_zoo_controls)

    factors = commands.add_parser("factors", help="activation vs Dale's law per metric and suite, from the leaderboards")
    factors.add_argument("--metric", nargs="+", default=["all"], help="metric ids or names (default: all)")
    factors.add_argument("--leaderboards", default="leaderboards")
    factors.add_argument("--zoo", default=None, help="zoo name to keep (default: every zoo's rows)")
    factors.set_defaults(func=cmd_factors)

    report = commands.add_parser("report", help="the seed papers' claims next to the zoo's numbers (Markdown + PNG)")
    report.add_argument("--out", default="reports/reference", help="folder for README.md and the figures")
    report.add_argument("--zoo", default=None, help="zoo directory (default: the committed reference zoo)")
    report.add_argument("--leaderboards", default="leaderboards")
    report.set_defaults(func=cmd_report)

    reliability = commands.add_parser("reliability", help="split-half reliability of the metric rankings, "
                                      "from the published matrices")
    reliability.add_argument("--zoo", default=None, help="zoo directory (default: the committed reference zoo)")
    reliability.add_argument("--leaderboards", default="leaderboards")
    reliability.add_argument("--suite", nargs="+", default=None)
    reliability.add_argument("--out", default=None, help="also write the table to this CSV")
    reliability.set_defaults(func=cmd_reliability)

    rescore = commands.add_parser("rescore", help="recompute published rows' scores from their saved matrices")
    rescore.add_argument("--zoo", default=None, help="zoo directory (default: the committed reference zoo)")
    rescore.add_argument("--leaderboards", default="leaderboards")
    rescore.add_argument("--suite", nargs="+", default=None)
    rescore.add_argument("--bootstrap", type=int, default=1000, help="bootstrap draws for the intervals")
    rescore.set_defaults(func=cmd_rescore)


def _add_benchmark_commands(commands) -> None:
    """Metrics, runs, figures, factors, reports and placing a network."""
    metrics = commands.add_parser("metrics", help="the registered metrics").add_subparsers(
        dest="metrics_command", required=True)
    metrics.add_parser("list", help="id, kind, parameters, description").set_defaults(func=cmd_metrics_list)

    run = commands.add_parser("run", help="score a metric on a zoo and update the leaderboards")
    run.add_argument("--metric", nargs="+", required=True, help="metric ids (with parameters), or all")
    run.add_argument("--zoo", default=None, help="zoo directory (default: the committed reference zoo)")
    run.add_argument("--suite", nargs="+", default=None, help="suites (default: all in the zoo)")
    run.add_argument("--out", default="leaderboards", help="leaderboard directory")
    run.add_argument("--jobs", type=at_least(1), default=None,
                     help="metrics run at once, each in its own process with one torch/BLAS thread "
                          "(default: every core when several metrics are named, else 1)")
    run.add_argument("--workers", type=at_least(1), default=1,
                     help="processes sharing one metric's pairs (loop metrics such as gw, dsa)")
    run.add_argument("--scheduler", default=None, help="Dask scheduler address, tcp://host:port")
    run.add_argument("--bootstrap", type=at_least(1), default=1000, help="bootstrap draws for the intervals")
    run.add_argument("--no-topology", dest="topology", action="store_false",
                     help="leave topology_rho and ood_rho empty (they need every network's fixed points "
                          "and OOD maps)")
    run.add_argument("--seeds-per-cell", type=at_least(2), default=None,
                     help="score only the K lowest seeds of each cell (a documented subsample; the row says so)")
    run.add_argument("--resume", action="store_true",
                     help="skip the suites whose row for this metric and these networks is already in --out")
    run.add_argument("--no-state-cache", dest="state_cache", action="store_false",
                     help="do not write prepared states to the zoo's cache/ (a state can be as large as its "
                          "recording: 35 MB a network on cddm)")
    run.add_argument("--no-controls", dest="controls", action="store_false",
                     help="leave control_auc empty (it scores the zoo's untrained controls too)")
    run.set_defaults(func=cmd_run)

    fixed = commands.add_parser("fixed-points", help="fixed points of one network: summary and 3-D PCA plot")
    fixed.add_argument("network", help="network id (see the zoo's manifest.csv)")
    fixed.add_argument("--zoo", default=None, help="zoo directory (default: the committed reference zoo)")
    fixed.add_argument("--condition", default=None, help="plot one constant-input condition only")
    fixed.add_argument("--out", default=None, help="PNG path (default: NET_ID-fixed-points.png)")
    fixed.set_defaults(func=cmd_fixed_points)

    ood = commands.add_parser("ood", help="out-of-distribution psychometric maps of one CDDM network (PNG)")
    ood.add_argument("network", help="network id of the cddm suite (see the zoo's manifest.csv)")
    ood.add_argument("--zoo", default=None, help="zoo directory (default: the committed reference zoo)")
    ood.add_argument("--out", default=None, help="PNG path (default: NET_ID-ood.png)")
    ood.set_defaults(func=cmd_ood)

    plot = commands.add_parser("plot", help="figures").add_subparsers(dest="plot_command", required=True)
    mds = plot.add_parser("mds", help="2-D MDS of a saved distance matrix")
    mds.add_argument("--metric", required=True)
    mds.add_argument("--zoo", default=None)
    mds.add_argument("--suite", nargs="+", default=None)
    mds.add_argument("--leaderboards", default="leaderboards")
    mds.add_argument("--out", default="leaderboards/plots")
    mds.set_defaults(func=cmd_plot_mds)

    probe = commands.add_parser("probe", help="write a suite's probe inputs and conditions, to record your model on")
    probe.add_argument("suite")
    probe.add_argument("--out", required=True, help=".npz path (the condition table also goes to NAME.conditions.csv)")
    probe.set_defaults(func=cmd_probe)

    place = commands.add_parser("place", help="place your network or recording among a zoo's networks")
    place.add_argument("suite")
    subject = place.add_mutually_exclusive_group(required=True)
    subject.add_argument("--states", help=".npz with states [conditions, time, units] on the suite's probe inputs")
    subject.add_argument("--network", help="FILE.py:NAME or MODULE:NAME: a network, or a function returning one")
    place.add_argument("--metric", default="cca", help="metric id with parameters (default: cca)")
    place.add_argument("--zoo", default=None, help="zoo directory (default: the committed reference zoo)")
    place.add_argument("--exclude", nargs="+", default=(), help="zoo network ids to leave out")
    place.add_argument("--nearest", type=int, default=5, help="nearest networks to list")
    place.add_argument("--cells", type=int, default=8, help="cells to list")
    place.add_argument("--leaderboards", default="leaderboards", help="published leaderboards and distances")
    place.add_argument("--out", default=".", help="folder for the figures")
    place.set_defaults(func=cmd_place)


def describe(error: BaseException) -> str:
    """One line for an error: its message, with its type unless it reports bad input."""
    message = " ".join(str(error).split())
    if isinstance(error, BAD_INPUT) and message:
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def report(message: str) -> None:
    errors.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        errors.print("interrupted", soft_wrap=True)
        return 130
    except (Exception, SystemExit) as error:  # every failure ends in one line naming it
        if args.debug:
            raise
        if isinstance(error, BAD_INPUT):
            report(describe(error))
            return 2
        report(f"{describe(error)} (simbench --debug ... shows the traceback)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
