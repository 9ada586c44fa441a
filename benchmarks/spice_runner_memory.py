"""Memory and time per run of hwep.spice.runner in shared and subprocess mode.

Runs many small ``.ac`` and ``.tran`` netlists (a four-node LC ladder whose capacitance
C changes every run, as in training) through the in-process ngspice library and prints
the resident set size (RSS) before, during and after, then the time per run of both
modes. A flat RSS after the first few hundred runs means the runner frees ngspice's
circuits and plots between runs.

    python benchmarks/spice_runner_memory.py [--ac 3000] [--tran 500] [--sub 100]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from hwep.spice.runner import ngspice_available, run_netlist

LADDER = """lc ladder {index}
.param cval={C:.6e}
i1 0 n1 dc 0 ac 1 sin(0 1m 5k)
r1 n1 0 10k
l1 n1 n2 1m
c1 n2 0 {{cval}}
l2 n2 n3 1m
c2 n3 0 {{cval}}
l3 n3 n4 1m
c3 n4 0 {{cval}}
r4 n4 0 1k
{analysis}
.end
"""
AC_CARD = ".ac lin 1 5000 5000"
TRAN_CARD = ".tran 1e-6 1e-3 0 1e-7"


def rss_mib() -> float:
    """Current resident set size of this process, MiB."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as file:
            pages = int(file.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def netlist(index: int, analysis: str) -> str:
    """The ladder with a capacitance that differs from run to run."""
    C = 1e-6 * (1 + 0.5 * ((index * 7919) % 1000) / 1000)
    return LADDER.format(index=index, C=C, analysis=analysis)


def run_many(n: int, analysis: str, mode: str, report_every: int = 0) -> float:
    """Run ``n`` netlists; return seconds per run, printing RSS along the way."""
    start = time.perf_counter()
    for index in range(n):
        run_netlist(netlist(index, analysis), mode=mode)
        if report_every and (index + 1) % report_every == 0:
            label = analysis.split()[0]
            print(f"    {label:5s} run {index + 1:5d}: RSS {rss_mib():7.1f} MiB")
    return (time.perf_counter() - start) / max(n, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ac", type=int, default=3000, help="shared .ac runs")
    parser.add_argument("--tran", type=int, default=500, help="shared .tran runs")
    parser.add_argument("--sub", type=int, default=100, help="subprocess runs each")
    args = parser.parse_args()
    available, reason = ngspice_available("both")
    if not available:
        raise SystemExit(f"ngspice is not available: {reason}")

    print(f"RSS at start:                  {rss_mib():7.1f} MiB")
    run_many(20, AC_CARD, "shared")
    run_many(5, TRAN_CARD, "shared")
    warm = rss_mib()
    print(f"RSS after loading ngspice:     {warm:7.1f} MiB")

    print(f"shared mode, {args.ac} .ac runs:")
    ac_shared = run_many(args.ac, AC_CARD, "shared", max(args.ac // 6, 1))
    after_ac = rss_mib()
    print(f"shared mode, {args.tran} .tran runs:")
    tran_shared = run_many(args.tran, TRAN_CARD, "shared", max(args.tran // 5, 1))
    after_tran = rss_mib()
    print(f"RSS growth over the .ac runs:   {after_ac - warm:+7.2f} MiB")
    print(f"RSS growth over the .tran runs: {after_tran - after_ac:+7.2f} MiB")

    ac_sub = run_many(args.sub, AC_CARD, "subprocess")
    tran_sub = run_many(args.sub, TRAN_CARD, "subprocess")
    print("time per run (ms)        shared   subprocess")
    print(f"  .ac  (1 frequency)   {1e3 * ac_shared:8.3f}   {1e3 * ac_sub:8.3f}")
    print(f"  .tran (10k steps)    {1e3 * tran_shared:8.3f}   {1e3 * tran_sub:8.3f}")


if __name__ == "__main__":
    main()
