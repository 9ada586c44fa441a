r"""Periodic steady states of nonlinear networks on the discrete action.

The trajectory is sampled at N points of one period T (q_N ≡ q_0) and made stationary
for the discrete action of ``hwep.solvers._action``,

    G_j(q) = Eᵀ[τ(v_{j−1}) − τ(v_j)]/h − Eᵀσ(u_j) + f_j − Eᵀρ(w_j) = 0,  j < N,  (1)

by Newton's method; the Jacobian is block-tridiagonal with a periodic wrap (blocks
n_nodes square), factored by SuperLU. For a linear network with a harmonic drive the
solution converges to the phasor solution at second order in h = T/N: at angular
frequency ω the discrete equations see ω̃² = (2 − 2 cos ωh)/h² and a loss sin(ωh)/h in
place of ω² and ω.

Gauge. A node joined to ground by no chain of potential elements (inductors, springs,
Josephson or Duffing kinds) has an undetermined mean coordinate: eq. (1) is unchanged
when its whole group moves by a constant. Each such group gets the constraint that its
coordinates have zero mean over the group and the period, imposed with a multiplier
(the bordered system of ``hwep.solvers._newton``). A drive with a net DC current
(force) into such a group has no periodic solution and is rejected, naming the nodes.

Notes
-----
Dissipation (resistors, dampers) enters as the Rayleigh force on the central velocity.
Equation (1) is then not the gradient of an action, and EP on it is biased
(``hwep.trajectory.dissipation_bias`` measures the bias against the exact adjoint).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp

from ..elements import KINETIC, POTENTIAL
from ..errors import InvalidNetworkError
from ..system import System
from ._action import DiscreteAction
from ._newton import Solution, StationarySolver

__all__ = ["PeriodicSolver", "floating_groups"]


class PeriodicSolver:
    """Newton on eq. (1) for one network, period and grid.

    Parameters
    ----------
    system : System
        The compiled network (nonlinear elements allowed).
    n_steps : int
        Points per period N, >= 4.
    period : float
        T in s.
    tolerance : float
        Relative residual at which Newton stops.
    max_iterations : int
        Newton iterations per solve.
    continuation_steps : int
        Steps of the continuation in drive amplitude for free phases (0: none).

    Examples
    --------
    An LC tank (L = 10 mH, C = 100 µF, resonance 1000 rad/s) driven by 1 A at
    ω = 50 rad/s has the flux amplitude 1/(1/L − ω̃²C) ≈ 0.010025 Wb:

    >>> import networkx as nx
    >>> from hwep.network import Network
    >>> G = nx.MultiGraph(ground=0, inputs=[1], outputs=[1])
    >>> _ = G.add_edge(1, 0, kind="inductor", value=0.01)
    >>> _ = G.add_edge(1, 0, kind="capacitor", value=1e-4)
    >>> solver = PeriodicSolver(System(Network(G)), 64, 2 * np.pi / 50)
    >>> t = np.arange(64) * solver.action.h
    >>> q = solver.solve(np.cos(50 * t)[:, None]).Q
    >>> round(float(q[0, 0]), 6)
    0.010025
    """

    def __init__(
        self,
        system: System,
        n_steps: int,
        period: float,
        *,
        tolerance: float = 1e-12,
        max_iterations: int = 50,
        continuation_steps: int = 0,
    ):
        self.system = system
        self.action = DiscreteAction(system, n_steps, period, periodic=True)
        self.groups = floating_groups(system)

        # Zero-mean gauge of every floating group, scaled like the Jacobian's diagonal.
        scale = _diagonal_scale(system, self.action.h)
        n, T = system.n_nodes, self.action.n_times
        rows, cols = [], []
        for g, nodes in enumerate(self.groups):
            index = (np.arange(T)[:, None] * n + nodes[None, :]).ravel()
            rows.append(index)
            cols.append(np.full(index.size, g))
        border = None
        if self.groups:
            rows, cols = np.concatenate(rows), np.concatenate(cols)
            border = sp.csc_matrix(
                (np.full(rows.size, scale), (rows, cols)),
                shape=(T * n, len(self.groups)),
            )
        points = np.arange(T)
        self.stationary = StationarySolver(
            self.action,
            points,
            points,
            border=border,
            tolerance=tolerance,
            max_iterations=max_iterations,
            continuation_steps=continuation_steps,
            label="periodic",
        )

    def check_drive(self, F: np.ndarray) -> None:
        """Reject a net DC force into a floating group (no periodic solution).

        Parameters
        ----------
        F : numpy.ndarray
            Node forces, (n_times, n_nodes) or (n_samples, n_times, n_nodes).

        Raises
        ------
        InvalidNetworkError
            Naming the group's nodes.
        """
        F = np.asarray(F)
        size = np.abs(F).max(initial=0.0)
        for nodes in self.groups:
            net = np.abs(np.real(F[..., nodes].sum(axis=-1).mean(axis=-1))).max()
            if net > 1e-9 * max(size, 1e-300) * len(nodes):
                names = [str(self.system.network.nodes[i]) for i in nodes]
                raise InvalidNetworkError(
                    f"node(s) {names} have no inductive (spring) path to ground, yet "
                    f"the drive puts a net DC current (force) of {net:.3g} into them: "
                    "their coordinate would ramp without bound, so no periodic steady "
                    "state exists; add an inductor (spring) to ground or remove the "
                    "DC part of the drive"
                )

    def solve(self, F: np.ndarray, **options) -> Solution:
        """The periodic trajectory of one sample (options of ``StationarySolver``)."""
        return self.stationary.solve(np.asarray(F), **options)

    def rebind(self, system: System) -> None:
        """Use new element values (same network graph), keeping the Jacobian pattern."""
        self.system = system
        self.action.system = system

    def adjoint(self, Q: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """λ = J⁻ᵀ rhs at a converged trajectory, (n_times, n_nodes)."""
        return self.stationary.adjoint(Q, rhs)


def floating_groups(system: System) -> list[np.ndarray]:
    """Node groups with no chain of potential elements to ground, as index arrays.

    Each group is a connected component of the potential elements' graph that does not
    contain ground; its mean coordinate is a zero mode of the periodic equations.
    """
    network = system.network
    floating = set(network.dc_floating_nodes(roles=(POTENTIAL,)))
    if not floating:
        return []
    graph = nx.Graph()
    graph.add_nodes_from(floating)
    graph.add_edges_from(
        e.nodes
        for e in network.elements
        if e.kind.role == POTENTIAL and set(e.nodes) <= floating
    )
    groups = []
    for component in nx.connected_components(graph):
        index = sorted(network.node_index[node] for node in component)
        groups.append(np.array(index, dtype=int))
    return sorted(groups, key=lambda g: int(g[0]))


def _diagonal_scale(system: System, h: float) -> float:
    """A typical diagonal entry of the Jacobian: C/h² (m/h²) plus 1/L (k)."""
    coefficients = np.abs(system.coefficients)
    kinetic = coefficients[system.roles == KINETIC].max(initial=0.0)
    potential = coefficients[system.roles == POTENTIAL].max(initial=0.0)
    return float(max(kinetic / h**2 + potential, 1e-300))
