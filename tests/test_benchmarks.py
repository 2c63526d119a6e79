"""Every benchmark script runs, at a tiny size, and prints what its docstring promises.

No timing is asserted (speed is judged from the figures the scripts print at full size, on
a quiet machine); this only keeps the scripts working as the package changes (a script
calling an internal with an old signature once went unnoticed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"

CASES = {
    "forward.py": (["--cells", "2", "--days", "5", "--repeats", "1", "--bf16"],
                   ["peak", "direct", "simulate(2)", "bf16"]),
    "train.py": (["--cells", "2", "--years", "1", "--hidden", "8", "--batch-size", "2"],
                 ["train step", "cell-days/s", "of peak"]),
    "ceiling.py": (["--cells", "1", "2", "--days", "5", "--hidden", "8", "--repeats", "1",
                    "--reference-forward", "100", "100"],
                   ["large-matmul peak", "LSTM chain", "times the reference"]),
    "ensemble.py": (["--folds", "3", "--cells", "9", "--hidden", "8", "--batch-size", "3",
                     "--epochs", "1"],
                    ["one fit", "3 folds as one batch", "compiles of the batched step: 1"]),
    "dask_scaling.py": (["--lat", "4", "--lon", "8", "--years", "1", "--blocks", "2",
                         "--hidden", "8", "--tile", "16"],
                        ["direct", "dask threads", "LocalCluster 2 worker(s): compiles per "
                         "worker [1, 1]"]),
    "site_sweep.py": (["--weights", "0.5", "--seeds", "0", "1", "--epochs", "2",
                       "--patience", "1"], ["one by one", "one batch", "speed-up"]),
}
#: Scripts that read the real files of ../shared/data.
NEEDS_SHARED = {"site_sweep.py": BENCH.parents[1] / "shared" / "data" / "fluxtower" / "US-Hn1"}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(CASES))
def test_benchmark_runs_and_prints_its_figures(script):
    args, expected = CASES[script]
    if script in NEEDS_SHARED and not NEEDS_SHARED[script].is_dir():
        pytest.skip(f"{script} reads {NEEDS_SHARED[script]}, which is not here")
    done = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for text in expected:
        assert text in done.stdout, (text, done.stdout[-3000:])


def test_every_benchmark_is_exercised():
    helpers = {"machine.py", "cases.py"}  # imported by the scripts, not run
    assert sorted(p.name for p in BENCH.glob("*.py") if p.name not in helpers) == sorted(CASES)
