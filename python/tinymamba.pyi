"""Type stub of the compiled `tinymamba` module (python/*.cpp); docs/python.md walks through it."""
from typing import Iterator, Sequence

import numpy as np
import numpy.typing as npt

__version__: str

class Error(ValueError):
    """Anything the library refuses (a bad model file, an id outside the vocabulary, a bad sampling value), with
    the library's one-line message: the one `tinymamba <command>` prints after "error: "."""

class Tokenizer:
    """A byte-level BPE tokenizer (GPT-NeoX's and any of the same shape) read from a tokenizer.json."""
    @staticmethod
    def from_file(path: str) -> Tokenizer: ...
    def encode(self, text: str) -> list[int]:
        """Token ids of text, as Hugging Face's encode(text, add_special_tokens=False)."""
    def decode(self, ids: Sequence[int] | npt.NDArray[np.integer]) -> str:
        """Text of ids; ill-formed UTF-8 becomes U+FFFD."""
    @property
    def vocab_size(self) -> int: ...
    @property
    def eos_id(self) -> int | None: ...

class State:
    """The recurrent state of `batch` sequences (Model.new_state); fixed-size whatever the tokens absorbed."""
    @property
    def batch(self) -> int: ...
    @property
    def tokens_seen(self) -> int: ...
    @property
    def conv(self) -> list[npt.NDArray[np.float32]]:
        """Per layer a view (batch, channels, d_conv): the last d_conv pre-conv inputs, oldest first."""
    @property
    def ssm(self) -> list[npt.NDArray[np.float32]]:
        """Per layer a view (batch, channels, d_state): the SSM state h."""
    def copy(self) -> State:
        """An independent copy (a snapshot to roll back to)."""
    def reset(self) -> None:
        """Back to the zero state."""

class Generation(Iterator[str]):
    """The text pieces of a generation in progress (Model.generate(..., stream=True))."""
    def __iter__(self) -> Generation: ...
    def __next__(self) -> str: ...
    @property
    def tokens(self) -> list[int]:
        """The ids generated so far."""
    @property
    def finish_reason(self) -> str:
        """"stop" (end-of-text token), "length" (max_tokens), or "" while running."""

class Model:
    """A Mamba language model: generation, the parallel forward, loss and gradients, the recurrent step."""
    @staticmethod
    def load(path: str, dtype: str = "f32", threads: int | None = None, tokenizer: str | None = None) -> Model:
        """Loads a model folder as `tinymamba generate -m` does (config.json + model.safetensors, sharded
        safetensors or pytorch_model.bin). dtype: only "f32" so far (others raise ValueError). threads: the
        library's worker threads, process-wide. tokenizer: a tokenizer.json (default: the folder's, if any)."""
    @property
    def config(self) -> dict[str, int | float | bool | str]:
        """The configuration (official MambaConfig names, flattened), plus padded_vocab_size and parameter_count."""
    @property
    def tokenizer(self) -> Tokenizer | None: ...
    @property
    def path(self) -> str: ...
    def generate(
        self,
        prompt: str,
        max_tokens: int = 128,
        temperature: float = 0.8,
        top_k: int = 40,
        top_p: float = 0.95,
        min_p: float = 0.0,
        repeat_penalty: float = 1.0,
        seed: int | None = None,
        stream: bool = False,
        ignore_eos: bool = False,
    ) -> str | Generation:
        """The continuation of prompt (without it); with stream=True an iterator of text pieces. The same text as
        `tinymamba generate -p PROMPT -n max_tokens --seed seed ...` prints after the prompt."""
    def forward(self, ids: npt.NDArray[np.integer], state: State | None = None) -> npt.NDArray[np.float32]:
        """Logits (b, l, padded_vocab_size) of ids (b, l); with a state, the rows continue from it (a prefill)."""
    def loss_and_grads(self, ids: npt.NDArray[np.integer]) -> tuple[float, dict[str, npt.NDArray[np.float32]]]:
        """Mean next-token cross-entropy of ids (b, l) and d loss / d parameter under the official names."""
    def parameters(self) -> dict[str, npt.NDArray[np.float32]]:
        """Every parameter under its official name, a writable view into the model (no copy)."""
    def new_state(self, batch: int = 1) -> State: ...
    def step(self, state: State, ids: npt.NDArray[np.integer] | Sequence[int]) -> npt.NDArray[np.float32]:
        """One token per sequence: ids (b,) -> logits (b, padded_vocab_size); the state absorbs them."""
