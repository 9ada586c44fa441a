"""Netlists of graphs and example configs, written for ``ngspice -b``.

``hwep export GRAPH_OR_CONFIG -o FILE.cir`` writes the netlist of one sample: for a
config, the network at its initial values and the first training sample's drive; for
a graph file, a 1 A (N) cosine into every input at ``--frequency`` (default the lowest
resonance). ``.ac`` netlists print the output voltages (``.print ac``), ``.tran``
netlists their Fourier coefficients (``.four``), so that ``ngspice -b FILE.cir`` shows
the result.

``hwep export --examples netlists/`` regenerates the netlists of every shipped example
(``examples/*.toml``): ``<name>.ac.cir`` for a linear network, ``<name>.tran.cir``
when the drive's harmonics share a period, and ``README.md`` listing what was written
and why the rest was skipped. A lossless network gets uniform loss of quality factor
``EXAMPLE_QUALITY`` in ``.tran``, stated in its header. The test suite regenerates
them and fails when a checked-in file differs.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ConfigError, HwepError
from ..network import Network
from ..units import parse_value
from .netlist import prepare_netlist
from .tran import DEFAULT_POINTS_PER_PERIOD, DEFAULT_SETTLE_TOLERANCE, decay_rate

__all__ = [
    "compile_netlist",
    "export_netlist",
    "export_examples",
    "read_params",
    "EXAMPLE_QUALITY",
]

EXAMPLE_QUALITY = 1000.0
_EXPORT_OPTIONS = {
    "analysis",
    "quality",
    "periods",
    "points_per_period",
    "settle_tolerance",
    "fixed_step",
    "convergence_aid",
    "operating_point",
}


def compile_netlist(
    network: Network,
    drive,
    *,
    sample: int = 0,
    harmonic: int = 0,
    injection: np.ndarray | None = None,
    analysis: str = "ac",
    quality: float | None = None,
    periods: int | str = "auto",
    points_per_period: int = DEFAULT_POINTS_PER_PERIOD,
    settle_tolerance: float = DEFAULT_SETTLE_TOLERANCE,
    fixed_step: bool = True,
    convergence_aid: bool = False,
    operating_point: bool = False,
    standalone: bool = True,
    source: str | None = None,
    notes: list[str] | None = None,
) -> str:
    """The netlist of one sample of a drive.

    Parameters
    ----------
    network : Network
    drive : hwep.backends.Drive
        Harmonic drive.
    sample : int
        Which sample of the drive.
    harmonic : int
        Which harmonic (``.ac`` runs one frequency).
    injection : numpy.ndarray, optional
        Nudge currents into the outputs in A (N), (n_samples, n_harmonics, n_outputs).
    analysis, quality, periods, points_per_period, settle_tolerance, fixed_step,
    convergence_aid, operating_point
        As for ``hwep.spice.backend.NgspiceBackend``.
    standalone : bool
        Add ``.print`` / ``.four`` cards, for ``ngspice -b``.
    source : str, optional
        Origin, for the header.
    notes : list of str, optional
        Extra header comments; default the sample number.

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        For a sample or harmonic out of range, and bad options.
    InvalidNetworkError
        When the analysis cannot represent the network (``hwep.spice.netlist``).
    """
    if not 0 <= sample < drive.n_samples:
        raise ConfigError(f"sample {sample} is out of range (0..{drive.n_samples - 1})")
    if not 0 <= harmonic < drive.n_harmonics:
        raise ConfigError(
            f"harmonic {harmonic} is out of range (0..{drive.n_harmonics - 1})"
        )
    netlist, settings = prepare_netlist(
        network,
        drive,
        analysis=analysis,
        quality=quality,
        periods=periods,
        points_per_period=points_per_period,
        settle_tolerance=settle_tolerance,
        fixed_step=fixed_step,
        convergence_aid=convergence_aid,
        operating_point=operating_point,
        source=source,
    )
    notes = list(notes) if notes else [f"drive: sample {sample} of {drive.n_samples}"]
    if quality is not None:
        notes.append(f"added loss: quality factor {quality:g} at the lowest drive tone")
    nudge = None if injection is None else np.asarray(injection)[sample]
    if analysis == "ac":
        notes.append(
            f"harmonic {harmonic + 1} of {drive.n_harmonics}: "
            f"{drive.omega[harmonic] / (2 * np.pi):.12g} Hz"
        )
        return netlist.ac(
            drive.amplitude[sample, harmonic],
            float(drive.omega[harmonic]),
            injection=None if nudge is None else nudge[harmonic],
            standalone=standalone,
            notes=notes,
        )
    return netlist.tran(
        drive.amplitude[sample],
        settings,
        injection=nudge,
        standalone=standalone,
        notes=notes,
    )


def export_netlist(
    source: str | os.PathLike | Network,
    path: str | os.PathLike | None = None,
    *,
    sample: int | None = None,
    frequency: float | None = None,
    label: str | None = None,
    **options,
) -> str:
    """Write (and return) the netlist of a graph file, a TOML config or a Network.

    Parameters
    ----------
    source : path-like or Network
        GraphML, GML or node-link JSON graph; a TOML config; a run directory (its
        trained values); or a network.
    path : path-like, optional
        Where to write the netlist; nothing is written when None.
    sample : int, optional
        Config only: the task's sample; default its first training sample.
    frequency : float, optional
        Graph or network only: drive frequency in Hz; default the lowest resonance.
    label : str, optional
        How the header names the source; default the path as given.
    **options
        ``analysis``, ``harmonic`` and the options of ``compile_netlist``; a config's
        ``[backend]`` table supplies them when it names the ngspice backend.

    Returns
    -------
    str
    """
    harmonic = options.pop("harmonic", 0)
    unknown = sorted(set(options) - _EXPORT_OPTIONS)
    if unknown:
        raise ConfigError(f"export: unknown option(s) {unknown}")
    if not isinstance(source, Network) and Path(source).is_dir():
        network, drive, index, table = _config_sample(source, sample, run=True)
        options = {**table, **options}
        notes = [f"trained values of the run; drive: sample {index} of the task"]
        drive = drive.subset([index])
        text_source = label or str(source)
    elif isinstance(source, Network) or Path(source).suffix.lower() != ".toml":
        network = source if isinstance(source, Network) else Network.from_file(source)
        drive = _tone(network, frequency)
        notes = [f"drive: 1 A (N) cosine at {drive.omega[0] / (2 * np.pi):.12g} Hz"]
        text_source = label or (None if isinstance(source, Network) else str(source))
    else:
        network, drive, index, table = _config_sample(source, sample)
        options = {**table, **options}
        notes = [f"drive: sample {index} of the task"]
        drive = drive.subset([index])
        text_source = label or str(source)
    text = compile_netlist(
        network,
        drive,
        harmonic=harmonic,
        source=text_source,
        notes=notes,
        **options,
    )
    if path is not None:
        Path(path).write_text(text)
    return text


def export_examples(
    examples: str | os.PathLike, out: str | os.PathLike
) -> list[tuple[str, str]]:
    """Regenerate the netlists of every ``*.toml`` example into ``out``.

    Parameters
    ----------
    examples : path-like
        Folder of the example configs.
    out : path-like
        Folder for the netlists and ``README.md``; created if missing. Netlists it
        does not write any more are removed.

    Returns
    -------
    list of (str, str)
        (file name, what happened) for every netlist written or skipped.
    """
    examples, out = Path(examples), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report: list[tuple[str, str]] = []
    written: set[str] = set()
    for config in sorted(examples.glob("*.toml")):
        label = f"{examples.name}/{config.name}"
        for analysis in ("ac", "tran"):
            name = f"{config.stem}.{analysis}.cir"
            try:
                text = _example_netlist(config, label, analysis)
            except HwepError as error:
                report.append((name, f"skipped: {' '.join(str(error).split())}"))
                continue
            (out / name).write_text(text)
            written.add(name)
            report.append((name, "written"))

    # Remove stale netlists, then describe the folder.
    for stale in out.glob("*.cir"):
        if stale.name not in written:
            stale.unlink()
    (out / "README.md").write_text(_readme(report))
    return report


def read_params(text: str) -> dict[str, float]:
    """The ``.param`` values of a netlist by lower-case name, via ``parse_value``.

    Parameters
    ----------
    text : str
        Netlist text.

    Returns
    -------
    dict of str to float
        SI values; a suffix such as ``1u`` is read as SPICE reads it.
    """
    values = {}
    for line in text.splitlines():
        if not line.lower().startswith(".param"):
            continue
        for name, value in re.findall(r"(\w+)\s*=\s*(\S+)", line[len(".param") :]):
            values[name.lower()] = parse_value(value, what=f".param {name}")
    return values


# -- helpers ------------------------------------------------------------------------


def _tone(network: Network, frequency: float | None):
    """A 1 A (N) cosine into every input at ``frequency`` Hz (default: lowest mode)."""
    from ..backends import Drive
    from .netlist import _lowest_mode

    if frequency is None:
        frequency = _lowest_mode(network) / (2 * np.pi)
    if not frequency > 0:
        raise ConfigError(f"export: frequency must be positive, got {frequency!r}")
    amplitudes = np.ones((1, len(network.inputs)), dtype=complex)
    return Drive.tone(float(frequency), amplitudes)


def _config_sample(path, sample: int | None, *, run: bool = False):
    """(network, drive, sample index, ngspice [backend] options) of a config.

    With ``run``, ``path`` is a run directory: its configuration, and the values of
    its last checkpoint.
    """
    from ..backends import Drive
    from ..config import load_config, section
    from ..train import Trainer

    if run:
        trainer = Trainer.from_run_dir(path)
        trainer.restore()
        config = trainer.config
    else:
        config = load_config(path)
        with tempfile.TemporaryDirectory() as scratch:
            trainer = Trainer(config, out_dir=scratch, backend="phasor")
    task = trainer.task
    if not isinstance(task.drive, Drive):
        raise ConfigError(
            f"{Path(path).name}: the task's drive is a {type(task.drive).__name__} "
            "(sampled waveforms); ngspice netlists are exported for harmonic drives"
        )
    index = int(task.train[0]) if sample is None else int(sample)
    if not 0 <= index < task.drive.n_samples:
        raise ConfigError(
            f"sample {index} is out of range (0..{task.drive.n_samples - 1})"
        )
    table = section(config, "backend")
    options = {}
    if table.pop("name", None) == "ngspice":
        options = {k: v for k, v in table.items() if k in _EXPORT_OPTIONS}
    network = trainer.network.with_values(trainer.values()) if run else trainer.network
    return network, task.drive, index, options


def _example_netlist(config: Path, label: str, analysis: str) -> str:
    """The netlist of one example; lossless networks get loss in ``.tran``."""
    network, drive, index, _ = _config_sample(config, None)
    options: dict = {"analysis": analysis}
    if analysis == "tran" and drive.sigma == 0:
        rate, _ = decay_rate(network, 0.0)
        if rate == 0:
            options["quality"] = EXAMPLE_QUALITY
    return compile_netlist(
        network,
        drive.subset([index]),
        source=label,
        notes=[f"drive: sample {index} of the task (its first training sample)"],
        **options,
    )


def _readme(report: list[tuple[str, str]]) -> str:
    """README.md of the netlists folder."""
    lines = [
        "# Example netlists",
        "",
        "Generated from `examples/*.toml` by `hwep export --examples netlists/`;",
        "do not edit by hand. Each runs unchanged in `ngspice -b <file>`: `.ac`",
        "netlists print the output voltages, `.tran` netlists their Fourier",
        "coefficients over the last period. The header of each file maps graph nodes",
        "to nets and states the analogy, the drive sample and any loss added.",
        "",
        "| netlist | status |",
        "|---|---|",
    ]
    lines += [f"| {name} | {status.replace('|', '/')} |" for name, status in report]
    return "\n".join(lines) + "\n"
