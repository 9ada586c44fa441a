"""Classification: features drive the inputs, the largest output names the class.

Each sample's features, standardized on the training split, become the complex
amplitudes of one tone at the input ports: a signed feature x drives A·x, that is a
current of amplitude A|x| at phase 0 or π. One more input carries a constant bias drive
A. Each class has one output port; a lock-in reads the output's in-phase amplitude and
an off-chip readout amplifier (a digital gain, ``hwep.costs.CrossEntropyCost``) scales
it into a logit. The prediction is the largest output.

Config keys of ``[task]`` (kind = "classification"):

    data           "iris" (the bundled Iris data) or a CSV path; the last column (or
                   ``label_column``) holds the class names, the others numbers
    label_column   name of the class column
    frequency      drive frequency, Hz
    amplitude      A, the drive per unit standardized feature, A (N); default 1m
    bias           constant bias drive in units of A; default 1 (0 drops the input)
    observable     "flux" or "voltage" (mechanical: "displacement", "velocity")
    gain           initial readout gain; default 1
    test_fraction  held-out fraction, stratified by class; default 0.3
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..backends import Drive, PhasorBackend
from ..config import Setting
from ..costs import CrossEntropyCost
from ..errors import ConfigError, DataError, HwepError
from ..network import Network
from ..units import parse_value
from . import Task, register_task, split_indices

__all__ = ["load_csv", "classification_task"]

_KEYS = {
    "data",
    "label_column",
    "frequency",
    "amplitude",
    "bias",
    "observable",
    "gain",
    "test_fraction",
    "_dir",
}


def load_csv(path: str | Path, *, label_column: str | None = None):
    """Read a CSV of numeric features and one class column.

    Parameters
    ----------
    path : str or Path
        File with a header row.
    label_column : str, optional
        Name of the class column; default the last column.

    Returns
    -------
    features : numpy.ndarray
        (n_samples, n_features), float.
    labels : numpy.ndarray of int
        Class index of each sample, (n_samples,).
    classes : list of str
        Class names in order of first appearance.
    feature_names : list of str

    Raises
    ------
    DataError
        When the file is missing or empty, a row is short, or a feature cell is not a
        number; the message names the line and the column.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"data file {str(path)!r} is a directory")
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} does not exist")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as exc:
        raise DataError(
            f"data file {str(path)!r} is not UTF-8 text (byte {exc.start}); save it as "
            "a UTF-8 CSV"
        ) from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"data file {str(path)!r} is empty")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if len(header) == 1 and ";" in header[0]:
        raise DataError(
            f"data file {path.name!r} looks semicolon-separated; hwep reads "
            "comma-separated values"
        )
    if len(header) < 2:
        raise DataError(
            f"data file {path.name!r} needs at least one feature column and a class "
            f"column; its header has {len(header)} column"
        )
    if not body:
        raise DataError(f"data file {str(path)!r} has a header but no samples")
    label_at = (
        len(header) - 1 if label_column is None else _column(header, label_column, path)
    )

    # Parse every cell, naming the first bad one.
    features, names = [], []
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(
                f"{path.name} line {line}: {len(row)} cells, header has {len(header)}"
            )
        values = []
        for col, cell in enumerate(row):
            if col == label_at:
                continue
            try:
                value = float(cell)
            except ValueError:
                raise DataError(
                    f"{path.name} line {line}, column {header[col]!r}: {cell!r} is not "
                    "a number"
                ) from None
            if not np.isfinite(value):
                raise DataError(
                    f"{path.name} line {line}, column {header[col]!r}: {cell!r} is "
                    "not finite"
                )
            values.append(value)
        features.append(values)
        names.append(row[label_at].strip())
    classes = list(dict.fromkeys(names))
    labels = np.array([classes.index(n) for n in names], dtype=int)
    feature_names = [h for i, h in enumerate(header) if i != label_at]
    return np.array(features, dtype=float), labels, classes, feature_names


