"""How often does the ladder fit reach the Cauer values from random starts?

Fits examples/ladder_reactance.toml from 20 random starts, each element drawn
log-uniformly within a factor 3 of the answer, and counts the starts whose five values
all end within 1% of the answer. Two settings, same starts, same optimizer (L-BFGS):

- lossless (sigma = 0) with gradient mode "ep" (exact without loss);
- uniform loss sigma (the example's value) with gradient mode "reciprocal".

Run: ``python benchmarks/ladder_reactance_starts.py [--starts 20] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import numpy as np

from hwep.config import load_config
from hwep.parallel import parallel_map
from hwep.train import Trainer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ladder_reactance.toml"
ANSWER = {"L1": 1e-3, "C2": 2e-6, "L3": 3e-3, "C4": 1e-6, "L5": 2e-3}


def fit(job):
    """Train from one start; return the largest relative error of the five values."""
    start, sigma, mode = job
    config = copy.deepcopy(load_config(EXAMPLE))
    config["network"]["L"] = {"values": [start["L1"], start["L3"], start["L5"]]}
    config["network"]["C"] = {"values": [start["C2"], start["C4"]]}
    config["task"]["sigma"] = sigma
    config["gradient"] = {"mode": mode}
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(config, out_dir=out)
        trainer.run()
        labels = [p.label for p in trainer.network.parameters]
        values = dict(zip(labels, trainer.values(), strict=True))
    return max(abs(values[k] / v - 1) for k, v in ANSWER.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    starts = [
        {k: v * 3.0 ** rng.uniform(-1, 1) for k, v in ANSWER.items()}
        for _ in range(args.starts)
    ]
    sigma = float(load_config(EXAMPLE)["task"]["sigma"])
    for label, s, mode in (
        ("lossless", 0.0, "ep"),
        (f"sigma = {sigma:g} 1/s", sigma, "reciprocal"),
    ):
        began = time.perf_counter()
        errors = parallel_map(
            fit, [(start, s, mode) for start in starts], workers=args.workers
        )
        hits = sum(e < 0.01 for e in errors)
        print(
            f"{label:<20} mode {mode:<11} {hits}/{len(starts)} starts within 1% "
            f"({100 * hits / len(starts):.0f}%), median final error "
            f"{np.median(errors):.2e}, {time.perf_counter() - began:.0f} s"
        )


if __name__ == "__main__":
    main()
