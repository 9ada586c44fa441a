"""The ``hwep`` command.

    hwep train CONFIG.toml [--out DIR] [--resume] [--epochs N] [--seed S] [--backend B]
    hwep gradcheck CONFIG.toml [--backend B] [--samples N] [--json FILE]
    hwep info GRAPH_OR_CONFIG
    hwep sweep CONFIG.toml --seeds 0-4 [--workers N] [--executor process|dask]
    hwep export GRAPH_OR_CONFIG [-o FILE.cir] [--analysis ac|tran] | --examples DIR

A mistake in the user's input (a bad graph, config, data file or option) prints one
line, ``hwep: error: ...``, and exits with status 2; no traceback. Status 130 means
interrupted: the last completed epoch is checkpointed and ``--resume`` continues it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np

from .errors import HwepError

__all__ = ["main", "build_parser"]

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    _limit_blas_threads(args.blas_threads)
    try:
        return args.handler(args) or 0
    except HwepError as exc:
        print(f"hwep: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"hwep: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        where = getattr(args, "out", None) or "the run directory"
        print(
            f"hwep: interrupted; completed epochs are checkpointed in {where}; "
            "continue with the same command and --resume",
            file=sys.stderr,
        )
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="hwep",
        description="Emulate analog learning hardware trained by Equilibrium "
        "Propagation.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    parser.add_argument(
        "--blas-threads",
        type=_positive_int,
        default=1,
        metavar="N",
        help="threads of the BLAS library (default 1: the solves are sparse, and "
        "threaded BLAS slows small dense steps down on a busy machine)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _COMMANDS:
        add(commands)
    return parser


# -- train ---------------------------------------------------------------------


def _add_train(commands) -> None:
    p = commands.add_parser("train", help="train a network from a TOML config")
    p.add_argument("config", help="TOML config file")
    p.add_argument("--out", help="run directory (default runs/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument(
        "--overwrite", action="store_true", help="start afresh over an existing run"
    )
    p.add_argument("--epochs", type=int, help="total number of epochs")
    p.add_argument("--seed", type=int, help="seed of values, split and batches")
    p.add_argument("--backend", help="backend name (overrides [backend] name)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_train)


def _train(args) -> int:
    from .config import load_config
    from .errors import ConfigError
    from .train import Trainer

    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    args.out = str(out)
    progress = not args.quiet and sys.stderr.isatty()
    report = None if args.quiet or progress else _epoch_reporter()
    if args.resume and (out / "run.json").is_file():
        trainer = Trainer.from_run_dir(
            out, epochs=args.epochs, progress=progress, on_epoch=report
        )
        stored = trainer.config.get("_path")
        if stored and Path(stored).resolve() != Path(args.config).resolve():
            print(
                f"hwep: note: resuming the run in {out}, started from {stored}; "
                f"{args.config} is not used",
                file=sys.stderr,
            )
        if args.seed is not None or args.backend is not None:
            print(
                "hwep: note: --resume keeps the run's own seed and backend",
                file=sys.stderr,
            )
    else:
        if args.resume and (out / "checkpoint.json").is_file():
            raise ConfigError(
                f"cannot resume: {str(out)!r} has a checkpoint but no run.json (the "
                "run's settings); restore it, or start afresh with --overwrite"
            )
        if args.resume:
            print(
                f"hwep: note: nothing to resume in {out}; starting afresh",
                file=sys.stderr,
            )
            args.resume = False
        trainer = Trainer(
            load_config(args.config),
            out_dir=out,
            backend=args.backend,
            epochs=args.epochs,
            seed=args.seed,
            progress=progress,
            on_epoch=report,
        )
    summary = trainer.run(resume=args.resume, overwrite=args.overwrite)
    final = summary["final"]
    parts = [f"{k} {v:.4g}" for k, v in final.items() if k not in ("epoch", "seconds")]
    first, last = summary["first_epoch"], summary["epochs"]
    span = f"{last} epochs" if first <= 1 else f"epochs {first}-{last}"
    if first > last:
        span = f"nothing (all {last} epochs were done)"
    print(
        f"trained {span} in {summary['seconds']:.1f} s on backend "
        f"{summary['backend']}: " + ", ".join(parts)
    )
    print(f"run directory: {out}")
    return 0


def _epoch_reporter():
    """A callback printing about ten progress lines per run to stderr."""

    def report(row: dict, total: int) -> None:
        epoch = row["epoch"]
        if epoch == total or epoch % max(1, total // 10) == 0:
            shown = ", ".join(
                f"{k} {v:.4g}"
                for k, v in row.items()
                if k in ("train_loss", "test_accuracy")
            )
            print(f"hwep: epoch {epoch}/{total}: {shown}", file=sys.stderr, flush=True)

    return report


def _limit_blas_threads(threads: int) -> None:
    """Cap the BLAS thread pools of this process (threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)  # inherited by worker processes


