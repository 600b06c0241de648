"""Tokenizer against Hugging Face's ids for the GPT-NeoX tokenizer (../shared/golden/tokenizer.json)."""
import json

import pytest

import tinymamba
from conftest import GOLDEN_DIR


@pytest.fixture(scope="module")
def neox():
    cases = json.loads((GOLDEN_DIR / "tokenizer.json").read_text())
    return tinymamba.Tokenizer.from_file(str(GOLDEN_DIR.parent / "tokenizer" / cases["tokenizer"])), cases["cases"]


def test_encode_decode_match_hugging_face(neox):
    tok, cases = neox
    assert tok.vocab_size == 50277 and tok.eos_id == 0
    for c in cases:
        assert tok.encode(c["text"]) == c["ids"], c["text"][:40]
        assert tok.decode(c["ids"]) == c["decoded"], c["text"][:40]


def test_bad_ids_and_files_raise(neox, tmp_path):
    tok, _ = neox
    with pytest.raises(tinymamba.Error, match="out of range|outside"):
        tok.decode([tok.vocab_size])
    with pytest.raises(ValueError, match="not a token id"):
        tok.decode([-1])
    with pytest.raises(TypeError):
        tok.decode([0.5])
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{")
    with pytest.raises(tinymamba.Error, match=str(bad)):
        tinymamba.Tokenizer.from_file(str(bad))
