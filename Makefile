# Shortcuts for those who have make; the scripts do the work (see README).
.PHONY: demo test netlists benchmarks

demo:
	scripts/demo.sh

test:
	scripts/test.sh

netlists:
	.venv/bin/hwep export --examples netlists/

benchmarks:
	.venv/bin/python benchmarks/phasor_scaling.py
	.venv/bin/python benchmarks/ladder_reactance_starts.py
	.venv/bin/python benchmarks/trajectory_scaling.py
	.venv/bin/python benchmarks/spice_backend.py
