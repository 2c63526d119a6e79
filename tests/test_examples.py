"""The worked examples run end to end (tiny settings)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_twin_experiment_example_runs(tmp_path):
    twin = _load("twin_experiment")
    result = twin.main(["--n-lat", "6", "--n-lon", "12", "--years", "2", "--epochs", "2",
                        "--hidden", "8", "--truth-hidden", "8", "--quiet",
                        "--start-from-truth", "--init", "beta_base=0.005",
                        "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["epochs_run"] == result["epochs_run"] == 2
    assert len(saved["constants_by_epoch"]) == 2
    assert (tmp_path / "model.eqx").exists() and (tmp_path / "history.nc").exists()
    # started from truth's networks: held-out fit is already near perfect
    assert result["nse_test"]["gpp (monthly)"]["pooled"] > 0.95
    assert result["initial_constants"]["beta_base"] == pytest.approx(0.005, rel=1e-5)


@pytest.mark.slow
def test_twin_experiment_with_folds_runs(tmp_path):
    twin = _load("twin_experiment")
    result = twin.main(["--n-lat", "4", "--n-lon", "8", "--years", "1", "--epochs", "1",
                        "--hidden", "8", "--truth-hidden", "8", "--quiet", "--folds", "3",
                        "--batch-size", "8", "--out", str(tmp_path)])
    assert len(result["best_epoch"]) == 3 and (tmp_path / "ensemble.eqx").exists()
    assert len(result["constants"]["q10"]["members"]) == 3
    assert "gpp (monthly)" in result["nse_out_of_fold"]


@pytest.mark.slow
def test_analysis_example_runs(tmp_path):
    result = _load("analysis").main(["--n-lat", "6", "--n-lon", "12", "--years", "2",
                                     "--hidden", "8", "--out", str(tmp_path)])
    assert (tmp_path / "report.html").stat().st_size > 100_000
    assert result["lue"] == "refused"  # the demo forcing has no shortwave radiation
    assert result["pue_median"] > 0 and result["pulse_events"] > 0
    assert set(result["kge_global"]) == {"gpp", "et", "nee"}


@pytest.mark.slow
def test_site_mode_example_runs_cut_down(tmp_path):
    site = _load("site_mode")
    if not site.DATA.is_dir():
        pytest.skip(f"no real data at {site.DATA}")
    scores = site.main(["--sites", "US-Hn1", "--epochs", "2", "--hidden", "4",
                        "--weights", "0", "1", "--seeds", "0", "1", "--out", str(tmp_path)])
    for name in ("scores.csv", "US-Hn1/scores.csv", "US-Hn1/scores_per_seed.csv",
                 "US-Hn1/predictions.nc", "tradeoff_US-Hn1.csv", "tradeoff_US-Hn1.html",
                 "timeseries_US-Hn1.html"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert set(scores.seeds[scores.model.isin(["hybrid", "plain LSTM"])]) == {2}
    assert set(scores.model) == {
        "hybrid", "process model", "climatology", "linear regression", "plain LSTM",
        "linear regression (hybrid inputs)", "plain LSTM (hybrid inputs)"}
    assert set(scores.variable) == {"et", "nee"} and (scores.n > 0).all()
    for col in ("site", "variable", "model", "days", "nse", "kge", "r", "rmse", "bias",
                "nse_sd", "kge_sd", "r_sd", "rmse_sd", "bias_sd", "n", "seeds"):
        assert col in scores.columns, col


@pytest.mark.slow
def test_global_monthly_zarr_example_runs_cut_down(tmp_path):
    pytest.importorskip("distributed")
    result = _load("global_monthly_zarr").main(
        ["--cells", "300", "--years", "2", "--grid", "30", "60", "--tile", "64",
         "--hidden", "8", "--out", str(tmp_path)])
    assert result["land_cells"] == 300 and result["months"] == 24
    assert result["finite_et_share"] == pytest.approx(300 / 1800)
    assert len(result["worker_peak_rss_mib"]) == 2
    # one tile size: each worker compiled the run and the spin-up pass at most once
    assert all(c["forward"] <= 1 and c["advance"] <= 1 for c in result["worker_compiles"])
    assert (tmp_path / "monthly.zarr").is_dir()
