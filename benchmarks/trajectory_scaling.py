"""Cost of the periodic backend: one solve and one EP gradient, by network and grid.

Square LC lattices of 16, 64 and 256 nodes (Duffing inductors on the bonds and to
ground, capacitors to ground) driven by one tone at 30% of the lowest mode, with 64,
256 and 1024 points per period. For each size: wall time and memory of one free
periodic solve, and of one symmetric EP gradient with frozen nudges (its own free
phase plus two nudged phases, nothing cached from the solve), their ratio (goal
<= 3), and the exponents of time and memory in each size (least-squares slopes of the
logarithms).

The drive is scaled so that the largest relative change of an inductor's stiffness
is about 10% (clearly nonlinear: Newton takes several iterations). Memory is the
Python-side peak seen by tracemalloc (numpy arrays, the sparse Jacobian) plus the bytes
of the SuperLU factors (values and indices of L and U), which tracemalloc cannot see;
timings are taken in the same run.

Run:  python benchmarks/trajectory_scaling.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np

from hwep.builders import lc_lattice
from hwep.ep import ep_gradient
from hwep.network import Network
from hwep.system import System
from hwep.timedomain import TimeDrive, TrajectoryCost
from hwep.trajectory import PeriodicBackend

A3_A_PER_WB3 = 3e5
STRENGTH = 0.1


def lattice(side: int) -> Network:
    """A side × side lattice whose inductors are Duffing inductors."""
    graph = lc_lattice(
        side, side, L=["1m", "3m"], C=["1u", "3u"], ground_L=["1m", "3m"], seed=0
    )
    for *_, data in graph.edges(data=True):
        if data["kind"] == "inductor":
            data["kind"] = "duffing_inductor"
            data["a3"] = A3_A_PER_WB3
    return Network(graph)


def calibrated_drive(network: Network, n_steps: int) -> TimeDrive:
    """One tone at 0.3 ω_1 whose amplitude gives a stiffness change of ~STRENGTH."""
    omega = 0.3 * System(network).modes()[0].min()
    probe = TimeDrive.from_harmonics(2 * np.pi / omega, 64, [omega], [[[1e-3]]])
    backend = PeriodicBackend(network)
    Q = backend.run(probe, record_branches=True).extra["trajectories"][0]
    branches = backend._solver(probe).action.branches(Q)
    duffing = [i for i, e in enumerate(network.elements) if "a3" in e.params]
    L = np.array([network.elements[i].params["L"] for i in duffing])
    change = np.max(3 * A3_A_PER_WB3 * L * branches[:, duffing] ** 2)
    amplitude = 1e-3 * np.sqrt(STRENGTH / change)
    return TimeDrive.from_harmonics(
        2 * np.pi / omega, n_steps, [omega], [[[amplitude]]]
    )


def measure(function) -> tuple[object, float, float]:
    """(result, seconds, tracemalloc peak in bytes) of one call."""
    tracemalloc.start()
    start = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak


def lu_bytes(backend: PeriodicBackend) -> int:
    """Bytes of the LU factors the backend holds for its free phase."""
    solutions = backend._free.solutions if backend._free else []
    factors = [s.factorization for s in solutions if s.factorization is not None]
    return max((f.memory_bytes for f in factors), default=0)


def run_case(network: Network, n_steps: int) -> dict:
    """Time and memory of one free solve and of one EP gradient."""
    drive = calibrated_drive(network, n_steps)
    backend = PeriodicBackend(network)
    backend.run(drive)  # builds the Jacobian pattern once, as training would
    backend.set_values(network.values())

    # One free solve, from rest.
    free, solve_s, solve_peak = measure(lambda: backend.run(drive))
    solve_lu = lu_bytes(backend)
    cost = TrajectoryCost(1.1 * free.outputs)

    # One EP gradient, its free phase included (the cache is cleared first).
    backend.set_values(network.values())
    estimate, ep_s, ep_peak = measure(lambda: ep_gradient(backend, drive, cost))
    ep_lu = lu_bytes(backend)
    return {
        "nodes": network.n_nodes,
        "n_steps": n_steps,
        "unknowns": network.n_nodes * n_steps,
        "newton_iterations": free.iterations,
        "nudged_iterations": estimate.measurements["plus"].iterations,
        "solve_s": solve_s,
        "ep_s": ep_s,
        "ratio": ep_s / solve_s,
        "solve_mb": (solve_peak + solve_lu) / 1e6,
        "ep_mb": (ep_peak + ep_lu) / 1e6,
        "lu_mb": solve_lu / 1e6,
    }


def slopes(rows: list[dict], key: str, along: str, fixed: str) -> dict:
    """Exponent of ``key`` in ``along`` for each value of ``fixed``."""
    out = {}
    for value in sorted({r[fixed] for r in rows}):
        group = [r for r in rows if r[fixed] == value]
        if len(group) < 2:
            continue
        x = np.log([r[along] for r in group])
        y = np.log([r[key] for r in group])
        out[value] = float(np.polyfit(x, y, 1)[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16, 64 nodes; 64, 256")
    parser.add_argument("--json", help="also write the rows and exponents here")
    args = parser.parse_args()
    sides = (4, 8) if args.quick else (4, 8, 16)
    grids = (64, 256) if args.quick else (64, 256, 1024)

    header = (
        f"{'nodes':>5} {'steps':>5} {'unknowns':>8} {'newton':>6} {'solve s':>9} "
        f"{'EP s':>9} {'EP/solve':>8} {'solve MB':>9} {'EP MB':>9} {'LU MB':>8}"
    )
    print(header)
    rows = []
    for side in sides:
        network = lattice(side)
        for n_steps in grids:
            r = run_case(network, n_steps)
            rows.append(r)
            print(
                f"{r['nodes']:>5} {r['n_steps']:>5} {r['unknowns']:>8} "
                f"{r['newton_iterations']:>6} {r['solve_s']:>9.3f} {r['ep_s']:>9.3f} "
                f"{r['ratio']:>8.2f} {r['solve_mb']:>9.1f} {r['ep_mb']:>9.1f} "
                f"{r['lu_mb']:>8.1f}",
                flush=True,
            )

    # Exponents: time and memory against nodes at fixed steps, and the reverse.
    exponents = {}
    for key in ("solve_s", "ep_s", "solve_mb", "ep_mb"):
        exponents[key] = {
            "in_nodes": slopes(rows, key, "nodes", "n_steps"),
            "in_steps": slopes(rows, key, "n_steps", "nodes"),
        }
    print("\nexponents (log-log slopes)")
    for key, table in exponents.items():
        nodes = ", ".join(f"N={k}: {v:.2f}" for k, v in table["in_nodes"].items())
        steps = ", ".join(f"n={k}: {v:.2f}" for k, v in table["in_steps"].items())
        print(f"  {key:>8} in nodes ({nodes});  in steps ({steps})")
    ratios = [r["ratio"] for r in rows]
    print(f"\nEP/solve ratio: max {max(ratios):.2f}, goal <= 3")
    if args.json:
        with open(args.json, "w") as stream:
            json.dump({"rows": rows, "exponents": exponents}, stream, indent=1)


if __name__ == "__main__":
    main()
