"""Optimizers with JSON state, so that a checkpointed run resumes bit for bit.

Coordinates are what the trainer optimizes: log-values of positive parameters, plain
values otherwise, then the cost's digital parameters. Every optimizer keeps its whole
state in a dict of lists and numbers (``state``), restored with ``load``.

- ``Adam`` and ``SGD`` (with momentum) take one step per mini-batch gradient, with a
  learning rate that decays geometrically to ``lr_decay`` times its start over the run.
- ``LBFGS`` takes one quasi-Newton step per epoch on the full training split, with a
  backtracking (Armijo) line search on the measured free-phase loss. It suits small
  deterministic fits (a frequency response) where Adam's fixed step size cannot settle
  to 1% accuracy in reasonable time.

All of them project onto the bounds after each step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["Adam", "SGD", "LBFGS", "make_optimizer"]


class _Base:
    """Shared learning-rate schedule and bound projection."""

    def __init__(
        self, n: int, *, rates: np.ndarray, low, high, total_steps: int, decay
    ):
        self.rates = np.asarray(rates, dtype=float)
        self.low, self.high = np.asarray(low, float), np.asarray(high, float)
        self.total_steps = max(int(total_steps), 1)
        self.decay = float(decay)
        self.n = n
        self.t = 0

    def project(self, x: np.ndarray) -> np.ndarray:
        """Clip to [low, high]."""
        return np.clip(x, self.low, self.high)

    def _rate(self) -> np.ndarray:
        """Learning rate at step t: geometric decay to ``decay`` times the start."""
        return self.rates * self.decay ** min(self.t / self.total_steps, 1.0)


class Adam(_Base):
    """Adam (β1 = 0.9, β2 = 0.999) on the coordinates.

    The ε that guards the division is 1e-8 times the RMS of the first gradient, not
    an absolute 1e-8: costs in SI units can be tiny (a flux error of 1e-10 Wb squared),
    and an absolute ε would then silently freeze training.
    """

    def __init__(self, n, **kwargs):
        super().__init__(n, **kwargs)
        self.m, self.v = np.zeros(n), np.zeros(n)
        self.epsilon = 0.0

    def step(self, x: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """New coordinates after one step along ``grad``."""
        if self.t == 0:
            scale = float(np.sqrt(np.mean(grad**2))) if grad.size else 0.0
            self.epsilon = 1e-8 * (scale if scale > 0 else 1.0)
        self.t += 1
        self.m = 0.9 * self.m + 0.1 * grad
        self.v = 0.999 * self.v + 0.001 * grad**2
        m_hat = self.m / (1 - 0.9**self.t)
        v_hat = self.v / (1 - 0.999**self.t)
        return self.project(x - self._rate() * m_hat / (np.sqrt(v_hat) + self.epsilon))

    def state(self) -> dict:
        return {
            "t": self.t,
            "m": self.m.tolist(),
            "v": self.v.tolist(),
            "epsilon": self.epsilon,
        }

    def load(self, state: dict) -> None:
        self.t = int(state["t"])
        self.m, self.v = np.asarray(state["m"], float), np.asarray(state["v"], float)
        self.epsilon = float(state.get("epsilon", 1e-8))


class SGD(_Base):
    """Gradient descent with heavy-ball momentum."""

    def __init__(self, n, *, momentum: float = 0.9, **kwargs):
        super().__init__(n, **kwargs)
        self.momentum = momentum
        self.m = np.zeros(n)

    def step(self, x: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """New coordinates after one step along ``grad``."""
        self.t += 1
        self.m = self.momentum * self.m + grad
        return self.project(x - self._rate() * self.m)

    def state(self) -> dict:
        return {"t": self.t, "m": self.m.tolist()}

    def load(self, state: dict) -> None:
        self.t = int(state["t"])
        self.m = np.asarray(state["m"], float)


class LBFGS(_Base):
    """Limited-memory BFGS with a backtracking line search, one step per call.

    Parameters
    ----------
    n : int
        Number of coordinates.
    memory : int
        Number of (s, y) pairs kept.
    max_step : float
        Largest change of any coordinate in one step (log-values: a factor e^max_step).
    """

    def __init__(self, n, *, memory: int = 10, max_step: float = 0.5, **kwargs):
        super().__init__(n, **kwargs)
        self.memory, self.max_step = int(memory), float(max_step)
        self.S: list[list[float]] = []
        self.Y: list[list[float]] = []

    def step(
        self,
        x: np.ndarray,
        loss: float,
        grad: np.ndarray,
        evaluate: Callable[[np.ndarray], float],
        gradient: Callable[[np.ndarray], tuple[float, np.ndarray]],
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """One iteration from (x, loss, grad).

        Parameters
        ----------
        evaluate : callable
            Loss at trial coordinates (one free phase).
        gradient : callable
            (loss, gradient) at the accepted coordinates.

        Returns
        -------
        (x, loss, grad) at the new point; the old point when no step decreases the loss.
        """
        self.t += 1
        direction = -self._two_loop(grad)
        if not direction @ grad < 0:
            self.S, self.Y = [], []
            direction = -grad
        largest = float(np.max(np.abs(direction))) if direction.size else 0.0
        alpha = min(1.0, self.max_step / largest) if largest > 0 else 0.0

        # Backtracking on the measured loss (Armijo condition, c1 = 1e-4).
        slope = float(direction @ grad)
        for _ in range(30):
            trial = self.project(x + alpha * direction)
            if evaluate(trial) <= loss + 1e-4 * alpha * slope:
                break
            alpha *= 0.5
        else:
            return x, loss, grad

        new_loss, new_grad = gradient(trial)
        s, y = trial - x, new_grad - grad
        if s @ y > 1e-12 * np.linalg.norm(s) * np.linalg.norm(y):
            self.S.append(s.tolist())
            self.Y.append(y.tolist())
            self.S, self.Y = self.S[-self.memory :], self.Y[-self.memory :]
        return trial, new_loss, new_grad

    def _two_loop(self, grad: np.ndarray) -> np.ndarray:
        """H·grad from the stored pairs (the standard two-loop recursion)."""
        q = np.array(grad, dtype=float)
        pairs = [
            (np.asarray(s), np.asarray(y)) for s, y in zip(self.S, self.Y, strict=True)
        ]
        alphas = []
        for s, y in reversed(pairs):
            a = (s @ q) / (y @ s)
            alphas.append(a)
            q -= a * y
        if pairs:
            s, y = pairs[-1]
            q *= (s @ y) / (y @ y)
        for (s, y), a in zip(pairs, reversed(alphas), strict=True):
            b = (y @ q) / (y @ s)
            q += (a - b) * s
        return q

    def state(self) -> dict:
        return {"t": self.t, "S": self.S, "Y": self.Y}

    def load(self, state: dict) -> None:
        self.t = int(state["t"])
        self.S, self.Y = state["S"], state["Y"]


def make_optimizer(name: str, n: int, **kwargs):
    """Build an optimizer by name ("adam", "sgd", "lbfgs")."""
    momentum = kwargs.pop("momentum", 0.9)
    if name == "adam":
        return Adam(n, **kwargs)
    if name == "sgd":
        return SGD(n, momentum=momentum, **kwargs)
    return LBFGS(n, **kwargs)
