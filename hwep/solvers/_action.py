r"""The discrete action of a network on a uniform time grid (a variational integrator).

A grid has ``n_steps`` steps of h = T / n_steps. A periodic grid holds the points
t_j = j h, j < N (q_N ≡ q_0); a bounded grid holds j ≤ N, both ends included. One step
of the Störmer–Verlet discrete Lagrangian (THEORY §6) is

    L_d(q_j, q_{j+1}) = h [ T(v_j) − ½ U(q_j) − ½ U(q_{j+1})
                            + ½ f_j·q_j + ½ f_{j+1}·q_{j+1} ],               (1)

with v_j = E (q_{j+1} − q_j) / h the branch velocities, T the kinetic energies of the
kinetic elements (capacitors, masses, varactors) and U the potential energies of the
potential elements (inductors, springs, Duffing and Josephson kinds) on the branch
coordinates u_j = E q_j. Summed over the steps,

    S_d = h Σ_steps T(v_j) − h Σ_points a_j [U(u_j) − f_j·q_j],               (2)

with a_j = 1, except a_0 = a_N = ½ on a bounded grid. The scaled action gradient
G_j = (1/h) ∂S_d/∂q_j is

    G_j = Eᵀ[τ(v_{j−1}) − τ(v_j)] / h − a_j Eᵀ σ(u_j) + a_j f_j − a_j Eᵀ ρ(w_j),   (3)

τ = dT/dv (charge, momentum), σ = dU/du (current, tension), and the last term is the
Rayleigh force of resistors and dampers on the central velocity
w_j = E (q_{j+1} − q_{j−1}) / (2h) at interior points. Without it, eq. (3) is exactly
the gradient of eq. (2); with it, the equations are no longer variational (THEORY §8).
Terms with τ at steps outside a bounded grid are absent. The Jacobian ∂G/∂q is
block-tridiagonal (with a periodic wrap), symmetric without loss.

The conjugate variable of a parameter is the time average of ∂L_d/∂θ,

    Λ_θ = (1/T) ∂S_d/∂θ,                                                      (4)

and the exact gradient of any cost C_d(q) through equations G = 0 is

    dC_d/dθ = −λᵀ ∂G/∂θ,     (∂G/∂q)ᵀ λ = ∂C_d/∂q,                            (5)

one solve with the transposed Jacobian. Everything here goes through the element kinds'
own energy, force and stiffness functions, so it accepts complex coordinates
(complex-step differentiation).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..elements import KINETIC, POTENTIAL, RAYLEIGH
from ..errors import ConfigError
from ..system import System

__all__ = ["DiscreteAction", "JacobianPattern"]


class DiscreteAction:
    """Eq. (2) of a System on one uniform grid: gradient, Jacobian, conjugates.

    Parameters
    ----------
    system : System
        The compiled network.
    n_steps : int
        Number of time steps N, >= 2.
    horizon : float
        Period (periodic) or horizon (bounded) T, s.
    periodic : bool
        Periodic grid (N points) or bounded grid (N + 1 points).

    Notes
    -----
    Coordinates are arrays Q of shape (n_times, n_nodes); forces F the same. Branch
    arrays are (n_times, n_elements) on points and (n_steps, n_elements) on steps.
    """

    def __init__(self, system: System, n_steps: int, horizon: float, *, periodic: bool):
        if int(n_steps) < 2:
            raise ConfigError(f"a time grid needs n_steps >= 2, got {n_steps!r}")
        if not (np.isfinite(horizon) and horizon > 0):
            raise ConfigError(f"time horizon must be positive, got {horizon!r} s")
        self.system = system
        self.n_steps = int(n_steps)
        self.horizon = float(horizon)
        self.periodic = bool(periodic)
        self.h = self.horizon / self.n_steps
        self.n_times = self.n_steps if self.periodic else self.n_steps + 1
        self.n_nodes = system.n_nodes
        self.n_elements = system.n_elements

        # Point weights a_j of eq. (2): trapezoid ends on a bounded grid.
        self.weights = np.ones(self.n_times)
        if not self.periodic:
            self.weights[[0, -1]] = 0.5

        # Which elements play which role, and which parameters belong to which role.
        self.masks = {role: system.roles == role for role in (KINETIC, POTENTIAL)}
        self.masks[RAYLEIGH] = system.roles == RAYLEIGH
        params = system.network.parameters
        self.parameter_roles = np.array(
            [system.network.elements[p.element].kind.role for p in params]
        )
        self.lossy = bool(np.any(self.masks[RAYLEIGH]))
        self._Et = system.E.T.tocsr()

    # -- kinematics -------------------------------------------------------------

    def branches(self, Q: np.ndarray) -> np.ndarray:
        """Branch coordinates u = E q, (..., n_times, n_elements)."""
        Q = np.asarray(Q)
        flat = Q.reshape(-1, Q.shape[-1]) @ self._Et
        return flat.reshape(Q.shape[:-1] + (self.n_elements,))

    def step_velocities(self, U: np.ndarray) -> np.ndarray:
        """Branch velocities v_j = (u_{j+1} − u_j)/h, (..., n_steps, n_elements)."""
        following = np.roll(U, -1, axis=-2) if self.periodic else U[..., 1:, :]
        return (following[..., : self.n_steps, :] - U[..., : self.n_steps, :]) / self.h

    def central_velocities(self, U: np.ndarray) -> np.ndarray:
        """Central velocities w_j = (u_{j+1} − u_{j−1})/(2h), (..., n_times, n_el).

        Zero at the ends of a bounded grid.
        """
        if self.periodic:
            return (np.roll(U, -1, axis=-2) - np.roll(U, 1, axis=-2)) / (2 * self.h)
        W = np.zeros_like(U)
        W[..., 1:-1, :] = (U[..., 2:, :] - U[..., :-2, :]) / (2 * self.h)
        return W

    # -- eq. (2) and (3) ----------------------------------------------------------

    def action(self, Q: np.ndarray, F: np.ndarray) -> complex | float:
        """S_d of eq. (2) for one trajectory (the Rayleigh term has no action)."""
        U = self.branches(Q)
        V = self.step_velocities(U)
        kinetic = self.system.element_energy(V, role=KINETIC).sum()
        potential = self.system.element_energy(U, role=POTENTIAL).sum(axis=-1)
        work = np.sum(np.asarray(F) * np.asarray(Q), axis=-1)
        return self.h * kinetic - self.h * np.sum(self.weights * (potential - work))

    def gradient(self, Q: np.ndarray, F: np.ndarray) -> np.ndarray:
        """G of eq. (3), (n_times, n_nodes); F holds the node forces, same shape."""
        U = self.branches(Q)
        tau = self.system.element_forces(self.step_velocities(U), role=KINETIC)
        sigma = self.system.element_forces(U, role=POTENTIAL)

        # Kinetic differences τ_{j−1} − τ_j, with nothing beyond a bounded grid's ends.
        kinetic = np.zeros(U.shape, dtype=tau.dtype)
        kinetic[: self.n_steps] -= tau
        if self.periodic:
            kinetic += np.roll(tau, 1, axis=0)
        else:
            kinetic[1:] += tau

        # Point terms, weighted by a_j; the Rayleigh force at interior points.
        point = sigma
        if self.lossy:
            point = point + self.system.element_forces(
                self.central_velocities(U), role=RAYLEIGH
            )
        branch = kinetic / self.h - self.weights[:, None] * point
        return (self.system.E.T @ branch.T).T + self.weights[:, None] * F

    def force_scale(self, Q: np.ndarray, F: np.ndarray) -> np.ndarray:
        """Largest magnitudes of the terms of eq. (3), for relative residuals.

        Returns
        -------
        numpy.ndarray
            (2,): the scale of the real parts and of the imaginary parts (zero for
            real arrays; a complex step lives on its own tiny scale).
        """
        U = self.branches(Q)
        tau = self.system.element_forces(self.step_velocities(U), role=KINETIC)
        sigma = self.system.element_forces(U, role=POTENTIAL)
        terms = (np.asarray(F), sigma, tau / self.h)
        real = max(np.abs(np.real(t)).max(initial=0.0) for t in terms)
        imag = max(np.abs(np.imag(t)).max(initial=0.0) for t in terms)
        return np.array([real, imag])

    def curvatures(self, Q: np.ndarray) -> dict[str, np.ndarray]:
        """Per-element second derivatives that weight the Jacobian blocks.

        Returns
        -------
        dict
            ``kinetic`` τ'(v_j)/h², (n_steps, n_el); ``potential`` −a_j σ'(u_j),
            (n_times, n_el); ``rayleigh`` a_j ρ'(w_j)/(2h) at interior points,
            (n_times, n_el).
        """
        U = self.branches(Q)
        kinetic = self.system.element_stiffness(self.step_velocities(U), role=KINETIC)
        potential = self.system.element_stiffness(U, role=POTENTIAL)
        out = {
            "kinetic": kinetic / self.h**2,
            "potential": -self.weights[:, None] * potential,
        }
        if self.lossy:
            rayleigh = self.system.element_stiffness(
                self.central_velocities(U), role=RAYLEIGH
            )
            rayleigh = self.weights[:, None] * rayleigh / (2 * self.h)
            if not self.periodic:
                rayleigh[[0, -1]] = 0.0
            out["rayleigh"] = rayleigh
        return out

    # -- eq. (4) and (5) ----------------------------------------------------------

    def conjugates(self, Q: np.ndarray) -> np.ndarray:
        """Λ_θ of eq. (4) for every trainable parameter, (..., n_params).

        NaN for resistor and damper parameters, which have no conjugate variable.
        """
        U = self.branches(Q)
        V = self.step_velocities(U)
        roles = self.parameter_roles

        # Kinetic parameters see the step velocities, potential ones the points.
        grad_v = self.system.parameter_energy_grad(V).sum(axis=-2)
        grad_u = np.einsum(
            "j,...jp->...p", self.weights, self.system.parameter_energy_grad(U)
        )
        values = np.where(roles == KINETIC, grad_v, -grad_u) * self.h / self.horizon
        return np.where(roles == RAYLEIGH, np.nan, values)

    def parameter_products(self, Q: np.ndarray, lam: np.ndarray) -> np.ndarray:
        """−λᵀ ∂G/∂θ of eq. (5) for every trainable parameter, (n_params,).

        Parameters
        ----------
        Q : numpy.ndarray
            Trajectory, (n_times, n_nodes).
        lam : numpy.ndarray
            Adjoint field, (n_times, n_nodes); zero at points without an equation.
        """
        U = self.branches(Q)
        L_u = self.branches(lam)
        roles = self.parameter_roles
        pick = self._parameter_elements

        # Kinetic: −Σ_j λ_j·Eᵀ(τ_θ,j−1 − τ_θ,j)/h = −Σ_steps τ_θ(v_j) (E λ)'_j.
        tau_grad = self.system.parameter_force_grad(self.step_velocities(U))
        lam_v = self.step_velocities(L_u)[:, pick]
        kinetic = -np.sum(tau_grad * lam_v, axis=0)

        # Potential and Rayleigh: +Σ_j a_j (E λ)_j σ_θ(u_j), likewise ρ_θ(w_j).
        sigma_grad = self.system.parameter_force_grad(U)
        weighted = self.weights[:, None] * L_u[:, pick]
        values = np.where(roles == KINETIC, kinetic, np.sum(sigma_grad * weighted, 0))
        if np.any(roles == RAYLEIGH):
            rho_grad = self.system.parameter_force_grad(self.central_velocities(U))
            rayleigh = np.sum(rho_grad * weighted, axis=0)
            values = np.where(roles == RAYLEIGH, rayleigh, values)
        return values

    # -- energy -------------------------------------------------------------------

    def energy(self, Q: np.ndarray) -> np.ndarray:
        """Discrete energy per step, (n_steps,), J.

        H_{j+½} = Σ_kinetic [v τ(v) − T(v)](v_j) + ½ [U(u_j) + U(u_{j+1})]: the energy
        of the variational integrator, which an undriven lossless trajectory keeps up to
        an O(h²) oscillation without drift.
        """
        U = self.branches(Q)
        V = self.step_velocities(U)
        tau = self.system.element_forces(V, role=KINETIC)
        kinetic = np.sum(V * tau - self.system.element_energy(V, role=KINETIC), axis=-1)
        potential = self.system.element_energy(U, role=POTENTIAL).sum(axis=-1)
        following = np.roll(potential, -1) if self.periodic else potential[1:]
        return kinetic + 0.5 * (potential[: self.n_steps] + following[: self.n_steps])

    # -- private ------------------------------------------------------------------

    @property
    def _parameter_elements(self) -> np.ndarray:
        """Element index of every trainable parameter, (n_params,)."""
        return np.array([p.element for p in self.system.network.parameters], dtype=int)


class JacobianPattern:
    """Sparsity of ∂G/∂q restricted to some equation rows and unknown columns.

    Built once per grid and choice of rows and columns; ``matrix`` then fills the
    values from the per-element curvatures in O(nnz). Extra constant rows and columns
    (gauge constraints) are appended after the node unknowns.

    Parameters
    ----------
    action : DiscreteAction
        The grid and network.
    rows : array_like of int
        Time points whose equations G_j are kept, in order.
    cols : array_like of int
        Time points whose coordinates are unknown, in order.
    border : scipy.sparse matrix, optional
        Z, (len(cols) · n_nodes, n_border): constraint columns appended as
        [[J, Z], [Zᵀ, 0]] (a square, bordered system); requires len(rows) == len(cols).
    """

    def __init__(self, action: DiscreteAction, rows, cols, border=None):
        self.action = action
        n, n_el = action.n_nodes, action.n_elements
        self.rows = np.asarray(rows, dtype=int)
        self.cols = np.asarray(cols, dtype=int)
        row_map = np.full(action.n_times, -1)
        row_map[self.rows] = np.arange(self.rows.size)
        col_map = np.full(action.n_times, -1)
        col_map[self.cols] = np.arange(self.cols.size)
        self.n_border = 0 if border is None else border.shape[1]
        self.shape = (
            self.rows.size * n + self.n_border,
            self.cols.size * n + self.n_border,
        )

        # Node pairs (k, l, sign) of every element's e eᵀ, ground dropped.
        E = action.system.E.tocoo()
        pair_el, pair_r, pair_c, pair_s = [], [], [], []
        by_element = [[] for _ in range(n_el)]
        for b, node, value in zip(E.row, E.col, E.data, strict=True):
            by_element[b].append((node, value))
        for b, entries in enumerate(by_element):
            for k, sk in entries:
                for m, sm in entries:
                    pair_el.append(b)
                    pair_r.append(k)
                    pair_c.append(m)
                    pair_s.append(sk * sm)
        pair_el, pair_r = np.array(pair_el, int), np.array(pair_r, int)
        pair_c, pair_s = np.array(pair_c, int), np.array(pair_s, float)

        # Terms of the blocks: (row time, column time, weight row, sign, role).
        N, T = action.n_steps, action.n_times
        steps = np.arange(N)
        nxt = (steps + 1) % T
        points = np.arange(T)
        terms = [
            ("kinetic", steps, steps, steps, 1.0),
            ("kinetic", nxt, nxt, steps, 1.0),
            ("kinetic", steps, nxt, steps, -1.0),
            ("kinetic", nxt, steps, steps, -1.0),
            ("potential", points, points, points, 1.0),
        ]
        if action.lossy:
            inner = points if action.periodic else points[1:-1]
            terms += [
                ("rayleigh", inner, (inner - 1) % T, inner, 1.0),
                ("rayleigh", inner, (inner + 1) % T, inner, -1.0),
            ]
        offsets = {"kinetic": 0, "potential": N * n_el, "rayleigh": (N + T) * n_el}
        role_of = {"kinetic": KINETIC, "potential": POTENTIAL, "rayleigh": RAYLEIGH}

        # COO entries of every term, dropped where a row or column is not kept.
        all_r, all_c, all_src, all_sign = [], [], [], []
        for name, t_row, t_col, w_row, sign in terms:
            keep_pairs = action.masks[role_of[name]][pair_el]
            pe, pr, pc, ps = (
                pair_el[keep_pairs],
                pair_r[keep_pairs],
                pair_c[keep_pairs],
                pair_s[keep_pairs],
            )
            rb, cb = row_map[t_row], col_map[t_col]
            keep = (rb >= 0) & (cb >= 0)
            rb, cb, wr = rb[keep], cb[keep], w_row[keep]
            all_r.append((rb[:, None] * n + pr[None, :]).ravel())
            all_c.append((cb[:, None] * n + pc[None, :]).ravel())
            all_src.append((offsets[name] + wr[:, None] * n_el + pe[None, :]).ravel())
            all_sign.append(np.broadcast_to(sign * ps, (rb.size, ps.size)).ravel())
        self._n_weights = (N + 2 * T) * n_el
        r = np.concatenate(all_r)
        c = np.concatenate(all_c)
        src = np.concatenate(all_src)
        sign = np.concatenate(all_sign)

        # The border [[0, Z], [Zᵀ, 0]] as constant entries (weight slot "one").
        if border is not None:
            if self.rows.size != self.cols.size:
                raise ValueError("a bordered Jacobian must be square")
            Z = sp.coo_matrix(border)
            base = self.cols.size * n
            one = np.full(Z.nnz, self._n_weights)
            r = np.concatenate([r, Z.row, base + Z.col])
            c = np.concatenate([c, base + Z.col, Z.row])
            src = np.concatenate([src, one, one])
            sign = np.concatenate([sign, Z.data, Z.data])

        # CSC order: unique (column, row) keys and each entry's slot.
        keys = c.astype(np.int64) * self.shape[0] + r
        unique, self._slot = np.unique(keys, return_inverse=True)
        self._src, self._sign = src, sign
        self.indices = (unique % self.shape[0]).astype(np.int32)
        counts = np.bincount(unique // self.shape[0], minlength=self.shape[1])
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        self.nnz = unique.size

    def matrix(self, curvatures: dict[str, np.ndarray]) -> sp.csc_matrix:
        """∂G/∂q (bordered when asked) from ``DiscreteAction.curvatures``."""
        n_el = self.action.n_elements
        parts = [curvatures["kinetic"].reshape(-1), curvatures["potential"].reshape(-1)]
        rayleigh = curvatures.get("rayleigh")
        if rayleigh is None:
            rayleigh = np.zeros(self.action.n_times * n_el)
        parts += [np.reshape(rayleigh, -1), np.ones(1)]
        weights = np.concatenate(parts)
        values = weights[self._src] * self._sign
        if np.iscomplexobj(values):
            data = np.bincount(self._slot, values.real, self.nnz) + 1j * np.bincount(
                self._slot, values.imag, self.nnz
            )
        else:
            data = np.bincount(self._slot, values, self.nnz)
        return sp.csc_matrix((data, self.indices, self.indptr), shape=self.shape)
