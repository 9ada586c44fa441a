r"""Compile a Network into sparse matrices in node coordinates.

For linear elements the Lagrangian and Rayleigh function are quadratic forms,

    L = ½ ẋᵀ M ẋ − ½ xᵀ K x + fᵀ x,      R = ½ ẋᵀ D ẋ,

with M = Eᵀ diag(c_kinetic) E, K = Eᵀ diag(c_potential) E, D = Eᵀ diag(c_rayleigh) E, E
the signed incidence matrix (n_elements, n_nodes) and c the elements' linear
coefficients (C, 1/L, 1/R, m, k, c). The equation of motion M ẍ + D ẋ + K x = f is
Kirchhoff's current law at every node (or Newton's law at every mass).

At complex frequency s (s = iω for a periodic drive) a phasor X obeys

    A(s) X = F,     A(s) = K + s D + s² M,                                  (1)

complex symmetric, and real symmetric when there is no loss. Nonlinear elements add
their small-signal coefficient (the curvature of their energy at zero) to these
matrices; time-domain solvers add the rest through ``element_forces``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .elements import KINETIC, POTENTIAL, RAYLEIGH
from .errors import InvalidNetworkError
from .network import Network

__all__ = ["System", "role_factor"]


def role_factor(role: str, s: np.ndarray | complex) -> np.ndarray | complex:
    """Factor of an element's coefficient in A(s): 1, s or s² by role (eq. 1)."""
    if role == POTENTIAL:
        return np.ones_like(s)
    if role == RAYLEIGH:
        return s
    return s * s


@dataclass
class _ElementGroup:
    """Elements of one kind, for vectorized evaluation of their energies."""

    kind: object
    indices: np.ndarray
    params: dict


