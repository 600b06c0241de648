"""The module's promises beyond the numbers: views where promised, bad arguments raise, the GIL is released
while it computes, Ctrl-C interrupts a long generate."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import tinymamba
from conftest import DEFAULT_MODEL, GOLDEN_DIR


@pytest.fixture()
def tiny():
    return tinymamba.Model.load(str(GOLDEN_DIR / "tiny-mamba" / "hf"))


def test_config_and_repr(default_model):
    c = default_model.config
    assert (c["d_model"], c["n_layer"], c["vocab_size"], c["padded_vocab_size"]) == (256, 4, 256, 256)
    assert c["d_inner"] == 512 and c["tie_embeddings"] is True
    assert default_model.tokenizer is not None and "tinymamba.Model(" in repr(default_model)
    assert tinymamba.__version__.count(".") == 2


def test_parameters_are_views_into_the_model(tiny):
    params = tiny.parameters()
    assert "lm_head.weight" not in params and params["backbone.embedding.weight"].shape == (256, 64)
    again = tiny.parameters()
    for name, p in params.items():
        assert p.dtype == np.float32 and not p.flags.owndata, name
        assert np.shares_memory(p, again[name]), name  # the model's own buffer, not a copy
    ids = np.array([[1, 2, 3, 4]])
    before = tiny.forward(ids)
    params["backbone.norm_f.weight"][:] *= 2  # writing to a view changes the model
    assert not np.array_equal(tiny.forward(ids), before)


def test_gradients_and_states_are_views(tiny):
    _, grads = tiny.loss_and_grads(np.array([[5, 6, 7, 8, 9]]))
    bases = {id(g.base) for g in grads.values()}
    assert len(bases) == 1 and not any(g.flags.owndata for g in grads.values())  # views into one buffer
    state = tiny.new_state(2)
    assert state.conv[0].shape == (2, 128, 4) and state.ssm[1].shape == (2, 128, 16)
    tiny.step(state, np.array([3, 4]))
    view = state.ssm[0]
    tiny.step(state, np.array([5, 6]))
    np.testing.assert_array_equal(view, state.ssm[0])  # the view follows the state
    state.reset()
    assert state.tokens_seen == 0 and not view.any()


def test_bad_arguments_raise(tiny):
    with pytest.raises(ValueError, match='only "f32"'):
        tinymamba.Model.load(str(DEFAULT_MODEL), dtype="f16")
    with pytest.raises(ValueError, match="threads"):
        tinymamba.Model.load(str(DEFAULT_MODEL), threads=100000)
    with pytest.raises(TypeError, match="integers"):
        tiny.forward(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="2 dimensions"):
        tiny.forward(np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="empty"):
        tiny.forward(np.zeros((1, 0), np.int64))
    with pytest.raises(ValueError, match="not a token id"):
        tiny.forward(np.array([[1, -2]]))
    with pytest.raises(tinymamba.Error, match=r"token id 256 at position 1 is outside the vocabulary \[0, 256\)"):
        tiny.forward(np.array([[1, 256]]))
    with pytest.raises(ValueError, match="at least 2 tokens"):
        tiny.loss_and_grads(np.array([[1]]))
    with pytest.raises(tinymamba.Error, match="inference state holds 2 sequences"):
        tiny.step(tiny.new_state(2), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="another shape"):
        tiny.step(tinymamba.Model.load(str(DEFAULT_MODEL)).new_state(1), [1])
    with pytest.raises(ValueError, match="batch"):
        tiny.new_state(0)
    with pytest.raises(ValueError, match="no tokenizer"):
        tiny.generate("hi")


def test_bad_generate_arguments_raise(default_model):
    with pytest.raises(tinymamba.Error, match=r"top_p must be in \(0, 1\]"):
        default_model.generate("x", top_p=0.0)
    with pytest.raises(tinymamba.Error, match="temperature"):
        default_model.generate("x", temperature=float("nan"))
    with pytest.raises(ValueError, match="prompt is empty"):
        default_model.generate("")
    with pytest.raises(ValueError, match="max_tokens"):
        default_model.generate("x", max_tokens=-1)
    with pytest.raises(TypeError):
        default_model.generate("x", seed=-1)  # a seed is 0 .. 2**64-1, as the command's --seed
    assert default_model.generate("x", max_tokens=0) == ""


def test_gil_is_released_while_computing(default_model):
    """This thread runs Python code while another thread's generate computes. Were the GIL held through the
    computation, this thread could run again only once the call had returned."""
    started, times = threading.Event(), {}

    def work():
        started.set()
        t0 = time.monotonic()
        default_model.generate("ROMEO:", max_tokens=5000, ignore_eos=True, seed=1)
        times["called"], times["returned"] = t0, time.monotonic()

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    time.sleep(0.05)
    ran = time.monotonic()  # Python code, run while the other thread is (or was) in generate
    t.join()
    assert times["returned"] - times["called"] > 0.3, f"generate took {times}: too short to tell"
    assert ran < times["returned"] - 0.1, (ran, times)


def test_ctrl_c_interrupts_generate(default_model):
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        default_model.generate("ROMEO:", max_tokens=300000, ignore_eos=True, seed=1)  # a minute or more
    timer.join()
    assert time.monotonic() - start < 10
