// Model folders as users download them, detected from the files present:
//   official   config.json (official fields) + pytorch_model.bin   (state-spaces/mamba-*)
//   official   config.json (official fields) + model.safetensors    (official tensor names)
//   hf         config.json (MambaConfig)     + model.safetensors    (state-spaces/mamba-*-hf)
//   hf-sharded config.json (MambaConfig)     + model.safetensors.index.json + its shards
// Tensor names are the official ones; `backbone.embeddings.` (transformers) is read as `backbone.embedding.`.
// F32, F16, BF16 and F64 tensors (mixed in one file too) are converted to float32, except F32 large matrices in a
// mapped file, which the model uses in place (Model::make_owned copies them for training). Every expected tensor must
// be present with the config's shape before anything is allocated; missing, unexpected and misshapen tensors
// are errors naming the tensor. lm_head.weight is optional when the embeddings are tied.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tinymamba/model/model.hpp"

namespace tinymamba {

struct CheckpointInfo {
  std::string layout;                         // "official (pytorch_model.bin)", "hf (model.safetensors)", ...
  std::vector<std::string> files;             // the tensor files read
  std::map<std::string, std::int64_t> dtype_counts;  // tensors per source dtype, e.g. {"F16": 20, "F32": 4}
  std::int64_t file_bytes = 0;                // total size of the tensor files
};

// Loads the model in `dir`, or in the GGUF file `dir` names (a regular file ending .gguf: io/gguf_model.hpp);
// throws Error("<file>: <problem>") on anything wrong.
[[nodiscard]] Model load_model(const std::string& dir, CheckpointInfo* info = nullptr);

// Builds a model from tensors under official names (or transformers' `embeddings`), e.g. a golden file; tensors
// whose names are not parameters are ignored when `ignore_extra`, else an error. `source` names the origin.
[[nodiscard]] Model model_from_tensors(const Config& config, const TensorMap& tensors, const std::string& source,
                                       bool ignore_extra = false, const std::string& name_prefix = "");

// The model's parameters as named tensors in their stored types (views into the model; it must outlive the
// map): float32, or F16 / BF16 matrices of a model converted with set_weight_type; an Error for the block types,
// which safetensors cannot hold.
[[nodiscard]] TensorMap model_tensors(const Model& m, const std::string& name_prefix = "");

// Writes the Hugging Face layout into dir (created if needed): config.json (MambaConfig) and model.safetensors
// (the tensors of model_tensors, transformers names, no lm_head.weight when tied), each file atomically.
void save_model_hf(const Model& m, const std::string& dir);

}  // namespace tinymamba
