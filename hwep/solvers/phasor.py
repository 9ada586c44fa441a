r"""Linear periodic steady state, one sparse LU per drive frequency.

A linear network driven by F_h e^{s_h t} at complex frequencies s_h (s_h = iω_h for a
periodic drive) responds with node phasors X_h solving

    A(s_h) X_h = F_h,        A(s) = K + s D + s² M,                          (1)

one sparse factorization per harmonic. The factorization is reused for every right-hand
side: the samples of a batch, the free and frozen-error nudged phases, and the adjoint
solve A⁻ᴴ. A closed-loop nudge on a quadratic output cost adds the low-rank term
β Pᵀ W P (P selects the outputs), solved by the Woodbury identity

    (A + Pᵀ C P)⁻¹ b = x₀ − Z (I + C G)⁻¹ C P x₀,                          (2)

with x₀ = A⁻¹ b, Z = A⁻¹ Pᵀ, G = P Z and C = β W: n_outputs extra solves per harmonic,
once, then only small dense systems.

Notes
-----
Assumes linear elements; a nonlinear element is rejected at construction. A drive on a
resonance of a lossless network makes A singular: this is detected from the LU pivots
and explained with the nearest mode.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import InvalidNetworkError, SingularSystemError
from ..system import System

__all__ = ["PhasorSolver"]

_PIVOT_TOLERANCE = 1e-12
_DENSE_LIMIT = 150


class _DenseLU:
    """Dense LU with SuperLU's ``solve(b, trans)`` interface, for small networks."""

    def __init__(self, A: np.ndarray):
        with warnings.catch_warnings():
            # An exactly singular A is reported through its zero pivot instead.
            warnings.simplefilter("ignore", sla.LinAlgWarning)
            self._lu = sla.lu_factor(A, check_finite=False)
        self.pivots = np.abs(np.diagonal(self._lu[0]))

    def solve(self, b: np.ndarray, trans: str = "N") -> np.ndarray:
        code = {"N": 0, "T": 1, "H": 2}[trans]
        return sla.lu_solve(self._lu, b, trans=code, check_finite=False)


