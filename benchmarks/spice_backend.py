"""Time EP through ngspice against the native phasor backend, and the worker pool.

For a 4x4 and a 10x10 LC lattice (bond and ground inductors, node capacitors, a
two-input, two-output drive below the lowest mode) this prints, per batch:

- the native ``phasor`` backend: one phase, one symmetric EP gradient;
- ngspice ``.ac`` and ``.tran``, in the shared library and as a subprocess: one
  phase, one gradient, and ngspice's own share of the time;
- the worker pool: the same gradient with ``workers=1`` and ``workers=2`` (on two
  cores), their speedup, and the pool's start-up time (spawned once per backend).

``.tran`` adds uniform loss of quality factor ``--quality`` (the lattice is lossless)
and runs until the start-up transient is below ``--settle`` of its start.

    .venv/bin/python benchmarks/spice_backend.py [--sizes 4 10] [--samples 8]
        [--tran-samples 2] [--quality 1000] [--settle 1e-2] [--points 32] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from hwep.backends import Drive, PhasorBackend
from hwep.builders import lc_lattice
from hwep.costs import QuadraticCost
from hwep.ep import ep_gradient
from hwep.network import Network
from hwep.spice import NgspiceBackend
from hwep.system import System
from hwep.train import cosine


def lattice(n: int) -> tuple[Network, Drive, QuadraticCost]:
    """An n x n lattice, a random batch drive at half the lowest mode, a cost."""
    graph = lc_lattice(
        n,
        n,
        L=["1m", "3m"],
        C=["1u", "3u"],
        ground_L=["1m", "3m"],
        inputs=["n0_0", f"n{n - 1}_0"],
        outputs=[f"n0_{n - 1}", f"n{n - 1}_{n - 1}"],
        seed=n,
    )
    network = Network(graph)
    omega = 0.5 * System(network).modes()[0].min()
    return network, omega


def batch(network: Network, omega: float, samples: int, seed: int = 0):
    """Drive of ``samples`` random 1 mA tones and a quadratic cost on the outputs."""
    rng = np.random.default_rng(seed)
    amplitude = 1e-3 * (
        rng.normal(size=(samples, 1, 2)) + 1j * rng.normal(size=(samples, 1, 2))
    )
    drive = Drive(np.array([omega]), amplitude)
    free = PhasorBackend(network).run(drive).outputs
    target = free * (1 + 0.5 * rng.normal(size=free.shape))
    return drive, QuadraticCost(target)


def timed(function, repeat: int = 1) -> tuple[float, object]:
    """Best wall time of ``repeat`` calls and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure(backend, drive, cost, repeat: int) -> dict:
    """Phase and gradient times of one backend on one batch."""
    phase_time, phase = timed(lambda: backend.run(drive), repeat)
    grad_time, estimate = timed(lambda: ep_gradient(backend, drive, cost), repeat)
    spice = phase.extra.get("spice_seconds", float("nan"))
    return {
        "phase_s": phase_time,
        "gradient_s": grad_time,
        "spice_share": spice / phase_time if phase_time else float("nan"),
        "grad": estimate.grad,
        "extra": {
            k: v for k, v in phase.extra.items() if k in ("periods", "spice_runs")
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 10])
    parser.add_argument("--samples", type=int, default=8, help=".ac batch size")
    parser.add_argument("--tran-samples", type=int, default=2, help=".tran batch")
    parser.add_argument("--quality", type=float, default=1000.0)
    parser.add_argument("--settle", type=float, default=1e-2)
    parser.add_argument("--points", type=int, default=32, help=".tran steps/period")
    parser.add_argument("--repeat", type=int, default=2, help="best of, .ac only")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    print(f"hwep ngspice benchmark: {cores} cores available, python {sys.version[:6]}")
    rows = []

    for n in args.sizes:
        network, omega = lattice(n)
        print(
            f"\n{n}x{n} lattice: {network.n_nodes} nodes, {len(network.elements)} "
            f"elements, {len(network.parameters)} parameters, drive "
            f"{omega / (2 * np.pi):.4g} Hz"
        )
        print(
            f"{'backend':<28}{'batch':>6}{'phase s':>11}{'gradient s':>12}"
            f"{'per run ms':>12}{'spice %':>9}{'vs native':>11}{'cos':>12}"
        )
        for analysis, samples in (("ac", args.samples), ("tran", args.tran_samples)):
            drive, cost = batch(network, omega, samples)
            native = measure(PhasorBackend(network), drive, cost, args.repeat)
            exact = ep_gradient(
                PhasorBackend(network), drive, cost, mode="adjoint"
            ).grad
            label = f"native phasor (.{analysis} batch)"
            _row(rows, n, label, analysis, samples, native, native, exact)
            options = {"analysis": analysis}
            repeat = args.repeat
            if analysis == "tran":
                options.update(
                    quality=args.quality,
                    settle_tolerance=args.settle,
                    points_per_period=args.points,
                )
                repeat = 1
            for mode in ("shared", "subprocess"):
                with NgspiceBackend(network, mode=mode, **options) as backend:
                    result = measure(backend, drive, cost, repeat)
                label = f"ngspice .{analysis} {mode}"
                _row(rows, n, label, analysis, samples, result, native, exact)

            # The worker pool: a warm-up phase starts it (timed), then the same batch.
            with NgspiceBackend(network, mode="shared", workers=2, **options) as pool:
                start_up, _ = timed(lambda: pool.run(drive))  # noqa: B023
                result = measure(pool, drive, cost, repeat)
            serial = next(r for r in rows[::-1] if r["backend"].endswith("shared"))
            speedup = serial["gradient_s"] / result["gradient_s"]
            label = f"ngspice .{analysis} 2 workers"
            _row(rows, n, label, analysis, samples, result, native, exact)
            rows[-1].update(speedup=speedup, pool_start_s=start_up)
            print(
                f"{'':<28}worker pool: speedup {speedup:.2f}x on the gradient "
                f"(start-up {start_up:.2f} s, once per backend)"
            )

    if args.json:
        with open(args.json, "w") as stream:
            json.dump(rows, stream, indent=1, default=float)
    return 0


def _row(rows, n, label, analysis, samples, result, native, exact) -> None:
    """Print one table row and keep it."""
    runs = result["extra"].get("spice_runs", samples)
    per_run = 1e3 * result["phase_s"] / max(runs, 1)
    share = result["spice_share"]
    ratio = result["gradient_s"] / native["gradient_s"]
    agreement = cosine(result["grad"], exact)
    print(
        f"{label:<28}{samples:>6}{result['phase_s']:>11.4f}"
        f"{result['gradient_s']:>12.4f}{per_run:>12.3f}{100 * share:>9.0f}"
        f"{ratio:>10.0f}x{agreement:>12.8f}"
    )
    periods = result["extra"].get("periods")
    rows.append(
        {
            "size": n,
            "backend": label,
            "analysis": analysis,
            "samples": samples,
            "phase_s": result["phase_s"],
            "gradient_s": result["gradient_s"],
            "per_run_ms": per_run,
            "spice_share": share,
            "vs_native": ratio,
            "cosine_vs_exact": agreement,
            "periods": periods,
        }
    )


if __name__ == "__main__":
    sys.exit(main())
