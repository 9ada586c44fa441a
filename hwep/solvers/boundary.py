r"""Fixed initial and final states on the discrete action (a two-point problem).

The trajectory is sampled at the N + 1 points t_j = j h of the horizon T; q_0 and q_N
are given, and the interior points make the discrete action stationary,

    G_j(q) = Eᵀ[τ(v_{j−1}) − τ(v_j)]/h − Eᵀσ(u_j) + f_j − Eᵀρ(w_j) = 0,
    0 < j < N,                                                               (1)

(``hwep.solvers._action``), solved all at once by Newton's method with a
block-tridiagonal Jacobian. The end states do not depend on the parameters or on the
nudge, so the boundary terms of the action's variation vanish and EP is exact on this
discrete model (THEORY §6). This is not what hardware run forward from a known state
does: a late nudge changes the required initial velocity.

Notes
-----
Uniqueness fails at conjugate points (a lossless mode with sin ω_n T = 0); the Jacobian
is then singular and Newton reports it. Losses enter as in the periodic solver and bias
EP.
"""

from __future__ import annotations

import numpy as np

from ..system import System
from ._action import DiscreteAction
from ._newton import Solution, StationarySolver

__all__ = ["BoundarySolver"]


class BoundarySolver:
    """Newton on eq. (1) for one network, horizon and grid.

    Parameters
    ----------
    system : System
        The compiled network.
    n_steps : int
        Steps N over the horizon, >= 2.
    horizon : float
        T in s.
    tolerance, max_iterations, continuation_steps
        As for ``hwep.solvers.PeriodicSolver``. Continuation scales the drive and both
        end states together, starting from rest.

    Examples
    --------
    A mass–spring (m = 1 kg, k = 1 N/m) from x = 0 to x = 1 m in T = π/2 s moves as
    sin t, so the midpoint sits near sin(π/4) ≈ 0.707 m:

    >>> import networkx as nx
    >>> from hwep.network import Network
    >>> G = nx.MultiGraph(ground=0, inputs=[1], outputs=[1])
    >>> _ = G.add_edge(1, 0, kind="mass", value=1.0)
    >>> _ = G.add_edge(1, 0, kind="spring", value=1.0)
    >>> solver = BoundarySolver(System(Network(G)), 64, np.pi / 2)
    >>> q = solver.solve(np.zeros((65, 1)), initial=[0.0], final=[1.0]).Q
    >>> round(float(q[32, 0]), 3)
    0.707
    """

    def __init__(
        self,
        system: System,
        n_steps: int,
        horizon: float,
        *,
        tolerance: float = 1e-12,
        max_iterations: int = 50,
        continuation_steps: int = 0,
    ):
        self.system = system
        self.action = DiscreteAction(system, n_steps, horizon, periodic=False)
        inner = np.arange(1, self.action.n_times - 1)
        self.stationary = StationarySolver(
            self.action,
            inner,
            inner,
            tolerance=tolerance,
            max_iterations=max_iterations,
            continuation_steps=continuation_steps,
            label="boundary",
        )

    def solve(self, F: np.ndarray, *, initial=None, final=None, **options) -> Solution:
        """The trajectory of one sample between the given end states.

        Parameters
        ----------
        F : numpy.ndarray
            Node forces, (n_steps + 1, n_nodes), A or N.
        initial, final : array_like, optional
            q_0 and q_N, (n_nodes,), Wb or m; default zero.
        **options
            As for ``StationarySolver.solve``.
        """
        F = np.asarray(F)
        fixed = np.zeros(F.shape, dtype=np.result_type(F, float))
        if initial is not None:
            fixed[0] = initial
        if final is not None:
            fixed[-1] = final
        return self.stationary.solve(F, fixed=fixed, **options)

    def rebind(self, system: System) -> None:
        """Use new element values (same network graph), keeping the Jacobian pattern."""
        self.system = system
        self.action.system = system

    def adjoint(self, Q: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """λ = J⁻ᵀ rhs at a converged trajectory, (n_steps + 1, n_nodes)."""
        return self.stationary.adjoint(Q, rhs)
