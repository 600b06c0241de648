// GGUF files (llama.cpp's single-file format, versions 2 and 3), the container only: metadata key/values and
// tensor infos, with each tensor's bytes a view into the file. Spec: ../shared/reference/gguf-mamba.md §1.
// Files come from outside, so the reader trusts no size in them: counts, string and array lengths are bounded
// (by limits below and by the bytes left), every tensor's dims, type, offset, size and alignment are checked
// against the data section before anything is returned, and each problem is an Error naming the file, the key or
// the tensor ("model.gguf: tensor 'blk.0.ssm_in.weight': data [..) past the end of the file (.. bytes)").
// Mapping tensors to a Model: io/gguf_model.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tinymamba/core/weight_matrix.hpp"

namespace tinymamba {

// GGUF value types (the u32 written before each value).
enum class GgufType : std::uint32_t { u8, i8, u16, i16, u32, i32, f32, boolean, string, array, u64, i64, f64 };

// One metadata value. Scalars: integers in `i` (u64 above INT64_MAX is refused), floats in `f`, bools in `i`
// (0/1), strings in `s`. Arrays (of one scalar or string type; nested arrays are refused): `elem` is the element
// type and the elements are in `ints`, `floats` or `strings`.
struct GgufValue {
  GgufType type = GgufType::u8;
  GgufType elem = GgufType::u8;
  std::int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<std::int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
};

struct GgufTensor {
  std::string name;
  std::vector<std::int64_t> ne;  // ggml's dims: ne[0] innermost (the torch shape reversed)
  WeightType type = WeightType::f32;
  std::uint64_t offset = 0;  // from the data section's start
  std::span<const std::byte> bytes;  // inside the file: rows of weight_row_bytes(type, ne[0])
};

struct GgufFile {
  std::uint32_t version = 3;
  std::uint64_t alignment = 32;
  std::map<std::string, GgufValue> metadata;
  std::vector<GgufTensor> tensors;  // in file order
  std::shared_ptr<const void> keep_alive;  // owns the bytes the tensors view (the mapping)

  [[nodiscard]] const GgufValue* find(const std::string& key) const;
  [[nodiscard]] const GgufTensor* tensor(const std::string& name) const;
};

// Limits on what a file may declare (a real Mamba GGUF has a few hundred tensors and keys; its largest array is
// the vocabulary, ~50k strings; llama.cpp caps tensor names at 64 bytes and dims at 4).
inline constexpr std::uint64_t kGgufMaxTensors = 1u << 16;
inline constexpr std::uint64_t kGgufMaxKeys = 1u << 16;
inline constexpr std::uint64_t kGgufMaxString = 1u << 20;      // bytes in one string (a key: 65535)
inline constexpr std::uint64_t kGgufMaxArray = 1u << 24;       // elements in one array
inline constexpr std::uint64_t kGgufMaxAlignment = 1u << 16;

// Parses the bytes of a GGUF file; `source` names it in errors. Tensor views point into `bytes`, which the caller
// keeps alive (read_gguf's keep_alive does).
[[nodiscard]] GgufFile parse_gguf(std::span<const std::byte> bytes, const std::string& source);
// Maps `path` read-only and parses it; the tensors view the mapping (used in place).
[[nodiscard]] GgufFile read_gguf(const std::string& path);

// ggml's type ids for our weight types (F32 0, F16 1, Q4_0 2, Q8_0 8, Q4_K 12, Q6_K 14, BF16 30).
[[nodiscard]] std::uint32_t ggml_type_id(WeightType t);

// A tensor to write: ggml dims and the bytes (rows of weight_row_bytes(type, ne[0])).
struct GgufTensorOut {
  std::string name;
  std::vector<std::int64_t> ne;
  WeightType type;
  std::span<const std::byte> bytes;
};
// Writes a version-3 file atomically: the metadata in key order, then the tensors in the given order, each
// aligned to 32 bytes (general.alignment is not written).
void write_gguf(const std::string& path, const std::map<std::string, GgufValue>& metadata,
                const std::vector<GgufTensorOut>& tensors);

}  // namespace tinymamba
