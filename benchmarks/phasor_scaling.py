"""Time of a free phase, an EP gradient, the adjoint and finite differences.

Square LC lattices (inductors on bonds, capacitors and inductors to ground) of 4x4,
32x32 and 100x100 nodes, one tone below the first resonance, four inputs and four
outputs, quadratic flux cost. Every timing includes setting new parameter values and
factoring A(s) again, as each training step must. Printed per size (median of
repeats, seconds):

    free      one free phase
    ep        one symmetric EP gradient (free + two frozen-error nudged phases)
    ratio     ep / free (goal: <= 1.2; the phases share one LU per frequency, and
              the outputs' compliance that sizes beta is reused while the values
              stay within 10%, as they do from one training step to the next)
    adjoint   the exact gradient (free solve + one adjoint solve)
    fd        central finite differences, 2P free phases (small sizes only)

BLAS runs single-threaded here (OPENBLAS_NUM_THREADS=1 unless set): the factorizations
are sparse, and a multi-threaded BLAS on a busy 2-core machine makes small dense calls
erratic. Times are the median of the repeats.

Run: ``python benchmarks/phasor_scaling.py [--sizes 4 32 100] [--fd-limit 32]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from hwep.backends import Drive, PhasorBackend  # noqa: E402
from hwep.builders import lc_lattice  # noqa: E402
from hwep.costs import QuadraticCost  # noqa: E402
from hwep.ep import ep_gradient  # noqa: E402
from hwep.network import Network  # noqa: E402
from hwep.reference import adjoint_gradient, finite_difference_gradient  # noqa: E402


def lattice(n: int) -> Network:
    """An n x n lattice with ports on the four corners (inputs) and the centre row."""
    corners = ["n0_0", f"n0_{n - 1}", f"n{n - 1}_0", f"n{n - 1}_{n - 1}"]
    middle = [f"n{n // 2}_{j}" for j in np.linspace(0, n - 1, 4).astype(int)]
    graph = lc_lattice(
        n,
        n,
        L=("1m", "3m"),
        C=("1u", "3u"),
        ground_L=("1m", "3m"),
        inputs=corners,
        outputs=list(dict.fromkeys(middle)),
        seed=n,
    )
    return Network(graph)


def median_time(function, repeats: int) -> float:
    """Median wall time of several calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 32, 100])
    parser.add_argument("--fd-limit", type=int, default=32, help="largest size for fd")
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()

    print(
        f"{'lattice':>9}{'nodes':>7}{'params':>8}{'free':>10}{'ep':>10}"
        f"{'ratio':>7}{'adjoint':>10}{'fd':>10}"
    )
    for n in args.sizes:
        print(measure(n, args.repeats if n < 64 else 5, n <= args.fd_limit))


def measure(n: int, repeats: int, with_fd: bool) -> str:
    """One table row for an n x n lattice."""
    network = lattice(n)
    backend = PhasorBackend(network)
    rng = np.random.default_rng(0)
    drive = Drive.tone(500.0, rng.normal(size=(1, len(network.inputs))) * 1e-3)
    cost = QuadraticCost(backend.run(drive).outputs * 1.1)
    values = network.values()
    jitter = [values * np.exp(0.01 * rng.normal(size=values.size)) for _ in range(2)]
    count = [0]

    def fresh_values():
        count[0] += 1
        backend.set_values(jitter[count[0] % 2])

    def free():
        fresh_values()
        backend.run(drive)

    def ep():
        fresh_values()
        ep_gradient(backend, drive, cost, estimator="symmetric", nudge="frozen")

    def adjoint():
        fresh_values()
        adjoint_gradient(backend, drive, cost)

    t_free, t_ep, t_adj = (
        median_time(free, repeats),
        median_time(ep, repeats),
        median_time(adjoint, repeats),
    )
    if with_fd:
        fd = median_time(lambda: finite_difference_gradient(backend, drive, cost), 1)
        t_fd = f"{fd:10.3f}"
    else:
        t_fd = f"{'-':>10}"
    return (
        f"{f'{n}x{n}':>9}{network.n_nodes:>7}{len(values):>8}{t_free:10.4f}"
        f"{t_ep:10.4f}{t_ep / t_free:7.2f}{t_adj:10.4f}{t_fd}"
    )


if __name__ == "__main__":
    main()
