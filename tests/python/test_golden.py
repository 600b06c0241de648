"""The module's numbers against the official implementation's (../shared/golden, README there): logits, loss,
every parameter gradient, the recurrent mode's logits and final states, for the two mamba_lm cases.

Tolerance: 1e-5 * max|ref| per tensor, the golden README's suggestion: 7x to 40x the float32 reference's own
distance from its float64 re-run (<= 1.4e-6 * max|ref| for every tensor of these models); a real difference
shows up far above it (~1e-4 and more)."""
import re

import numpy as np
import pytest

import safetensors_np
import tinymamba
from conftest import GOLDEN_DIR, assert_close

REL = 1e-5


def test_forward_logits(lm_case):
    model, g, _ = lm_case
    logits = model.forward(g["input_ids"])
    assert logits.dtype == np.float32
    assert_close(logits, g["logits"], REL, "logits")


def test_loss_and_every_gradient(lm_case):
    model, g, _ = lm_case
    loss, grads = model.loss_and_grads(g["input_ids"])
    assert isinstance(loss, float)
    assert abs(loss - float(g["loss"][0])) <= REL * abs(float(g["loss"][0])), (loss, g["loss"])
    want = {k[len("grad.") :]: v for k, v in g.items() if k.startswith("grad.") and not k.endswith("_f64")}
    assert set(grads) == set(want)  # tied: one embedding gradient, no lm_head.weight
    for name, w in want.items():
        assert_close(grads[name], w, REL, "grad." + name)


def test_recurrent_logits_and_states(lm_case):
    model, g, meta = lm_case
    ids = g["input_ids"]
    b, l = ids.shape
    state = model.new_state(b)
    logits = np.stack([model.step(state, ids[:, t]) for t in range(l)], axis=1)
    assert state.tokens_seen == l
    assert_close(logits, g["logits_step"], REL, "logits_step")
    for i in range(model.config["n_layer"]):
        assert_close(state.conv[i], g[f"state.layers.{i}.conv_state"], REL, f"state.layers.{i}.conv_state")
        assert_close(state.ssm[i], g[f"state.layers.{i}.ssm_state"], REL, f"state.layers.{i}.ssm_state")


def test_prefill_then_step(lm_case):
    """The official generation pattern: a parallel prefill of the first P tokens that fills the state, then steps."""
    model, g, meta = lm_case
    ids = g["input_ids"]
    p = int(re.search(r"first (\d+) tokens", meta["logits_prefill_step"]).group(1))
    state = model.new_state(ids.shape[0])
    prefill = model.forward(ids[:, :p], state=state)
    steps = [model.step(state, ids[:, t]) for t in range(p, ids.shape[1])]
    logits = np.concatenate([prefill, np.stack(steps, axis=1)], axis=1)
    assert_close(logits, g["logits_prefill_step"], REL, "logits_prefill_step")


def test_checkpoint_layouts_load_the_same_model():
    """The seed-0 model as published checkpoints (pytorch_model.bin, Hugging Face safetensors) gives the golden
    logits, as `tinymamba generate -m` would load them."""
    expected, _ = safetensors_np.read(GOLDEN_DIR / "tiny-mamba" / "expected.safetensors")
    for layout in ["official", "hf"]:
        model = tinymamba.Model.load(str(GOLDEN_DIR / "tiny-mamba" / layout))
        assert_close(model.forward(expected["input_ids"]), expected["logits"], REL, f"{layout} logits")


def test_state_copy_is_a_snapshot(lm_case):
    """Stepping a copy leaves the original where it was: both continue to the same logits."""
    model, g, _ = lm_case
    ids = g["input_ids"]
    state = model.new_state(ids.shape[0])
    model.forward(ids[:, :10], state=state)
    snapshot = state.copy()
    a = [model.step(state, ids[:, t]) for t in range(10, 14)]
    assert snapshot.tokens_seen == 10 and state.tokens_seen == 14
    b = [model.step(snapshot, ids[:, t]) for t in range(10, 14)]
    np.testing.assert_array_equal(np.stack(a), np.stack(b))
    np.testing.assert_array_equal(state.ssm[0], snapshot.ssm[0])
