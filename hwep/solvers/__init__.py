"""Native solvers of the network equations.

- ``phasor``: linear periodic steady state, one sparse LU per drive frequency.
"""

from .phasor import PhasorSolver

__all__ = ["PhasorSolver"]