# -- gradcheck -------------------------------------------------------------------


def _add_gradcheck(commands) -> None:
    p = commands.add_parser(
        "gradcheck", help="compare EP with the adjoint and differences"
    )
    p.add_argument("config", help="TOML config file")
    p.add_argument("--backend", help="backend name (overrides [backend] name)")
    p.add_argument(
        "--samples", type=_positive_int, default=8, help="samples in the batch (8)"
    )
    p.add_argument("--seed", type=int, help="seed of values and split")
    p.add_argument(
        "--json", help="also write the report as JSON to this file ('-': stdout)"
    )
    p.set_defaults(handler=_gradcheck)


def _gradcheck(args) -> int:
    from .config import load_config
    from .gradcheck import format_gradcheck, gradcheck

    config = load_config(args.config)
    if args.seed is not None:
        config["seed"] = args.seed
    report = gradcheck(config, backend=args.backend, samples=args.samples)
    if args.json == "-":
        print(json.dumps(report, indent=1, default=_json_default))
        return 0
    print(format_gradcheck(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=_json_default))
    return 0


# -- info ------------------------------------------------------------------------


def _add_info(commands) -> None:
    p = commands.add_parser("info", help="describe a graph file or a config's network")
    p.add_argument("source", help="GraphML, GML, node-link JSON, or TOML config")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_info)


def _info(args) -> int:
    from .config import build_network, load_config
    from .network import Network
    from .system import System

    source = Path(args.source)
    if source.suffix.lower() == ".toml":
        network = build_network(load_config(source))
    else:
        network = Network.from_file(source)
    summary = network.summary()
    system = System(network)
    if network.n_nodes <= 800:
        omega, Q = system.modal_quality()
    else:
        omega, Q = system.lowest_modes(12)
        summary["modes_note"] = f"the 12 lowest of {network.n_nodes}"
    summary["resonances_hz"] = (omega / (2 * np.pi)).tolist()
    summary["quality_factors"] = [None if not np.isfinite(q) else float(q) for q in Q]
    summary["no_dc_path"] = [str(n) for n in network.dc_floating_nodes()]
    summary["linear"] = network.is_linear
    summary["parameter_list"] = [
        {"name": p.label, "value": float(v), "unit": p.unit}
        for p, v in zip(network.parameters, network.values(), strict=True)
    ]
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print(_format_info(summary))
    return 0


def _format_info(summary: dict) -> str:
    """Human-readable network description."""
    kinds = ", ".join(f"{n} {k}" for k, n in summary["elements"].items())
    lines = [
        f"network {summary['name']} ({summary['domain']}, "
        f"{'linear' if summary['linear'] else 'nonlinear'})",
        f"  nodes: {summary['nodes']} + ground {summary['ground']}",
        f"  elements: {kinds}",
        f"  inputs: {', '.join(summary['inputs']) or '-'}; "
        f"outputs: {', '.join(summary['outputs']) or '-'}",
        f"  trainable parameters: {summary['parameters']}",
    ]
    freqs = summary["resonances_hz"]
    if freqs:
        shown = ", ".join(f"{f:.6g}" for f in freqs[:12])
        more = f" ... ({len(freqs)} in all)" if len(freqs) > 12 else ""
        if "modes_note" in summary:
            more = f" ({summary['modes_note']})"
        lines.append(f"  resonances of the lossless network (Hz): {shown}{more}")
    finite_q = [q for q in summary["quality_factors"] if q is not None]
    if finite_q:
        lines.append(f"  quality factors: {min(finite_q):.3g} to {max(finite_q):.3g}")
    if summary["no_dc_path"]:
        lines.append(
            "  no DC path to ground (capacitors or masses only): "
            + ", ".join(summary["no_dc_path"][:10])
        )
    for p in summary["parameter_list"][:40]:
        lines.append(f"    {p['name']:<12} {p['value']:.6g} {p['unit']}")
    if len(summary["parameter_list"]) > 40:
        lines.append(f"    ... {len(summary['parameter_list']) - 40} more")
    return "\n".join(lines)


