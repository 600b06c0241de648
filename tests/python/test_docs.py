"""docs/python.md's walk-through runs as written (shorter generations) and its PyTorch module agrees with our
loss and gradients. Needs PyTorch (Debian: python3-torch, not part of the required packages): skipped without.

Tolerance: 1e-5 * max|grad| per tensor and 1e-5 relative for the loss, as for the goldens (test_golden.py):
two float32 computations of the same math in different orders, on a 4-layer model."""
import os
import re

import numpy as np
import pytest

from conftest import SOURCE_DIR


def test_walk_through_matches_pytorch():
    pytest.importorskip("torch")
    text = (SOURCE_DIR / "docs" / "python.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, re.S)).replace("max_tokens=200", "max_tokens=20")
    cwd = os.getcwd()
    os.chdir(SOURCE_DIR)  # the walk-through's paths are relative to the repository root
    try:
        ns = {}
        exec(compile(code, "docs/python.md", "exec"), ns)
    finally:
        os.chdir(cwd)
    assert abs(ns["t_loss"].item() - ns["loss"]) <= 1e-5 * abs(ns["loss"])
    for name, g in ns["grads"].items():
        t_g = ns["ref"].w(name).grad.numpy()
        assert np.abs(t_g - g).max() <= 1e-5 * np.abs(t_g).max(), name
