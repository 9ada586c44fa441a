"""Native solvers of the network equations.

- ``phasor``: linear periodic steady state, one sparse LU per drive frequency.
- ``periodic``: periodic steady states of nonlinear networks on the discrete action
  (a variational integrator), Newton with sparse block-cyclic solves.
- ``boundary``: the same discretization with fixed initial and final states.
- ``transient``: Störmer–Verlet initial- and final-value runs of lossless networks
  (the echo condition).
"""

from .boundary import BoundarySolver
from .periodic import PeriodicSolver
from .phasor import PhasorSolver
from .transient import VerletSolver

__all__ = ["BoundarySolver", "PeriodicSolver", "PhasorSolver", "VerletSolver"]