# -- sweep -----------------------------------------------------------------------


def _add_sweep(commands) -> None:
    p = commands.add_parser(
        "sweep", help="train one config over several seeds in parallel"
    )
    p.add_argument("config", help="TOML config file")
    p.add_argument("--seeds", default="0-4", help="seeds: '0-4' or '1,3,7' (0-4)")
    p.add_argument("--out", help="sweep directory (default runs/<config name>_sweep)")
    p.add_argument("--epochs", type=int, help="epochs per run")
    p.add_argument("--backend", help="backend name")
    p.add_argument(
        "--workers", type=_positive_int, help="parallel runs (default: all cores)"
    )
    p.add_argument(
        "--executor", default="process", choices=("process", "dask", "serial")
    )
    p.add_argument("--address", help="Dask scheduler address for --executor dask")
    p.add_argument(
        "--resume", action="store_true", help="continue the runs of an earlier sweep"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="start afresh over earlier runs"
    )
    p.set_defaults(handler=_sweep)


def _sweep(args) -> int:
    from .config import load_config
    from .parallel import parallel_map

    config = load_config(args.config)
    seeds = _parse_seeds(args.seeds)
    out = (
        Path(args.out) if args.out else Path("runs") / f"{Path(args.config).stem}_sweep"
    )
    args.out = str(out)
    options = {"resume": args.resume, "overwrite": args.overwrite}
    jobs = [
        (
            args.config,
            str(out / f"seed{seed}"),
            seed,
            args.epochs,
            args.backend,
            options,
        )
        for seed in seeds
    ]

    def finished(index: int, summary: dict) -> None:
        final = summary["final"]
        shown = ", ".join(
            f"{k} {final[k]:.4g}" for k in ("test_accuracy", "train_loss") if k in final
        )
        print(
            f"hwep: seed {seeds[index]} done in {summary['seconds']:.1f} s: {shown}",
            file=sys.stderr,
            flush=True,
        )

    tty = sys.stderr.isatty()
    summaries = parallel_map(
        _sweep_job,
        jobs,
        workers=args.workers,
        executor=args.executor,
        address=args.address,
        progress=tty,
        description="runs",
        on_result=None if tty else finished,
    )
    rows = [
        {"seed": seed, **s["final"], "seconds": s["seconds"]}
        for seed, s in zip(seeds, summaries, strict=True)
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(
        json.dumps({"config": config["name"], "runs": rows}, indent=1)
    )
    keys = [
        k
        for k in ("test_accuracy", "train_accuracy", "test_loss", "train_loss")
        if k in rows[0]
    ]
    print(f"{'seed':>6}" + "".join(f"{k:>16}" for k in keys) + f"{'seconds':>10}")
    for row in rows:
        print(
            f"{row['seed']:>6}"
            + "".join(f"{row[k]:>16.4f}" for k in keys)
            + f"{row['seconds']:>10.1f}"
        )
    print(
        f"{'mean':>6}"
        + "".join(f"{np.mean([r[k] for r in rows]):>16.4f}" for k in keys)
    )
    print(f"sweep directory: {out}")
    return 0


def _sweep_job(job) -> dict:
    """One run of a sweep, in a worker process."""
    from .config import load_config
    from .train import Trainer

    config_path, out, seed, epochs, backend, options = job
    if options["resume"] and (Path(out) / "run.json").is_file():
        trainer = Trainer.from_run_dir(out, epochs=epochs)
        return trainer.run(resume=True)
    trainer = Trainer(
        load_config(config_path), out_dir=out, seed=seed, epochs=epochs, backend=backend
    )
    return trainer.run(overwrite=options["overwrite"])


def _parse_seeds(text: str) -> list[int]:
    """'0-4' or '1,3,7' into a list of distinct non-negative ints."""
    from .errors import ConfigError

    try:
        if "-" in text and "," not in text:
            low, high = (int(v) for v in text.split("-"))
            seeds = list(range(low, high + 1))
        else:
            seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(
            f"--seeds {text!r}: use a range '0-4' or a list '1,3,7'"
        ) from None
    if not seeds:
        raise ConfigError(f"--seeds {text!r}: no seeds (a range needs low <= high)")
    if len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"--seeds {text!r}: seeds must be distinct and >= 0")
    return seeds


