// Model shapes for `tinymamba train --config NAME`, as official config.json text (the fields of
// state-spaces/mamba-*'s config.json; everything else takes the official defaults: d_state 16, d_conv 4,
// expand 2, dt_rank ceil(d_model/16), RMSNorm, tied embeddings, pad_vocab_size_multiple 8).
//   tiny          d_model 64,  n_layer 2,  vocab 256     the goldens' shape (seconds per thousand steps)
//   small         d_model 128, n_layer 4,  vocab 256
//   shakespeare   d_model 256, n_layer 4,  vocab 256     the shipped default model (models/tinyshakespeare)
//   130m          d_model 768, n_layer 24, vocab 50277   state-spaces/mamba-130m's shape
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tinymamba/model/config.hpp"

namespace tinymamba::train {

[[nodiscard]] std::vector<std::string> preset_names();

// The model config for --config: a preset name or a JSON file (official field names, or a transformers
// MambaConfig). When data_vocab > 0 (the encoder's vocabulary: 256 for --bytes) it replaces vocab_size.
// Error naming `flag` (the option it came from) or the file when it is neither.
[[nodiscard]] Config train_config(const std::string& preset_or_file, std::int64_t data_vocab,
                                  const std::string& flag = "--config");

}  // namespace tinymamba::train