class PhasorSolver:
    """Factorizations of A(s_h) of a linear System at a set of complex frequencies.

    Parameters
    ----------
    system : System
        Compiled network; every element must be linear.
    s : array_like of complex
        Complex frequencies s_h = σ + iω_h in 1/s, (n_harmonics,).

    Raises
    ------
    InvalidNetworkError
        When the network has a nonlinear element.
    SingularSystemError
        When A(s_h) is singular (a lossless resonance at a drive frequency).

    Examples
    --------
    An LC tank (L = 10 mH, C = 100 µF) driven by 1 A at ω = 50 rad/s, below its
    resonance at 1000 rad/s, moves with flux X = 1 / (1/L − ω² C) = 0.010025 Wb:

    >>> import networkx as nx
    >>> from hwep.network import Network
    >>> G = nx.MultiGraph(ground=0, inputs=[1], outputs=[1])
    >>> _ = G.add_edge(1, 0, kind="inductor", value=0.01)
    >>> _ = G.add_edge(1, 0, kind="capacitor", value=1e-4)
    >>> solver = PhasorSolver(System(Network(G)), [50j])
    >>> round(float(solver.solve(np.ones((1, 1, 1)))[0, 0, 0].real), 6)
    0.010025
    """

    def __init__(self, system: System, s: np.ndarray):
        if not system.is_linear:
            bad = system.network.elements[int(np.flatnonzero(system.nonlinear)[0])]
            raise InvalidNetworkError(
                f"{bad.describe()} is nonlinear; the phasor backend handles linear "
                "networks only: use backend 'periodic'"
            )
        self.system = system
        self.s = np.atleast_1d(np.asarray(s, dtype=complex))
        self.matrices = [system.dynamic_matrix(s_h) for s_h in self.s]
        self._factors = [
            self._factorize(A, s_h)
            for A, s_h in zip(self.matrices, self.s, strict=True)
        ]
        self._compliance: list[tuple[np.ndarray, np.ndarray]] | None = None

    @property
    def n_harmonics(self) -> int:
        """Number of frequencies."""
        return len(self.s)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """X = A⁻¹ rhs per harmonic.

        Parameters
        ----------
        rhs : numpy.ndarray
            Node currents (forces), (n_samples, n_harmonics, n_nodes).

        Returns
        -------
        numpy.ndarray
            Node phasors, (n_samples, n_harmonics, n_nodes), Wb or m.
        """
        return self._apply(rhs, trans="N")

    def solve_adjoint(self, rhs: np.ndarray) -> np.ndarray:
        """λ = A⁻ᴴ rhs per harmonic, same shapes as ``solve``."""
        return np.conj(self._apply(np.conj(rhs), trans="T"))

    def solve_nudged(self, rhs: np.ndarray, C: np.ndarray) -> np.ndarray:
        """X = (A + Pᵀ diag(C) P)⁻¹ rhs per harmonic and sample (eq. 2).

        Parameters
        ----------
        rhs : numpy.ndarray
            (n_samples, n_harmonics, n_nodes).
        C : numpy.ndarray
            Output coupling β·W in A/Wb (N/m), broadcastable to
            (n_samples, n_harmonics, n_outputs).

        Returns
        -------
        numpy.ndarray
            (n_samples, n_harmonics, n_nodes).
        """
        x0 = self.solve(rhs)
        n_samples, n_h, _ = x0.shape
        n_out = self.system.P.shape[0]
        C = np.broadcast_to(np.asarray(C, dtype=complex), (n_samples, n_h, n_out))
        out = x0.copy()
        for h, (Z, G) in enumerate(self._output_compliance()):
            y0 = x0[:, h, :] @ self.system.P.T.toarray()
            for i in range(n_samples):
                small = np.eye(n_out) + C[i, h][:, None] * G
                y = np.linalg.solve(small, C[i, h] * y0[i])
                out[i, h] -= Z @ y
        return out

    def output_compliance(self) -> np.ndarray:
        """G_h = P A(s_h)⁻¹ Pᵀ, the outputs' driving-point and transfer compliances.

        Returns
        -------
        numpy.ndarray
            (n_harmonics, n_outputs, n_outputs), Wb/A (m/N).
        """
        return np.array([G for _, G in self._output_compliance()])

    # -- private ----------------------------------------------------------------

    def _apply(self, rhs: np.ndarray, trans: str) -> np.ndarray:
        """Solve with each harmonic's LU over all samples at once."""
        rhs = np.asarray(rhs, dtype=complex)
        out = np.empty_like(rhs)
        for h, lu in enumerate(self._factors):
            out[:, h, :] = lu.solve(np.ascontiguousarray(rhs[:, h, :].T), trans=trans).T
        return out

    def _output_compliance(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(Z, G) per harmonic: Z = A⁻¹ Pᵀ (n_nodes, n_out), G = P Z; cached."""
        if self._compliance is None:
            PT = self.system.P.T.toarray().astype(complex)
            pairs = []
            for lu in self._factors:
                Z = lu.solve(PT)
                pairs.append((Z, self.system.P @ Z))
            self._compliance = pairs
        return self._compliance

    def _factorize(self, A: sp.csc_matrix, s_h: complex):
        """LU of A(s_h), with a physical explanation when it is singular.

        A pivot that is tiny against the size of the stiffness, damping and inertia
        terms of its column (``System.scale_matrix``) means these cancel: a resonance.
        """
        scale_matrix = self.system.scale_matrix(s_h)
        scale = np.maximum.reduceat(scale_matrix.data, scale_matrix.indptr[:-1])
        if self.system.n_nodes <= _DENSE_LIMIT:
            lu = _DenseLU(A.toarray())
            pivots, column_scale = lu.pivots, scale
        else:
            try:
                lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A")
            except RuntimeError:
                raise self._singular_error(s_h) from None
            pivots, column_scale = np.abs(lu.U.diagonal()), scale[lu.perm_c]
        if np.any(pivots <= _PIVOT_TOLERANCE * np.maximum(column_scale, 1e-300)):
            raise self._singular_error(s_h)
        return lu

    def _singular_error(self, s_h: complex) -> SingularSystemError:
        """Explain a singular A(s) as a drive on a resonance of the lossless network."""
        frequency = abs(s_h.imag) / (2 * np.pi)
        where = f"drive at {frequency:.6g} Hz"
        if self.system.n_nodes <= 2000:
            omega, _ = self.system.modes()
            if omega.size:
                nearest = omega[np.argmin(np.abs(omega - abs(s_h.imag)))]
                return SingularSystemError(
                    f"{where} is on a resonance of the lossless network (mode at "
                    f"{nearest / (2 * np.pi):.6g} Hz): the response is unbounded; move "
                    "the drive frequency or add loss (resistors, dampers)"
                )
        return SingularSystemError(
            f"{where}: the network's equations are singular there (a resonance of the "
            "lossless network); move the drive frequency or add loss"
        )
