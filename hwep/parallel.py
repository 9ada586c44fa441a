"""Map work over processes on this machine, or over a Dask cluster.

Sweeps (seeds, hyperparameters, device tolerances) and per-sample simulator runs are
independent jobs. ``parallel_map`` runs them in order of submission and returns their
results in the same order, with a progress bar when asked:

- ``executor="process"``: a local process pool (``concurrent.futures``), ``workers``
  processes started with the "spawn" method, so that each has its own simulator
  instance and no state is inherited by fork;
- ``executor="dask"``: a ``dask.distributed`` client at ``address`` (or a local
  cluster when none is given). Dask is optional: ``pip install hwep[dask]``.
- ``executor="serial"`` or ``workers=1``: in this process, for debugging.

Functions and arguments must be picklable (module-level functions, plain data).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

from .errors import ConfigError

__all__ = ["parallel_map", "default_workers"]

logger = logging.getLogger(__name__)


def default_workers() -> int:
    """CPU cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def parallel_map(
    function: Callable,
    items: Iterable,
    *,
    workers: int | None = None,
    executor: str = "process",
    address: str | None = None,
    progress: bool = False,
    description: str = "jobs",
    on_result: Callable[[int, object], None] | None = None,
) -> list:
    """``[function(item) for item in items]``, computed in parallel.

    Parameters
    ----------
    function : callable
        A picklable function of one argument.
    items : iterable
        Its arguments.
    workers : int, optional
        Number of processes; default all cores.
    executor : {"process", "dask", "serial"}
        Where the jobs run (module docstring).
    address : str, optional
        Dask scheduler address, for ``executor="dask"``.
    progress : bool
        Show a progress bar.
    description : str
        Label of the progress bar.
    on_result : callable, optional
        Called as ``on_result(index, result)`` as each result arrives, in order.

    Returns
    -------
    list
        Results in the order of ``items``.

    Raises
    ------
    ConfigError
        For an unknown executor, or Dask missing when asked for.
    """
    items = list(items)
    workers = workers or default_workers()
    bar = _Progress(len(items), progress, description, on_result)
    if executor == "serial" or workers == 1 or len(items) <= 1:
        results = []
        for item in items:
            results.append(function(item))
            bar.tick(results[-1])
        bar.close()
        return results
    if executor == "process":
        return _process_map(function, items, workers, bar)
    if executor == "dask":
        return _dask_map(function, items, address, bar)
    raise ConfigError(
        f"executor {executor!r} is unknown; use 'process', 'dask' or 'serial'"
    )


def _process_map(function: Callable, items: Sequence, workers: int, bar) -> list:
    """Local process pool, spawn start method, results in submission order."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(items)), mp_context=context
    ) as pool:
        futures = [pool.submit(function, item) for item in items]
        results = []
        for future in futures:
            results.append(future.result())
            bar.tick(results[-1])
    bar.close()
    return results


def _dask_map(function: Callable, items: Sequence, address: str | None, bar) -> list:
    """Dask distributed client; a local cluster when no address is given."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ConfigError(
            "executor 'dask' needs dask.distributed: pip install 'hwep[dask]'"
        ) from None
    with Client(address) if address else Client(processes=True) as client:
        futures = client.map(function, items, pure=False)
        results = []
        for future in futures:
            results.append(future.result())
            bar.tick(results[-1])
    bar.close()
    return results


class _Progress:
    """A tqdm bar (when enabled) and the per-result callback."""

    def __init__(self, total: int, enabled: bool, description: str, on_result):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=description, leave=False)
        self.on_result = on_result
        self.count = 0

    def tick(self, result) -> None:
        if self.on_result is not None:
            self.on_result(self.count, result)
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
