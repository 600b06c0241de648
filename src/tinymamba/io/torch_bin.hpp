// The official Mamba checkpoints' `pytorch_model.bin`: a torch.save (PyTorch >= 1.6) zip archive of a state_dict.
//
//   <top>/data.pkl         the pickled state_dict (protocol 2): names -> tensors, each a strided view of a storage
//   <top>/data/<key>       one storage's raw little-endian bytes, stored uncompressed
//   <top>/version          format version, e.g. "3\n" (newer torch: <top>/.data/version); torch reads 1 to 10
//   <top>/byteorder        "little" (newer torch; "big" is refused); other entries are ignored
// <top> is whatever folder name the writer chose; like torch, it is taken from the archive's first entry.
//
// Loading runs no code: the pickle goes through the restricted unpickler (pickle.hpp), the zip through a strict
// reader (zip_reader.hpp). Every storage must be an entry of exactly numel x element-size bytes, and every view
// (offset, size, stride) must stay inside its storage. A view that is row-major is returned as a view of the
// archive bytes (zero copy; tensors that share a storage, like the tied lm_head.weight, share the bytes); a
// strided or broadcast one is copied into a row-major buffer, and all such copies together may not exceed the
// archive's size, so memory stays bounded by the input whatever the views claim. See docs/torch-bin.md.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "tinymamba/core/raw_tensor.hpp"

namespace tinymamba {

// Maps `path` and loads its state_dict. Throws Error("<path>: <problem>") on anything malformed or refused.
[[nodiscard]] TensorMap read_torch_bin(const std::string& path);

// Loads a state_dict from archive bytes in memory; `name` is used in error messages. Row-major tensors are views
// into `archive`, which must outlive them: `keep_alive` (if given) is stored in each such tensor to ensure that.
[[nodiscard]] TensorMap parse_torch_bin(std::span<const std::byte> archive, const std::string& name,
                                        std::shared_ptr<const void> keep_alive = nullptr);

}  // namespace tinymamba
