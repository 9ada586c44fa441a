#!/usr/bin/env bash
# The main job: set up, then train the Iris LC lattice on five seeds (held-out 30%
# splits) in parallel and print each seed's accuracy and the mean.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh spice
.venv/bin/hwep sweep examples/iris_lc_lattice.toml --seeds 0-4 --out runs/iris_lc_lattice_sweep
