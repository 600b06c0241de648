// Small helpers shared by the fuzz targets and the seed maker (fuzz/make_seeds.cpp): reading every byte a loaded
// tensor claims, a stored-zip writer and a pickle writer (to wrap fuzzed pickles into well-formed torch.save
// archives and to write small seed archives), and a plain UTF-8 validator used as an independent oracle.
// Byte helpers (le, crc32) come from tests/byte_builders.hpp; the rest is minimal and separate from
// tests/torch_bin_builders.hpp, which needs GoogleTest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "byte_builders.hpp"  // tests/: le, crc32
#include "tinymamba/core/raw_tensor.hpp"

namespace tinymamba::fuzz {

// A check that must hold whatever the input: a failure is a finding, so it aborts (libFuzzer reports a crash).
#define TM_FUZZ_CHECK(cond)                                                               \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Reads every byte a tensor claims (ASan flags a view that reaches outside its buffer) and checks that the
// byte count agrees with the shape.
inline std::uint64_t touch(const RawTensor& t) {
  const std::int64_t numel = checked_numel(t.shape, "fuzz");
  TM_FUZZ_CHECK(static_cast<std::uint64_t>(numel) * dtype_size(t.dtype) == t.bytes.size());
  std::uint64_t sum = 0;
  for (std::byte b : t.bytes) sum += static_cast<std::uint8_t>(b);
  return sum;
}

using test::crc32;
using test::le;

// A zip archive of stored (uncompressed) entries, in the given order, local sizes in the headers (no data
// descriptors, no zip64): the simplest archive the strict reader accepts.
inline std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, central;
  for (const auto& [name, data] : entries) {
    const std::uint64_t offset = out.size();
    const std::uint32_t crc = crc32(data);
    out += le(0x04034b50, 4) + le(20, 2) + le(0x0800, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(data.size(), 4) +
           le(data.size(), 4) + le(name.size(), 2) + le(0, 2) + name + data;
    central += le(0x02014b50, 4) + le(20, 2) + le(20, 2) + le(0x0800, 2) + le(0, 2) + le(0, 4) + le(crc, 4) +
               le(data.size(), 4) + le(data.size(), 4) + le(name.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) +
               le(0, 2) + le(0, 4) + le(offset, 4) + name;
  }
  const std::uint64_t central_offset = out.size();
  out += central;
  out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(entries.size(), 2) + le(entries.size(), 2) +
         le(central.size(), 4) + le(central_offset, 4) + le(0, 2);
  return out;
}

// Pickle opcodes, written one by one (names as in CPython's pickletools).
class Pickle {
 public:
  Pickle& op(char code) { return raw(std::string(1, code)); }
  Pickle& raw(std::string_view bytes) {
    out_ += bytes;
    return *this;
  }
  Pickle& proto() { return op('\x80').op('\x02'); }
  Pickle& global(std::string_view module, std::string_view name) {
    return op('c').raw(module).raw("\n").raw(name).raw("\n");
  }
  Pickle& str(std::string_view s) { return op('X').raw(le(s.size(), 4)).raw(s); }
  Pickle& integer(std::int64_t v) {
    if (v >= 0 && v < 256) return op('K').raw(le(static_cast<std::uint64_t>(v), 1));
    return op('\x8a').op('\x08').raw(le(static_cast<std::uint64_t>(v), 8));
  }
  Pickle& ints(const std::vector<std::int64_t>& values) {  // a tuple of ints
    op('(');
    for (std::int64_t v : values) integer(v);
    return op('t');
  }
  Pickle& put(std::uint8_t index) { return op('q').raw(le(index, 1)); }
  Pickle& get(std::uint8_t index) { return op('h').raw(le(index, 1)); }
  [[nodiscard]] const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

// One tensor of a state_dict for pickle_of(): a view (offset, size, stride) of a storage.
struct PickledSpec {
  std::string name;
  std::string storage_type;  // "FloatStorage", "HalfStorage", ...
  std::string key;
  std::int64_t storage_numel;
  std::int64_t offset;
  std::vector<std::int64_t> size, stride;
  bool parameter = false;  // wrapped in torch._utils._rebuild_parameter
};

// The pickle torch.save writes for a state_dict of these tensors (with memo use, as torch's has).
inline std::string pickle_of(const std::vector<PickledSpec>& tensors) {
  Pickle p;
  p.proto().global("collections", "OrderedDict").put(0).op(')').op('R').put(1).op('(');
  for (const PickledSpec& t : tensors) {
    p.str(t.name);
    if (t.parameter) p.global("torch._utils", "_rebuild_parameter").op('(');
    p.global("torch._utils", "_rebuild_tensor_v2").op('(');
    p.op('(').str("storage").global("torch", t.storage_type).str(t.key).str("cpu").integer(t.storage_numel).op('t');
    p.op('Q').integer(t.offset).ints(t.size).ints(t.stride).op('\x89');
    p.get(0).op(')').op('R').op('t').op('R');
    if (t.parameter) p.op('\x89').get(0).op(')').op('R').op('t').op('R');
  }
  return p.op('u').op('.').bytes();
}

}  // namespace tinymamba::fuzz
