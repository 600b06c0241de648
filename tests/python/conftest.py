"""Shared fixtures: where the goldens, the default model and the command are (ctest sets TINYMAMBA_CLI and
TINYMAMBA_SOURCE_DIR; TINYMAMBA_GOLDEN_DIR overrides ../shared/golden as for the golden program)."""
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import safetensors_np
import tinymamba

SOURCE_DIR = pathlib.Path(os.environ.get("TINYMAMBA_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
GOLDEN_DIR = pathlib.Path(os.environ.get("TINYMAMBA_GOLDEN_DIR", SOURCE_DIR.parent / "shared" / "golden"))
DEFAULT_MODEL = SOURCE_DIR / "models" / "tinyshakespeare"
CLI = os.environ.get("TINYMAMBA_CLI", str(SOURCE_DIR / "build" / "tinymamba"))
LM_CASES = ["model_d64_l2_v256_seed0", "model_d64_l2_v256_seed1_perturbed"]


def run_cli(*args, check=True):
    """The command's (returncode, stdout, stderr)."""
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"tinymamba {' '.join(map(str, args))} failed: {p.stderr}")
    return p.returncode, p.stdout, p.stderr


def model_folder_from_golden(case, folder):
    """The golden case's parameters as an official model folder (config.json + model.safetensors), so that
    Model.load reads them as it reads any downloaded model."""
    tensors, meta = safetensors_np.read(GOLDEN_DIR / f"{case}.safetensors")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(meta["config_official"])
    params = {k: v for k, v in tensors.items() if k.startswith("backbone.") and not k.endswith("_f64")}
    safetensors_np.write(str(folder / "model.safetensors"), params, {"format": "pt"})
    return tensors, meta


@pytest.fixture(scope="session")
def default_model():
    return tinymamba.Model.load(str(DEFAULT_MODEL))


@pytest.fixture(scope="session", params=LM_CASES)
def lm_case(request, tmp_path_factory):
    """(model, golden tensors, metadata) of one mamba_lm golden case."""
    folder = tmp_path_factory.mktemp(request.param)
    tensors, meta = model_folder_from_golden(request.param, folder)
    return tinymamba.Model.load(str(folder)), tensors, meta


def assert_close(got, want, rel, what):
    """max |got - want| <= rel * max |want|, naming the worst element on failure."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, want {want.shape}"
    err = np.abs(got - want)
    bound = rel * max(np.abs(want).max(), np.finfo(np.float32).tiny)
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err[worst] <= bound, (f"{what}: max |got - want| = {err[worst]:.3g} > {bound:.3g} at {worst}: "
                                 f"got {got[worst]}, want {want[worst]}")
