// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
// then the data section; offsets are relative to its start. Nothing read from a file is trusted: the header
// length is checked against the file size and a cap, the JSON is parsed by nlohmann-json, every tensor's
// offsets must lie inside the data section without overlapping another's, and its byte size must equal
// numel(shape) x dtype size, computed without 64-bit overflow.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "tinymamba/core/file.hpp"
#include "tinymamba/core/raw_tensor.hpp"

namespace tinymamba {

using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  TensorMap tensors;  // views into the mapped file
  Metadata metadata;
};

// The header may be at most this long (the reference implementation's limit is 100 MB).
inline constexpr std::size_t kMaxSafetensorsHeader = std::size_t{100} << 20;
// __metadata__ may have at most this many entries (real files have a handful: "format": "pt"). The header as a
// whole is also bounded by parse_json's value cap (core/json.hpp), so memory stays bounded by that, not by the
// header length.
inline constexpr std::size_t kMaxSafetensorsMetadata = std::size_t{1} << 16;

// Maps `path` and parses it. Throws Error("<path>: <problem>") on anything malformed.
[[nodiscard]] SafetensorsFile read_safetensors(const std::string& path);

// Parses bytes already in memory; `name` is used in error messages, `keep_alive` is stored in every tensor.
[[nodiscard]] SafetensorsFile parse_safetensors(std::span<const std::byte> bytes, const std::string& name,
                                                std::shared_ptr<const void> keep_alive = nullptr);

// Writes atomically (temp file + rename). Tensors are laid out largest element size first so every tensor
// starts at a multiple of its element size; the header is space-padded to a multiple of 8.
void write_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

// The same, written and fsynced under a temp name but not yet renamed (StagedFile::commit does that), for saves
// of several files that belong together (save_model_hf). The tensors' bytes are no longer needed afterwards.
[[nodiscard]] std::unique_ptr<StagedFile> stage_safetensors(const std::string& path, const TensorMap& tensors,
                                                            const Metadata& metadata = {});

}  // namespace tinymamba