@register_task("classification")
def classification_task(
    table: dict, network: Network, rng: np.random.Generator
) -> Task:
    """Build a classification task from a ``[task]`` table (see the module docstring).

    Raises
    ------
    ConfigError
        For an unknown key or a missing frequency.
    DataError
        When the data do not fit the network's ports.
    """
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"config [task]: unknown key(s) {unknown} for classification; "
            f"valid: {sorted(_KEYS - {'_dir'})}"
        )
    if "frequency" not in table:
        raise ConfigError("config [task]: classification needs 'frequency' (Hz)")
    frequency = parse_value(table["frequency"], what="config [task] frequency")
    amplitude = parse_value(
        table.get("amplitude", "1m"), what="config [task] amplitude"
    )
    bias = parse_value(table.get("bias", 1.0), what="config [task] bias")
    where = "config [task]"
    test_fraction = Setting("float", 0.3, low=0, high=0.95).read(
        table.get("test_fraction", 0.3), f"{where} test_fraction"
    )
    gain = Setting("float", 1.0).read(table.get("gain", 1.0), f"{where} gain")
    if not frequency > 0:
        raise ConfigError(f"{where} frequency = {frequency:g} Hz: must be positive")
    if not amplitude > 0:
        raise ConfigError(f"{where} amplitude = {amplitude:g}: must be positive")

    # Data, split, and standardization on the training split only.
    path = _data_path(table.get("data", "iris"), table["_dir"])
    features, labels, classes, names = load_csv(
        path, label_column=table.get("label_column")
    )
    train, test = split_indices(len(labels), test_fraction, rng, labels)
    if len(train) == 0:
        raise DataError(
            f"data {path.name!r}: test_fraction {test_fraction:g} leaves no training "
            f"samples out of {len(labels)}"
        )
    mean, std = features[train].mean(axis=0), features[train].std(axis=0)
    standardized = (features - mean) / np.where(std > 0, std, 1.0)

    # Ports must match: one input per feature (+ bias), one output per class.
    n_inputs = standardized.shape[1] + (1 if bias != 0 else 0)
    if len(network.inputs) != n_inputs:
        raise DataError(
            f"data {path.name!r} has {standardized.shape[1]} features"
            f"{' + bias' if bias else ''} = {n_inputs} inputs, but network "
            f"{network.name!r} has {len(network.inputs)} input ports"
        )
    if len(network.outputs) != len(classes):
        raise DataError(
            f"data {path.name!r} has {len(classes)} classes, but network "
            f"{network.name!r} has {len(network.outputs)} output ports"
        )
    columns = [standardized] + ([np.full((len(labels), 1), bias)] if bias else [])
    drive = Drive.tone(frequency, amplitude * np.hstack(columns))

    # Readout reference: the RMS in-phase output of the untrained network.
    cost = CrossEntropyCost(
        labels,
        gain=gain,
        reference=_reference_amplitude(network, drive, table.get("observable", "flux")),
        observable=table.get("observable", "flux"),
    )
    return Task(
        name="classification",
        network=network,
        drive=drive,
        cost=cost,
        train=train,
        test=test,
        classes=classes,
        info={
            "data": str(path),
            "features": names,
            "frequency_hz": frequency,
            "standardization": {"mean": mean.tolist(), "std": std.tolist()},
        },
    )


def _data_path(data: str, base: str) -> Path:
    """The bundled Iris file for ``"iris"``, else a path relative to the config."""
    if data == "iris":
        return Path(__file__).resolve().parent.parent / "data" / "iris.csv"
    path = Path(data)
    return path if path.is_absolute() else Path(base) / path


def _column(header: list[str], name: str, path: Path) -> int:
    """Index of a named column."""
    if name not in header:
        raise DataError(
            f"data file {path.name!r} has no column {name!r}; columns: {header}"
        )
    return header.index(name)


def _reference_amplitude(network: Network, drive: Drive, observable: str) -> float:
    """RMS in-phase output of the initial network; 1 when it cannot be solved here."""
    if not network.is_linear:
        return 1.0
    try:
        probe = CrossEntropyCost(np.zeros(drive.n_samples, int), observable=observable)
        outputs = PhasorBackend(network).run(drive).outputs
        amplitude = np.real(probe.observe(outputs, drive)[:, 0, :])
    except HwepError:
        return 1.0
    rms = float(np.sqrt(np.mean(amplitude**2)))
    return rms if rms > 0 else 1.0
