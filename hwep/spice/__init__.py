"""ngspice for hwep: compile networks into netlists, run them, read the results.

``runner`` simulates a complete netlist with ngspice, in-process through PySpice or as
a subprocess, and returns node voltages and branch currents as numpy arrays.
"""

from .runner import (
    SpiceResult,
    find_ngspice_executable,
    find_ngspice_library,
    ngspice_available,
    read_rawfile,
    require_ngspice,
    run_netlist,
)

__all__ = [
    "SpiceResult",
    "find_ngspice_executable",
    "find_ngspice_library",
    "ngspice_available",
    "read_rawfile",
    "require_ngspice",
    "run_netlist",
]
