"""Exceptions and warnings raised by hwep.

Every error says what was received, which rule it breaks and, where one is known, the
fix. Errors about the user's input subclass ``ValueError``; failures of a solver or a
simulator subclass ``RuntimeError``. The command line catches ``HwepError`` and prints
its one-line message without a traceback.
"""

from __future__ import annotations

__all__ = [
    "HwepError",
    "HwepWarning",
    "InvalidNetworkError",
    "ConfigError",
    "DataError",
    "SingularSystemError",
    "ConvergenceError",
    "SimulatorError",
    "SimulatorMissingError",
]


class HwepError(Exception):
    """Base class of every error hwep raises on purpose."""


class HwepWarning(UserWarning):
    """A result is usable but the user should know something about it."""


class InvalidNetworkError(HwepError, ValueError):
    """A graph, element, node or port breaks a rule of the network model."""


class ConfigError(HwepError, ValueError):
    """A configuration file or option is missing, mistyped or out of range."""


class DataError(HwepError, ValueError):
    """A data set is empty, malformed or does not fit the network's ports."""


class SingularSystemError(HwepError, RuntimeError):
    """The network's equations have no unique solution at a drive frequency.

    The message explains the cause physically: a drive on a resonance of the lossless
    network, or part of the network with no path to ground.
    """


class ConvergenceError(HwepError, RuntimeError):
    """An iterative solve stopped before reaching its tolerance.

    Parameters
    ----------
    message : str
        What did not converge and what to try.
    residual : float
        Residual norm when the solver stopped.
    iterations : int
        Iterations taken.
    """

    def __init__(
        self, message: str, *, residual: float = float("nan"), iterations: int = 0
    ):
        super().__init__(message)
        self.residual = residual
        self.iterations = iterations


class SimulatorError(HwepError, RuntimeError):
    """The circuit simulator failed; the message carries the simulator's own text.

    Parameters
    ----------
    message : str
        Summary, including ngspice's own error lines.
    netlist_path : str or None
        Where the failing netlist was written, for the user to rerun by hand.
    """

    def __init__(self, message: str, *, netlist_path: str | None = None):
        if netlist_path:
            message = f"{message} (netlist: {netlist_path})"
        super().__init__(message)
        self.netlist_path = netlist_path


class SimulatorMissingError(HwepError, RuntimeError):
    """The circuit simulator or its shared library is not installed."""
