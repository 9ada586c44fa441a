#!/usr/bin/env bash
# The test job: set up with the development tools, lint, then run the test suite.
# HWEP_REQUIRE_NGSPICE=1 turns a missing ngspice into failures instead of skips.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "spice,dev"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -q "$@"
