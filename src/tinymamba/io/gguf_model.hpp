// Mamba models in GGUF files as llama.cpp writes and reads them (../shared/reference/gguf-mamba.md §2–4, §7): arch
// `mamba` (Mamba-1) or `mamba2` (Mamba-2), the hparams from the `{arch}.*` keys, tensors under llama.cpp's names with
// ggml's reversed dims, conv1d squeezed to (channels, d_conv), and ssm_a holding A = −exp(A_log) (read back as
// A_log = log(−A)); Mamba-2's per-head A and D are {1, n_head}, its gated norm's weight {d_inner/n_group, n_group}
// and its dt bias ssm_dt.bias (no ssm_dt.weight).
// Reading: the large matrices, of every type, are used in place from the mapped file (Model's in-place
// constructor; an f32 matrix not aligned to a float is copied); the small float tensors are converted into the
// model's float32 buffer. Every expected tensor must be
// present with its shape; missing, unexpected and misshapen tensors, other archs, inconsistent hparams and
// non-finite values are errors naming the file and the tensor or key.
#pragma once

#include <string>

#include "tinymamba/io/gguf.hpp"
#include "tinymamba/model/model.hpp"

namespace tinymamba {

[[nodiscard]] Model model_from_gguf(const GgufFile& f, const std::string& source);
[[nodiscard]] Model load_gguf_model(const std::string& path);

// Writes m (float32, or in the types set_weight_type chose) as a GGUF file, atomically, with the `mamba` or
// `mamba2` metadata keys and `extra` ones (the tokenizer's: io/gguf_tokenizer.hpp); output.weight is written only
// when the embeddings are not tied. A Mamba-2 model that llama.cpp's mamba2 cannot run (a gated MLP part,
// D_has_hdim, no gated norm, a dt_limit, in/out_proj biases, no conv1d bias) is an Error naming `path`.
void save_model_gguf(const Model& m, const std::string& path, const std::map<std::string, GgufValue>& extra = {});

}  // namespace tinymamba
