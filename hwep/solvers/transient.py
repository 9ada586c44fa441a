r"""Initial- and final-value runs of lossless networks by Störmer–Verlet steps.

The same discrete action as the periodic and boundary solvers (``_action``), stepped in
time instead of solved all at once. With the half-step momenta p_{j+½} = Eᵀτ(v_j)
(capacitor charges, mass momenta), the equations G_j = 0 of interior points read

    p_{j+½} = p_{j−½} + h (f_j − Eᵀσ(u_j)),                                   (1)

and the end momenta, the discrete Legendre transforms of the step Lagrangian, are

    p_0 = p_½ − (h/2)(f_0 − Eᵀσ(u_0)),     p_N = p_{N−½} + (h/2)(f_N − Eᵀσ(u_N)).   (2)

Forward: from (q_0, p_0), kick by eq. (2), then drift q_{j+1} = q_j + h v_j with v_j
solving Eᵀτ(E v_j) = p_{j+½} (one sparse solve with the capacitance matrix; Newton for
varactors), and kick by eq. (1). Backward: the same steps in reverse from (q_N, p_N).
Verlet is reversible, so a backward run from a forward run's final state retraces it.

The echo condition of THEORY §7 fixes the nudged trajectory by the free final state
(q_N, p_N): the nudged run goes backward from it, with the nudge force included in the
kicks (which is the same as flipping the momenta and running forward with the
time-reversed nudge). Then EP is exact on this discrete model; a run nudged forward
from the initial state is not.

Notes
-----
Requires a lossless network (Rayleigh forces are not reversible) and a kinetic element
path to ground at every node (the capacitance or mass matrix must be invertible).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..elements import KINETIC, POTENTIAL, RAYLEIGH
from ..errors import ConvergenceError, InvalidNetworkError
from ..system import System
from ._action import DiscreteAction
from ._newton import StationarySolver

__all__ = ["VerletSolver"]

_KINETIC_TOLERANCE = 1e-14
_DENSE_NODES = 64


class VerletSolver:
    """Forward and backward Verlet runs of one lossless network on one grid.

    Parameters
    ----------
    system : System
        The compiled network; lossless, with a kinetic path to ground at every node.
    n_steps : int
        Steps N, >= 2.
    horizon : float
        T in s.

    Raises
    ------
    InvalidNetworkError
        For a resistor or damper, or a node without capacitance (mass) to ground.

    Examples
    --------
    A mass–spring (m = 1 kg, k = 1 N/m) released from rest at x = 1 m is back near
    cos(2π) = 1 after one period:

    >>> import networkx as nx
    >>> from hwep.network import Network
    >>> G = nx.MultiGraph(ground=0, inputs=[1], outputs=[1])
    >>> _ = G.add_edge(1, 0, kind="mass", value=1.0)
    >>> _ = G.add_edge(1, 0, kind="spring", value=1.0)
    >>> solver = VerletSolver(System(Network(G)), 200, 2 * np.pi)
    >>> Q, p_end = solver.forward(np.zeros((201, 1)), initial=[1.0])
    >>> round(float(Q[-1, 0]), 3)
    1.0
    """

    def __init__(self, system: System, n_steps: int, horizon: float):
        self.system = system
        self.action = DiscreteAction(system, n_steps, horizon, periodic=False)
        self._check_network()
        self.h = self.action.h
        self._dense = system.n_nodes <= _DENSE_NODES
        self._E = system.E.toarray() if self._dense else None
        self._ivp: StationarySolver | None = None
        self.rebind(system)

    def rebind(self, system: System) -> None:
        """Use new element values (same network graph), keeping the adjoint pattern."""
        self.system = system
        self.action.system = system
        self.linear_kinetic = not np.any(system.nonlinear & (system.roles == KINETIC))

        # The small-signal capacitance (mass) matrix, from the element kinds' own
        # curvature (complex parameters of a complex step included).
        zero = np.zeros(system.n_elements, dtype=complex)
        stiffness = system.element_stiffness(zero, role=KINETIC)
        if not np.any(stiffness.imag):
            stiffness = stiffness.real
        self._mass_lu = _Factor(_kinetic_matrix(system, stiffness), self._dense)

    # -- runs -----------------------------------------------------------------------

    def forward(self, F, *, initial=None, momentum=None, nudge=None):
        """Run from (q_0, p_0) to the end of the horizon.

        Parameters
        ----------
        F : numpy.ndarray
            Node forces, (n_steps + 1, n_nodes), A or N.
        initial, momentum : array_like, optional
            q_0 (Wb, m) and p_0 (C, kg·m/s), (n_nodes,); default rest at zero.
        nudge : callable, optional
            ``nudge(j, q_j)`` → extra node force at point j (a closed-loop nudge).

        Returns
        -------
        Q : numpy.ndarray
            Trajectory, (n_steps + 1, n_nodes).
        p_final : numpy.ndarray
            p_N of eq. (2), (n_nodes,).
        """
        F = np.asarray(F)
        N = self.action.n_steps
        Q = np.zeros(F.shape, dtype=np.result_type(F, float))
        if initial is not None:
            Q[0] = initial
        p = np.zeros(F.shape[1], Q.dtype) if momentum is None else np.asarray(momentum)

        # Half kick, then drift–kick steps, then the final half kick (eqs. 1–2).
        p_half = p + 0.5 * self.h * self._net_force(F, Q, 0, nudge)
        velocity = None
        for j in range(N):
            velocity = self._velocity(p_half, velocity)
            Q[j + 1] = Q[j] + self.h * velocity
            if j + 1 < N:
                p_half = p_half + self.h * self._net_force(F, Q, j + 1, nudge)
        p_final = p_half + 0.5 * self.h * self._net_force(F, Q, N, nudge)
        return Q, p_final

    def backward(self, F, *, final, momentum, nudge=None):
        """Run from (q_N, p_N) back to the start of the horizon.

        Parameters
        ----------
        F : numpy.ndarray
            Node forces, (n_steps + 1, n_nodes).
        final, momentum : array_like
            q_N and p_N, (n_nodes,).
        nudge : callable, optional
            As for ``forward``.

        Returns
        -------
        Q : numpy.ndarray
            Trajectory, (n_steps + 1, n_nodes).
        p_initial : numpy.ndarray
            p_0 of eq. (2), (n_nodes,).
        """
        F = np.asarray(F)
        N = self.action.n_steps
        Q = np.zeros(F.shape, dtype=np.result_type(F, final, momentum, float))
        Q[N] = final

        # The forward steps undone in reverse order.
        p_half = np.asarray(momentum) - 0.5 * self.h * self._net_force(F, Q, N, nudge)
        velocity = None
        for j in range(N - 1, -1, -1):
            velocity = self._velocity(p_half, velocity)
            Q[j] = Q[j + 1] - self.h * velocity
            if j > 0:
                p_half = p_half - self.h * self._net_force(F, Q, j, nudge)
        p_initial = p_half - 0.5 * self.h * self._net_force(F, Q, 0, nudge)
        return Q, p_initial

    def residual(self, Q: np.ndarray, F: np.ndarray) -> float:
        """Relative residual of the interior equations G_j = 0 along a trajectory."""
        G = self.action.gradient(Q, F)[1:-1]
        scale = np.maximum(self.action.force_scale(Q, F), 1e-300)
        norm = np.abs(np.real(G)).max(initial=0.0) / scale[0]
        if np.iscomplexobj(G):
            norm += np.abs(np.imag(G)).max(initial=0.0) / scale[1]
        return float(norm)

    def adjoint(self, Q: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """Discrete adjoint of a forward run (BPTT through the Verlet steps).

        The forward run solves the equations G_j = 0 (0 < j < N) and the initial
        momentum condition G_0 + p_0/h = 0 for q_1 … q_N; this solves their transposed
        Jacobian, a block-triangular system, by one sparse LU.

        Parameters
        ----------
        Q : numpy.ndarray
            A forward trajectory, (n_steps + 1, n_nodes).
        rhs : numpy.ndarray
            ∂C_d/∂q, (n_steps + 1, n_nodes); row 0 is not used.

        Returns
        -------
        numpy.ndarray
            λ, (n_steps + 1, n_nodes), zero at point N.
        """
        if self._ivp is None:
            T = self.action.n_times
            self._ivp = StationarySolver(
                self.action, np.arange(T - 1), np.arange(1, T), label="echo"
            )
        return self._ivp.adjoint(Q, rhs)

    # -- private --------------------------------------------------------------------

    def _net_force(self, F, Q, j, nudge) -> np.ndarray:
        """f_j − Eᵀσ(u_j), plus the nudge at point j."""
        u = self.system.E @ Q[j]
        sigma = self.system.element_forces(u, role=POTENTIAL)
        force = F[j] - self.system.E.T @ sigma
        if nudge is not None:
            force = force + nudge(j, Q[j])
        return force

    def _velocity(self, p: np.ndarray, start: np.ndarray | None) -> np.ndarray:
        """v with Eᵀτ(E v) = p: one solve, or Newton for nonlinear kinetic elements."""
        v = self._mass_lu.solve(p)
        if self.linear_kinetic:
            return v
        if start is not None:
            v = start
        E = self._E if self._dense else self.system.E
        for _ in range(50):
            r = E.T @ self.system.element_forces(E @ v, role=KINETIC) - p
            if np.abs(r).max() <= _KINETIC_TOLERANCE * max(np.abs(p).max(), 1e-300):
                return v
            stiffness = self.system.element_stiffness(E @ v, role=KINETIC)
            stiffness = np.where(self.system.roles == KINETIC, stiffness, 0.0)
            if self._dense:
                v = v - np.linalg.solve((E.T * stiffness) @ E, r)
            else:
                v = v - spla.spsolve(_kinetic_matrix(self.system, stiffness), r)
        worst = float(np.abs(r).max())
        raise ConvergenceError(
            "echo backend: the nonlinear kinetic elements (varactors) did not give a "
            f"velocity for the momentum of a Verlet step (residual {worst:.2e}); use a "
            "smaller time step or a weaker nonlinearity",
            residual=worst,
            iterations=50,
        )

    def _check_network(self) -> None:
        """Lossless, and a kinetic path to ground at every node."""
        network = self.system.network
        for element in network.elements:
            if element.kind.role == RAYLEIGH:
                raise InvalidNetworkError(
                    f"{element.describe()}: the echo backend runs the network backward "
                    "in time, which needs a lossless network; remove it or use the "
                    "'periodic' or 'boundary' backend"
                )
        missing = network.dc_floating_nodes(roles=(KINETIC,))
        if missing:
            raise InvalidNetworkError(
                f"node(s) {[str(n) for n in missing]} have no capacitor (mass) path to "
                "ground: the Verlet steps of the echo backend need an invertible "
                "capacitance (mass) matrix; add a capacitor (mass) to ground there"
            )


def _kinetic_matrix(system: System, weights: np.ndarray) -> sp.csc_matrix:
    """Eᵀ diag(weights) E over the kinetic elements, (n_nodes, n_nodes)."""
    weights = np.where(system.roles == KINETIC, weights, 0.0)
    return (system.E.T @ sp.diags(weights) @ system.E).tocsc()


class _Factor:
    """LU of the capacitance matrix (dense for small networks), real or complex."""

    def __init__(self, matrix: sp.csc_matrix, dense: bool):
        self.complex = np.iscomplexobj(matrix.data)
        if dense:
            self._lu = sla.lu_factor(matrix.toarray())
            self._solve = lambda b: sla.lu_solve(self._lu, b)
        else:
            lu = spla.splu(matrix, permc_spec="MMD_AT_PLUS_A")
            self._solve = lu.solve

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Solve, splitting a complex right side over a real factor."""
        if np.iscomplexobj(b) and not self.complex:
            return self._solve(np.ascontiguousarray(b.real)) + 1j * self._solve(
                np.ascontiguousarray(b.imag)
            )
        return self._solve(np.ascontiguousarray(b, dtype=np.result_type(b, float)))
