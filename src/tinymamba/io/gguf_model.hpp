// Mamba-1 models in GGUF files as llama.cpp writes and reads them (arch `mamba`; ../shared/reference/gguf-mamba.md
// §2–3, §7): the hparams from `mamba.*` keys, tensors under llama.cpp's names with ggml's reversed dims,
// conv1d squeezed to (d_inner, d_conv), and ssm_a holding A = −exp(A_log) (read back as A_log = log(−A)).
// Reading: the large matrices, of every type, are used in place from the mapped file (Model's in-place
// constructor; one f32 matrix not aligned to a float is copied); the small float tensors are converted into the
// model's float32 buffer. Every expected tensor must be
// present with its shape; missing, unexpected and misshapen tensors, other archs and non-finite values are errors
// naming the file and the tensor.
#pragma once

#include <string>

#include "tinymamba/io/gguf.hpp"
#include "tinymamba/model/model.hpp"

namespace tinymamba {

[[nodiscard]] Model model_from_gguf(const GgufFile& f, const std::string& source);
[[nodiscard]] Model load_gguf_model(const std::string& path);

// Writes m (float32, or in the types set_weight_type chose) as a GGUF file, atomically, with the `mamba`
// metadata keys and `extra` ones (the tokenizer's: io/gguf_tokenizer.hpp); output.weight is written only when
// the embeddings are not tied.
void save_model_gguf(const Model& m, const std::string& path, const std::map<std::string, GgufValue>& extra = {});

}  // namespace tinymamba
