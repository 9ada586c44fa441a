"""hwep: emulate analog learning hardware trained by Equilibrium Propagation.

A Lagrangian network (an LC lattice, a spring–mass chain) is a networkx graph of
two-terminal elements. hwep validates it (``Network``), compiles it (``System``), runs
free and nudged phases on a backend (``PhasorBackend`` for linear periodic steady
states; ``PeriodicBackend``, ``BoundaryBackend`` and ``EchoBackend`` for trajectories of
nonlinear networks; ngspice through ``hwep.spice``), and turns each element's measured
conjugate variable into its gradient (``ep_gradient``), checked against the exact
adjoint (``adjoint_gradient``, or the backend's own discrete adjoint).
"""

from .backends import Backend, Drive, Measurement, PhasorBackend, make_backend
from .builders import draw_values, lc_ladder, lc_lattice, spring_chain
from .costs import Cost, CrossEntropyCost, QuadraticCost
from .elements import KINDS, ElementKind, get_kind
from .ep import GradientEstimate, ep_gradient
from .errors import (
    ConfigError,
    ConvergenceError,
    DataError,
    HwepError,
    HwepWarning,
    InvalidNetworkError,
    SimulatorError,
    SimulatorMissingError,
    SingularSystemError,
)
from .network import Element, Network, Parameter, load_graph, save_graph
from .reference import adjoint_gradient, dissipation_report, finite_difference_gradient
from .system import System
from .timedomain import LockInClassCost, LockInCost, TimeDrive, TrajectoryCost
from .trajectory import BoundaryBackend, EchoBackend, PeriodicBackend
from .units import format_value, parse_value

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "BoundaryBackend",
    "EchoBackend",
    "LockInClassCost",
    "LockInCost",
    "PeriodicBackend",
    "TimeDrive",
    "TrajectoryCost",
    "ConfigError",
    "ConvergenceError",
    "Cost",
    "CrossEntropyCost",
    "DataError",
    "Drive",
    "Element",
    "ElementKind",
    "GradientEstimate",
    "HwepError",
    "HwepWarning",
    "InvalidNetworkError",
    "KINDS",
    "Measurement",
    "Network",
    "Parameter",
    "PhasorBackend",
    "QuadraticCost",
    "SimulatorError",
    "SimulatorMissingError",
    "SingularSystemError",
    "System",
    "adjoint_gradient",
    "dissipation_report",
    "draw_values",
    "ep_gradient",
    "finite_difference_gradient",
    "format_value",
    "get_kind",
    "lc_ladder",
    "lc_lattice",
    "load_graph",
    "make_backend",
    "parse_value",
    "save_graph",
    "spring_chain",
    "__version__",
]