class System:
    """Sparse matrices, port maps and per-element data of a Network.

    Parameters
    ----------
    network : Network
        The validated network.

    Attributes
    ----------
    E : scipy.sparse.csr_matrix
        Signed incidence, (n_elements, n_nodes).
    coefficients : numpy.ndarray
        Linear coefficient of each element, (n_elements,): C, 1/L, 1/R, m, k, c.
    roles : numpy.ndarray of str
        Role of each element, (n_elements,).
    M, D, K : scipy.sparse.csc_matrix
        Kinetic, dissipation and stiffness matrices, (n_nodes, n_nodes).
    B : scipy.sparse.csc_matrix
        Input map, (n_nodes, n_inputs): column j is the unit vector of input node j.
    P : scipy.sparse.csr_matrix
        Output map, (n_outputs, n_nodes).

    Examples
    --------
    A single LC tank: K = 1/L, M = C.

    >>> import networkx as nx
    >>> from hwep.network import Network
    >>> G = nx.MultiGraph(ground=0, inputs=[1], outputs=[1])
    >>> _ = G.add_edge(1, 0, kind="inductor", value=0.01)
    >>> _ = G.add_edge(1, 0, kind="capacitor", value=1e-4)
    >>> system = System(Network(G))
    >>> float(system.K[0, 0]), float(system.M[0, 0])
    (100.0, 0.0001)
    """

    def __init__(self, network: Network):
        self.network = network
        self.n_nodes = network.n_nodes
        self.n_elements = len(network.elements)
        self.E = network.incidence()
        self.roles = np.array([e.kind.role for e in network.elements])
        self._role_masks = {r: self.roles == r for r in (KINETIC, POTENTIAL, RAYLEIGH)}

        # Ports as sparse selection maps.
        index = network.node_index
        self.input_nodes = np.array([index[n] for n in network.inputs], dtype=int)
        self.output_nodes = np.array([index[n] for n in network.outputs], dtype=int)
        n_in, n_out = len(self.input_nodes), len(self.output_nodes)
        ones_in, ones_out = np.ones(n_in), np.ones(n_out)
        self.B = sp.csc_matrix(
            (ones_in, (self.input_nodes, np.arange(n_in))), shape=(self.n_nodes, n_in)
        )
        self.P = sp.csr_matrix(
            (ones_out, (np.arange(n_out), self.output_nodes)),
            shape=(n_out, self.n_nodes),
        )

        # Elements grouped by kind; one sparsity pattern shared by M, D and K.
        self.groups = self._group_elements()
        self._param_index = self._index_parameters()
        self._pattern, self._scatter = self._build_pattern()
        self._set_coefficients()

    def _set_coefficients(self) -> None:
        """Coefficients, linearity flags and the M, D, K matrices from the groups."""
        self.nonlinear = np.zeros(self.n_elements, dtype=bool)
        for group in self.groups:
            self.nonlinear[group.indices] = ~group.kind.is_linear(group.params)
        self.coefficients = self._coefficients()
        self._data = {
            role: self._scatter
            @ np.where(self._role_masks[role], self.coefficients, 0.0)
            for role in (KINETIC, RAYLEIGH, POTENTIAL)
        }
        self.M, self.D, self.K = (
            self._matrix(self._data[r]) for r in (KINETIC, RAYLEIGH, POTENTIAL)
        )

    # -- matrices -------------------------------------------------------------

    @property
    def is_linear(self) -> bool:
        """Whether every element is linear (no quartic or cosine term in use)."""
        return not self.nonlinear.any()

    @property
    def has_loss(self) -> bool:
        """Whether D has any nonzero entry."""
        return self.D.nnz > 0 and bool(np.any(self.D.data != 0))

    def dynamic_matrix(self, s: complex) -> sp.csc_matrix:
        """A(s) = K + s D + s² M, (n_nodes, n_nodes), complex (eq. 1)."""
        data = self._data
        return self._matrix(
            data[POTENTIAL] + s * data[RAYLEIGH] + (s * s) * data[KINETIC]
        )

    def node_currents(
        self,
        inputs: np.ndarray | None = None,
        outputs: np.ndarray | None = None,
        *,
        batch: tuple[int, int] | None = None,
    ) -> np.ndarray:
        """Currents (forces) at every node from values at the input and output ports.

        Parameters
        ----------
        inputs : numpy.ndarray, optional
            (n_samples, n_harmonics, n_inputs), placed at the input nodes.
        outputs : numpy.ndarray, optional
            Broadcastable to (n_samples, n_harmonics, n_outputs), added at the output
            nodes (a nudge, or an error current for the adjoint).
        batch : tuple of int, optional
            (n_samples, n_harmonics) when ``inputs`` is not given.

        Returns
        -------
        numpy.ndarray
            (n_samples, n_harmonics, n_nodes), complex.
        """
        shape = inputs.shape[:2] if inputs is not None else batch
        currents = np.zeros(tuple(shape) + (self.n_nodes,), dtype=complex)
        if inputs is not None:
            currents[:, :, self.input_nodes] += inputs
        if outputs is not None:
            shape = currents.shape[:2] + (len(self.output_nodes),)
            currents[:, :, self.output_nodes] += np.broadcast_to(outputs, shape)
        return currents

    def branch_values(self, x: np.ndarray) -> np.ndarray:
        """Branch variables U = E x, (..., n_nodes) -> (..., n_elements)."""
        flat = x.reshape(-1, x.shape[-1])
        return (self.E @ flat.T).T.reshape(x.shape[:-1] + (self.n_elements,))

    def scale_matrix(self, s: complex) -> sp.csc_matrix:
        """|K| + |s| |D| + |s|² |M| entrywise: the size of the terms that make A(s).

        A pivot of A that is tiny against this scale means cancellation between
        stiffness and inertia: a resonance.
        """
        data = {role: np.abs(values) for role, values in self._data.items()}
        a = abs(s)
        return self._matrix(
            data[POTENTIAL] + a * data[RAYLEIGH] + a * a * data[KINETIC]
        )

    def with_values(self, values: np.ndarray) -> System:
        """This System with the trainable parameters set to ``values`` (SI units).

        Reuses the incidence, sparsity pattern and port maps; only coefficients and
        matrix entries are recomputed.
        """
        values = np.asarray(values, dtype=float)
        clone = copy.copy(self)
        clone.network = self.network.with_values(values)
        clone.groups = [
            _ElementGroup(g.kind, g.indices, {k: v.copy() for k, v in g.params.items()})
            for g in self.groups
        ]
        for g, name, local, index in self._param_map:
            clone.groups[g].params[name][local] = values[index]
        clone._set_coefficients()
        return clone

    def modes(self) -> tuple[np.ndarray, np.ndarray]:
        """Resonances of the lossless small-signal network.

        Solves K v = ω² M v. Nodes without kinetic elements are eliminated first (their
        coordinate follows the others instantly).

        Returns
        -------
        omega : numpy.ndarray
            Angular frequencies ω_n in rad/s, ascending, (n_modes,).
        vectors : numpy.ndarray
            Mode shapes in node coordinates, (n_nodes, n_modes), M-normalized.
        """
        M, K = self.M.toarray(), self.K.toarray()
        massive = np.abs(np.diag(M)) > 0
        if not massive.any():
            return np.zeros(0), np.zeros((self.n_nodes, 0))

        # Condense massless nodes: K_ss − K_sm K_mm⁻¹ K_ms.
        m_idx, s_idx = np.flatnonzero(massive), np.flatnonzero(~massive)
        K_red = K[np.ix_(m_idx, m_idx)]
        if s_idx.size:
            coupling = sla.solve(K[np.ix_(s_idx, s_idx)], K[np.ix_(s_idx, m_idx)])
            K_red = K_red - K[np.ix_(m_idx, s_idx)] @ coupling
        eigvals, vecs = sla.eigh(K_red, M[np.ix_(m_idx, m_idx)])
        full = np.zeros((self.n_nodes, len(eigvals)))
        full[m_idx] = vecs
        if s_idx.size:
            full[s_idx] = -coupling @ vecs
        return np.sqrt(np.clip(eigvals, 0.0, None)), full

    def lowest_modes(self, count: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """The ``count`` lowest resonances and their Q, by a sparse eigensolver.

        Shift-invert Lanczos on K v = ω² M v just below zero, for networks too large
        for ``modal_quality``'s dense solve. A network with massless nodes (a singular
        M) falls back to the dense solve, which condenses them.

        Returns
        -------
        omega : numpy.ndarray
            ω_n in rad/s, ascending, (count,) at most.
        Q : numpy.ndarray
            Quality factors from the modal mass and damping, (count,).
        """
        count = min(count, self.n_nodes - 1)
        if count < 1 or not np.all(self.M.diagonal() > 0):
            omega, Q = self.modal_quality()
            return omega[: max(count, 0)], Q[: max(count, 0)]
        scale = float(np.median(self.K.diagonal()[self.K.diagonal() > 0] / 1.0)) or 1.0
        mass = float(np.median(self.M.diagonal()[self.M.diagonal() > 0]))
        shift = -1e-6 * scale / mass
        eigvals, vectors = spla.eigsh(
            self.K, k=count, M=self.M, sigma=shift, which="LM"
        )
        order = np.argsort(eigvals)
        eigvals, vectors = eigvals[order], vectors[:, order]
        omega = np.sqrt(np.clip(eigvals, 0.0, None))
        return omega, self._quality(omega, vectors)

    def modal_quality(self) -> tuple[np.ndarray, np.ndarray]:
        """Resonances and their quality factors Q_n = ω_n m_n / d_n.

        The modal mass and damping are vᵀ M v and vᵀ D v of each lossless mode shape,
        the usual estimate for light damping. Q is infinite without loss.

        Returns
        -------
        omega : numpy.ndarray
            ω_n in rad/s, (n_modes,).
        Q : numpy.ndarray
            Quality factors, (n_modes,).
        """
        omega, vectors = self.modes()
        return omega, self._quality(omega, vectors)

    def _quality(self, omega: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Q_n = ω_n (vᵀMv) / (vᵀDv) per mode shape; infinite without damping."""
        modal_m = np.einsum("im,im->m", vectors, self.M @ vectors)
        modal_d = np.einsum("im,im->m", vectors, self.D @ vectors)
        Q = np.full(omega.shape, np.inf)
        lossy = modal_d > 0
        Q[lossy] = omega[lossy] * modal_m[lossy] / modal_d[lossy]
        return Q

    # -- per-parameter derivatives ---------------------------------------------

    def parameter_derivatives(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each trainable parameter: its element, role and ∂c/∂θ.

        Returns
        -------
        element : numpy.ndarray of int
            Element index of each parameter, (n_params,).
        role : numpy.ndarray of str
            Role of that element, (n_params,).
        dcoef : numpy.ndarray
            ∂c/∂θ of the element's linear coefficient, (n_params,). So
            ∂A(s)/∂θ = role_factor(role, s) · dcoef · e eᵀ, with e the element's
            incidence row.
        """
        n_params = len(self.network.parameters)
        dcoef = np.zeros(n_params)
        for g, name, local, index in self._param_map:
            group = self.groups[g]
            dcoef[index] = group.kind.coefficient_grad(group.params)[name][local]
        return self._param_elements, self.roles[self._param_elements], dcoef

    def parameter_factors(self, s: np.ndarray) -> np.ndarray:
        """r(s_h) of each parameter's element, (n_harmonics, n_params): 1, s or s².

        With ``parameter_derivatives``: ∂A(s_h)/∂θ = r(s_h) (∂c/∂θ) e eᵀ.
        """
        s = np.atleast_1d(np.asarray(s, dtype=complex))
        # Columns by role code: potential, Rayleigh, kinetic.
        table = np.stack([np.ones_like(s), s, s * s], axis=1)
        codes = self._role_codes[self._param_elements]
        return table[:, codes]

    # -- nonlinear element evaluation -------------------------------------------

    def element_energy(self, u: np.ndarray, *, role: str) -> np.ndarray:
        """E(u) of every element of ``role``; u is (..., n_elements), others get 0."""
        return self._evaluate("energy", u, role)

    def element_forces(self, u: np.ndarray, *, role: str) -> np.ndarray:
        """dE/du of every element of ``role``, (..., n_elements)."""
        return self._evaluate("force", u, role)

    def element_stiffness(self, u: np.ndarray, *, role: str) -> np.ndarray:
        """d²E/du² of every element of ``role``, (..., n_elements)."""
        return self._evaluate("stiffness", u, role)

    def parameter_energy_grad(self, u: np.ndarray) -> np.ndarray:
        """∂E/∂θ for every trainable parameter, (..., n_params).

        ``u`` holds each element's branch variable, (..., n_elements): the branch
        velocity for kinetic and Rayleigh elements, the branch coordinate for potential
        ones. The conjugate variable is ∂L/∂θ = ±∂E/∂θ (``conjugate_signs``).
        """
        return self._parameter_eval("energy_grad", u)

    def parameter_force_grad(self, u: np.ndarray) -> np.ndarray:
        """∂²E/∂u∂θ for every trainable parameter, (..., n_params)."""
        return self._parameter_eval("force_grad", u)

    def conjugate_signs(self) -> np.ndarray:
        """+1 (kinetic), −1 (potential) or 0 (Rayleigh: no conjugate), (n_params,)."""
        by_code = np.array([-1.0, 0.0, 1.0])  # potential, Rayleigh, kinetic
        return by_code[self._role_codes[self._param_elements]]

    # -- private ----------------------------------------------------------------

    def _group_elements(self) -> list[_ElementGroup]:
        """Elements grouped by kind with stacked parameter arrays."""
        by_kind: dict[str, list[int]] = {}
        for i, element in enumerate(self.network.elements):
            by_kind.setdefault(element.kind.name, []).append(i)
        groups = []
        for indices in by_kind.values():
            kind = self.network.elements[indices[0]].kind
            params = {
                spec.name: np.array(
                    [self.network.elements[i].params[spec.name] for i in indices]
                )
                for spec in kind.parameters
            }
            groups.append(_ElementGroup(kind, np.array(indices), params))
        return groups

    def _build_pattern(self) -> tuple[sp.csc_matrix, sp.csr_matrix]:
        """Union sparsity pattern of Eᵀ diag(c) E, and the map c -> its data.

        Element b with terminals i, j adds c_b at (i, i) and (j, j) and −c_b at (i, j)
        and (j, i) (only (i, i) when j is ground), so the matrix data is linear in c:
        data = S c, with S of shape (nnz, n_elements).
        """
        pattern = (abs(self.E.T) @ abs(self.E)).tocsc()
        pattern.sort_indices()
        pattern.data[:] = 1.0
        position = {}
        for col in range(self.n_nodes):
            for k in range(pattern.indptr[col], pattern.indptr[col + 1]):
                position[(int(pattern.indices[k]), col)] = k
        rows, cols, vals = [], [], []
        E = self.E.tocsr()
        for b in range(self.n_elements):
            nodes = E.indices[E.indptr[b] : E.indptr[b + 1]]
            signs = E.data[E.indptr[b] : E.indptr[b + 1]]
            for i, si in zip(nodes, signs, strict=True):
                for j, sj in zip(nodes, signs, strict=True):
                    rows.append(position[(int(i), int(j))])
                    cols.append(b)
                    vals.append(si * sj)
        scatter = sp.csr_matrix(
            (vals, (rows, cols)), shape=(pattern.nnz, self.n_elements)
        )
        return pattern, scatter

    def _matrix(self, data: np.ndarray) -> sp.csc_matrix:
        """A CSC matrix on the shared pattern with the given data."""
        shape = (self.n_nodes, self.n_nodes)
        pattern = self._pattern
        return sp.csc_matrix((data, pattern.indices, pattern.indptr), shape=shape)

    def _index_parameters(self) -> dict[tuple[int, str], int]:
        """(element, parameter name) -> index in the parameter vector.

        Also builds ``_param_map``: per (group, parameter name), the positions within
        the group and in the parameter vector, for vectorized scatter and gather.
        """
        index = {(p.element, p.name): j for j, p in enumerate(self.network.parameters)}
        self._param_elements = np.array(
            [p.element for p in self.network.parameters], dtype=int
        )
        codes = {POTENTIAL: 0, RAYLEIGH: 1, KINETIC: 2}
        self._role_codes = np.array([codes[r] for r in self.roles], dtype=int)
        self._param_map = []
        for g, group in enumerate(self.groups):
            for spec in group.kind.parameters:
                pairs = [
                    (local, index[(int(e), spec.name)])
                    for local, e in enumerate(group.indices)
                    if (int(e), spec.name) in index
                ]
                if pairs:
                    local, where = (
                        np.array(v, dtype=int) for v in zip(*pairs, strict=True)
                    )
                    self._param_map.append((g, spec.name, local, where))
        return index

    def _coefficients(self) -> np.ndarray:
        """Linear coefficient of every element, (n_elements,)."""
        coefficients = np.zeros(self.n_elements)
        for group in self.groups:
            coefficients[group.indices] = group.kind.coefficient(group.params)
        if not np.all(np.isfinite(coefficients)):
            bad = self.network.elements[
                int(np.flatnonzero(~np.isfinite(coefficients))[0])
            ]
            raise InvalidNetworkError(f"{bad.describe()}: coefficient is not finite")
        return coefficients

    def _evaluate(self, method: str, u: np.ndarray, role: str) -> np.ndarray:
        """Apply an ElementKind method to the elements of one role."""
        u = np.asarray(u)
        out = np.zeros(u.shape, dtype=np.result_type(u, float))
        for group in self.groups:
            if group.kind.role != role:
                continue
            out[..., group.indices] = getattr(group.kind, method)(
                u[..., group.indices], group.params
            )
        return out

    def _parameter_eval(self, method: str, u: np.ndarray) -> np.ndarray:
        """Apply energy_grad or force_grad and pick out the trainable parameters."""
        u = np.asarray(u)
        n_params = len(self.network.parameters)
        out = np.zeros(u.shape[:-1] + (n_params,), dtype=np.result_type(u, float))
        results = {}
        for g, name, local, index in self._param_map:
            if g not in results:
                group = self.groups[g]
                results[g] = getattr(group.kind, method)(
                    u[..., group.indices], group.params
                )
            out[..., index] = results[g][name][..., local]
        return out
