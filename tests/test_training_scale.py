"""Training at scale (issue 12): forcing read batch by batch from a zarr store, and the
multi-device path (cells sharded over devices with jax.sharding)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr

import xh2cm

FIT = dict(epochs=2, batch_size=4, validation=None, progress=False,
           model_kwargs={"hidden_size": 8}, variables=["gpp", "et"])


@pytest.fixture(scope="module")
def twin():
    ds = xh2cm.datasets.synthetic_forcing(n_lat=4, n_lon=6, years=1)
    truth = xh2cm.datasets.truth_model(ds, hidden_size=8)
    return ds, ds.h2cm.run(truth)[["gpp", "et"]]


def test_fit_from_zarr_reads_batches_and_equals_the_in_memory_fit(twin, tmp_path, held):
    """Forcing opened lazily from zarr: training never holds more than a few chunks at
    once (each batch reads its cells' chunks when used) and gives the in-memory result."""
    ds, obs = twin
    ds.chunk(time=-1, lat=1, lon=3).to_zarr(tmp_path / "f.zarr", consolidated=False)
    lazy = xr.open_zarr(tmp_path / "f.zarr", consolidated=False)
    m_mem, h_mem = lazy.h2cm.fit(obs, in_memory=True, **FIT)  # the same data, read first
    with held() as h:
        m_lazy, h_lazy = lazy.h2cm.fit(obs, **FIT)
    forcing_bytes = 4 * ds.sizes["time"] * ds.sizes["lat"] * ds.sizes["lon"] * 4
    assert h.peak < forcing_bytes / 2, (h.peak, forcing_bytes)
    n_land = int(ds.land_mask.sum())
    assert h.computes >= 2 * -(-n_land // 4)  # at least one read per batch and epoch
    np.testing.assert_allclose(h_lazy["total"].values, h_mem["total"].values, rtol=1e-5)
    a, b = xh2cm.core.global_constants(m_lazy), xh2cm.core.global_constants(m_mem)
    assert a == pytest.approx(b, rel=1e-5)
    with pytest.raises(ValueError, match="in_memory=False needs dask"):
        ds.h2cm.fit(obs, in_memory=False, **FIT)


_SHARDED = textwrap.dedent("""
    import json, jax, numpy as np, xh2cm
    from xh2cm.training.trainer import cell_sharding
    ds = xh2cm.datasets.synthetic_forcing(n_lat=4, n_lon=6, years=1)
    obs = ds.h2cm.run(xh2cm.datasets.truth_model(ds, hidden_size=8))[["gpp", "et"]]
    kw = dict(epochs=2, batch_size=4, validation=0.3, progress=False,
              model_kwargs={"hidden_size": 8})
    _, one = ds.h2cm.fit(obs, **kw)
    _, two = ds.h2cm.fit(obs, devices=2, **kw)
    from xh2cm.training import TrainingData
    f = {k: np.ones((10, 4), np.float32) for k in ("rn", "prec", "tair", "vpd", "co2")}
    b = cell_sharding(2)(TrainingData(f, None, np.zeros(10), np.zeros(1)).batch(np.arange(4)))
    print(json.dumps({"devices": len(jax.devices()),
                      "one": one["total"].values.tolist(), "two": two["total"].values.tolist(),
                      "rn_devices": len(b[0].rn.sharding.device_set),
                      "rn_shard": list(b[0].rn.addressable_shards[0].data.shape)}))
""")


@pytest.mark.slow
def test_fit_on_two_devices_equals_one_device():
    """Two (forced CPU) devices, cells of each batch split between them: the same losses
    as on one device; the batch's arrays are really split along cells."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", _SHARDED], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["devices"] == 2 and r["rn_devices"] == 2 and r["rn_shard"] == [10, 2]
    np.testing.assert_allclose(r["two"], r["one"], rtol=1e-5)


def test_devices_setting_is_checked():
    from xh2cm.training import TrainConfig

    with pytest.raises(ValueError, match="multiple of devices"):
        TrainConfig(batch_size=5, devices=2)
    with pytest.raises(ValueError, match="devices must be"):
        TrainConfig(devices=0)
    from xh2cm.training.trainer import cell_sharding

    with pytest.raises(ValueError, match="xla_force_host_platform_device_count"):
        cell_sharding(64)
