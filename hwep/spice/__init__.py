"""ngspice for hwep: compile networks into netlists, run them, read the results.

``netlist`` turns a Network into ngspice cards (``checks`` refuses or aids what an
analysis cannot solve), ``tran`` sizes the time grid of a ``.tran`` phase and
averages over its last period, ``runner`` simulates a complete netlist with ngspice
(in-process through PySpice, or as a subprocess) and returns node voltages and branch
currents as numpy arrays (``rawfile`` reads ngspice's result files), ``backend`` runs
EP phases through them (registered as the backend ``"ngspice"``), and ``export``
writes netlists of graphs and example configs.
"""

from ..backends import register_backend
from .backend import NUDGE_ELEMENTS, NgspiceBackend
from .netlist import Coupling, Netlist, prepare_netlist, sanitize
from .runner import (
    SpiceResult,
    find_ngspice_executable,
    find_ngspice_library,
    ngspice_available,
    read_rawfile,
    require_ngspice,
    run_netlist,
)
from .tran import TranSettings, decay_rate, drive_period, tran_settings

register_backend("ngspice", NgspiceBackend)

__all__ = [
    "Coupling",
    "NUDGE_ELEMENTS",
    "Netlist",
    "NgspiceBackend",
    "SpiceResult",
    "TranSettings",
    "decay_rate",
    "drive_period",
    "find_ngspice_executable",
    "find_ngspice_library",
    "ngspice_available",
    "prepare_netlist",
    "read_rawfile",
    "require_ngspice",
    "run_netlist",
    "sanitize",
    "tran_settings",
]
