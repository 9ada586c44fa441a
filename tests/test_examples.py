"""Every shipped example config loads, trains one epoch and checks its gradient."""

from pathlib import Path

import numpy as np
import pytest

from hwep.config import load_config
from hwep.train import Trainer

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_trains_one_epoch(tmp_path, path):
    config = load_config(path)
    assert config.get("name"), f"{path.name} has no name"
    assert path.read_text().lstrip().startswith("#"), (
        f"{path.name} has no title comment"
    )
    trainer = Trainer(config, out_dir=tmp_path, epochs=1)
    summary = trainer.run()
    final = summary["final"]
    assert np.isfinite(final["train_loss"])
    if "probe_cosine" in final:
        assert final["probe_cosine"] > 0.99
    assert (tmp_path / "checkpoint.json").is_file()
