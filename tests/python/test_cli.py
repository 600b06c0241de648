"""The module and the command are one library: the same generated text for the same seed, and bitwise the same
logits, loss and gradients (`tinymamba forward`)."""
import numpy as np
import pytest

import safetensors_np
import tinymamba
from conftest import DEFAULT_MODEL, GOLDEN_DIR, run_cli

PROMPT = "ROMEO:"


@pytest.mark.parametrize("flags", [dict(seed=7), dict(seed=123, temperature=1.1, top_k=0, top_p=0.9, min_p=0.05,
                                                        repeat_penalty=1.2), dict(temperature=0.0)])
def test_generate_equals_the_command(default_model, flags):
    cli_flags = []
    for k, v in flags.items():
        cli_flags += [f"--{k.replace('_', '-')}", v]
    _, out, _ = run_cli("generate", "-m", DEFAULT_MODEL, "-p", PROMPT, "-n", 60, *cli_flags)
    text = default_model.generate(PROMPT, max_tokens=60, **flags)
    assert PROMPT + text + "\n" == out  # the command prints the prompt, the text, a newline


def test_stream_yields_the_same_text(default_model):
    whole = default_model.generate(PROMPT, max_tokens=40, seed=5)
    stream = default_model.generate(PROMPT, max_tokens=40, seed=5, stream=True)
    assert isinstance(stream, tinymamba.Generation)
    pieces = list(stream)
    assert len(pieces) > 1 and "".join(pieces) == whole
    assert len(stream.tokens) == 40 and stream.finish_reason == "length"


def test_forward_loss_and_grads_equal_the_command(tmp_path):
    model_dir = GOLDEN_DIR / "tiny-mamba" / "official"
    ids = np.random.default_rng(0).integers(0, 250, size=(2, 19), dtype=np.int64)
    safetensors_np.write(str(tmp_path / "in.safetensors"), {"input_ids": ids})
    run_cli("forward", "-m", model_dir, "--input", tmp_path / "in.safetensors", "--out", tmp_path / "out.safetensors",
            "--loss", "--grads")
    want, _ = safetensors_np.read(tmp_path / "out.safetensors")
    model = tinymamba.Model.load(str(model_dir))
    np.testing.assert_array_equal(model.forward(ids), want["logits"])
    loss, grads = model.loss_and_grads(ids)
    assert np.float32(loss) == want["loss"][0]
    for name, g in grads.items():
        np.testing.assert_array_equal(g, want["grad." + name], err_msg=name)


def test_errors_carry_the_command_message(tmp_path):
    missing = tmp_path / "nothing-here"
    rc, _, err = run_cli("generate", "-m", missing, "-p", "x", check=False)
    assert rc == 1
    with pytest.raises(tinymamba.Error) as e:
        tinymamba.Model.load(str(missing))
    assert err.strip() == f"tinymamba generate: error: {e.value}"
