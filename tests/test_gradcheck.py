"""gradcheck on the shipped examples: the acceptance numbers of the gradient methods."""

from pathlib import Path

from hwep.config import load_config
from hwep.gradcheck import format_gradcheck, gradcheck

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_iris_gradcheck_meets_its_tolerances():
    report = gradcheck(load_config(EXAMPLES / "iris_lc_lattice.toml"))
    for method in ("ep symmetric frozen", "ep symmetric closed", "configured"):
        result = report["methods"][method]
        assert result["cosine"] >= 0.999999
        assert result["relative_error"] <= 1e-4
        assert set(result["by_kind"]) == {"inductor", "capacitor"}
    assert report["methods"]["reciprocal"]["relative_error"] < 1e-12
    assert report["adjoint_vs_fd"]["relative_error"] <= 1e-6
    assert "loss" not in report
    text = format_gradcheck(report)
    assert "ep symmetric frozen" in text and "adjoint vs finite diff." in text


def test_loss_is_reported_with_its_bound():
    report = gradcheck(load_config(EXAMPLES / "ladder_reactance.toml"))
    loss = report["loss"]
    assert loss["ep_bias"] > 0 and loss["ep_bias"] <= loss["bound"]
    assert 0 < loss["ratio"] <= 1
    assert report["methods"]["configured"]["relative_error"] < 1e-10  # reciprocal
    assert (
        report["methods"]["ep symmetric frozen"]["cosine"] < 0.9
    )  # plain EP is biased
    assert "loss: plain EP bias" in format_gradcheck(report)