# -- export --------------------------------------------------------------------


def _add_export(commands) -> None:
    p = commands.add_parser(
        "export", help="write the ngspice netlist of a graph or config"
    )
    p.add_argument(
        "source",
        nargs="?",
        help="GraphML, GML, node-link JSON, TOML config, or a run directory "
        "(its trained values)",
    )
    p.add_argument("-o", "--output", help="netlist file (default: standard output)")
    p.add_argument(
        "--examples",
        metavar="DIR",
        help="regenerate the netlists of every example config into DIR",
    )
    p.add_argument(
        "--from",
        dest="examples_from",
        default="examples",
        metavar="DIR",
        help="folder of the example configs for --examples (examples)",
    )
    p.add_argument("--analysis", choices=("ac", "tran"), help="ac (default) or tran")
    p.add_argument("--sample", type=int, help="config: sample (first training one)")
    p.add_argument("--harmonic", type=int, help="ac: drive harmonic (0)")
    p.add_argument("--frequency", help="graph: drive frequency, Hz (lowest mode)")
    p.add_argument("--quality", help="add uniform loss of this quality factor")
    p.add_argument("--periods", help="tran: periods from rest, or 'auto'")
    p.add_argument("--points-per-period", type=int, help="tran: steps per period (64)")
    p.add_argument("--settle-tolerance", type=float, help="tran: transient left (1e-3)")
    p.add_argument(
        "--convergence-aid",
        action="store_true",
        help="add leak and series resistors where the analysis needs them",
    )
    p.add_argument(
        "--operating-point",
        action="store_true",
        help="ac: let ngspice compute the DC operating point first",
    )
    p.set_defaults(handler=_export)


def _export(args) -> int:
    from .errors import ConfigError
    from .spice.export import export_examples, export_netlist
    from .units import parse_value

    if args.examples:
        for name, status in export_examples(args.examples_from, args.examples):
            where = Path(args.examples) / name
            print(f"wrote {where}" if status == "written" else f"{name}: {status}")
        return 0
    if not args.source:
        raise ConfigError("export: give a graph or config file, or --examples DIR")

    # Only the options given override a config's [backend] table.
    options = {
        "analysis": args.analysis,
        "harmonic": args.harmonic,
        "points_per_period": args.points_per_period,
        "settle_tolerance": args.settle_tolerance,
        "convergence_aid": args.convergence_aid or None,
        "operating_point": args.operating_point or None,
    }
    if args.quality is not None:
        options["quality"] = parse_value(args.quality, what="--quality")
    if args.periods is not None and args.periods != "auto":
        if not args.periods.isdigit():
            raise ConfigError(f"--periods {args.periods!r}: give an integer or 'auto'")
        options["periods"] = int(args.periods)
    frequency = (
        parse_value(args.frequency, what="--frequency", unit="Hz")
        if args.frequency
        else None
    )
    text = export_netlist(
        args.source,
        args.output,
        sample=args.sample,
        frequency=frequency,
        **{k: v for k, v in options.items() if v is not None},
    )
    if args.output is None:
        print(text, end="")
    else:
        print(f"wrote {args.output}")
    return 0


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _json_default(value):
    """JSON for numpy scalars and arrays."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


_COMMANDS = [_add_train, _add_gradcheck, _add_info, _add_sweep, _add_export]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
