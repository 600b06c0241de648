// Builders for the torch .bin tests (pickle_test, zip_reader_test, torch_bin_test): pickle bytes written opcode by
// opcode, stored zip archives with every recorded field under the test's control, and torch.save-shaped archives
// made of both. The tests make valid files and hostile ones (lying sizes, forbidden globals, ...) with them, so
// they need no file from outside. Also `throws_error`, which checks that a call fails with a one-line Error that
// mentions given parts.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "byte_builders.hpp"
#include "tinymamba/core/error.hpp"

namespace tinymamba::test {

inline std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

inline std::string f32_bytes(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// Runs `f`, which must throw tinymamba::Error with a one-line message containing every one of `parts`.
template <class F>
::testing::AssertionResult throws_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.find('\n') != std::string::npos) return ::testing::AssertionFailure() << "not one line: " << message;
    for (const std::string& part : parts)
      if (message.find(part) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << message << "\" lacks \"" << part << "\"";
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw something other than tinymamba::Error: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// Pickle bytes, opcode by opcode (names as in CPython's pickletools).
class PickleWriter {
 public:
  PickleWriter& op(std::uint8_t code) { return raw(std::string(1, static_cast<char>(code))); }
  PickleWriter& raw(std::string_view bytes) {
    out_ += bytes;
    return *this;
  }
  PickleWriter& proto(std::uint8_t version = 2) { return op(0x80).op(version); }
  PickleWriter& stop() { return op('.'); }
  PickleWriter& mark() { return op('('); }
  PickleWriter& tuple() { return op('t'); }
  PickleWriter& empty_tuple() { return op(')'); }
  PickleWriter& empty_dict() { return op('}'); }
  PickleWriter& empty_list() { return op(']'); }
  PickleWriter& setitem() { return op('s'); }
  PickleWriter& setitems() { return op('u'); }
  PickleWriter& reduce() { return op('R'); }
  PickleWriter& binpersid() { return op('Q'); }
  PickleWriter& boolean(bool v) { return op(v ? 0x88 : 0x89); }
  PickleWriter& global(std::string_view module, std::string_view name) {
    return op('c').raw(module).raw("\n").raw(name).raw("\n");
  }
  PickleWriter& str(std::string_view s) { return op('X').raw(le(s.size(), 4)).raw(s); }
  // As CPython writes an int: BININT1, BININT2, BININT, else LONG1 with the fewest bytes.
  PickleWriter& integer(std::int64_t v) {
    if (v >= 0 && v < 256) return op('K').raw(le(static_cast<std::uint64_t>(v), 1));
    if (v >= 0 && v < 65536) return op('M').raw(le(static_cast<std::uint64_t>(v), 2));
    if (v >= INT32_MIN && v <= INT32_MAX) return op('J').raw(le(static_cast<std::uint32_t>(v), 4));
    int bytes = 8;
    while (bytes > 1) {  // drop leading bytes that are pure sign extension
      const std::int64_t shifted = v >> (8 * (bytes - 1) - 1);
      if (shifted != 0 && shifted != -1) break;
      --bytes;
    }
    return op(0x8a).op(static_cast<std::uint8_t>(bytes)).raw(le(static_cast<std::uint64_t>(v), bytes));
  }
  PickleWriter& put(std::uint32_t index) { return index < 256 ? op('q').raw(le(index, 1)) : op('r').raw(le(index, 4)); }
  PickleWriter& get(std::uint32_t index) { return index < 256 ? op('h').raw(le(index, 1)) : op('j').raw(le(index, 4)); }
  PickleWriter& ints(const std::vector<std::int64_t>& values) {  // a tuple of ints
    mark();
    for (std::int64_t v : values) integer(v);
    return tuple();
  }

  [[nodiscard]] const std::string& bytes() const { return out_; }
  [[nodiscard]] std::span<const std::byte> span() const { return as_bytes(out_); }

 private:
  std::string out_;
};

// One tensor of a state_dict, as torch.save describes it.
struct TensorSpec {
  std::string name{};
  std::vector<std::int64_t> size{};
  std::vector<std::int64_t> stride{};
  std::int64_t storage_numel = 0;
  std::string storage_key = "0";
  std::string storage_type = "FloatStorage";
  std::int64_t offset = 0;
};

// A persistent id ('storage', torch.<type>, key, 'cpu', numel), then BINPERSID.
inline PickleWriter& storage(PickleWriter& w, const std::string& type, const std::string& key, std::int64_t numel) {
  w.mark().str("storage").global("torch", type).str(key).str("cpu").integer(numel).tuple();
  return w.binpersid();
}

// The call torch.save writes for one tensor:
//   _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())
inline PickleWriter& tensor(PickleWriter& w, const TensorSpec& t) {
  w.global("torch._utils", "_rebuild_tensor_v2").mark();
  storage(w, t.storage_type, t.storage_key, t.storage_numel);
  w.integer(t.offset).ints(t.size).ints(t.stride).boolean(false);
  w.global("collections", "OrderedDict").empty_tuple().reduce();
  return w.tuple().reduce();
}

// The pickle torch.save writes for a state_dict: OrderedDict(), SETITEMS of name -> tensor, STOP.
inline std::string state_dict_pickle(const std::vector<TensorSpec>& tensors) {
  PickleWriter w;
  w.proto(2).global("collections", "OrderedDict").empty_tuple().reduce().mark();
  for (const TensorSpec& t : tensors) tensor(w.str(t.name), t);
  return w.setitems().stop().bytes();
}

// ---- zip archives ----

struct ZipEntrySpec {
  std::string name{};
  std::string data{};
  std::uint16_t method = 0;  // what the headers claim; the data is written as given either way
  // Lies, for hostile archives: what the headers record instead of the truth.
  std::optional<std::uint64_t> central_size{};  // compressed and uncompressed size in the central directory
  std::optional<std::uint64_t> local_size{};  // the same in the local header (written only without a descriptor)
  std::optional<std::string> local_name{};
};

struct ZipOptions {
  bool zip64 = false;           // zip64 extra fields for every size and offset, and the zip64 end records
  bool data_descriptor = true;  // as torch writes: local header sizes 0, a descriptor after the data
  std::size_t alignment = 64;   // data starts at a multiple of this, padded with torch's "FB" extra field
};

inline std::string build_zip(const std::vector<ZipEntrySpec>& entries, const ZipOptions& options = {}) {
  constexpr std::uint64_t kMarker = 0xffffffff;
  const std::uint16_t version = options.zip64 ? 45 : 20;
  const std::uint16_t flags = options.data_descriptor ? 0x0808 : 0x0800;  // descriptor, UTF-8 names
  std::string out, central;
  for (const ZipEntrySpec& e : entries) {
    const std::uint64_t offset = out.size();
    const std::string& local_name = e.local_name.value_or(e.name);
    const std::uint32_t crc = crc32(e.data);
    const std::uint64_t local_size = e.local_size.value_or(e.data.size());
    std::string extra;
    if (options.zip64 && !options.data_descriptor) extra = le(1, 2) + le(16, 2) + le(local_size, 8) + le(local_size, 8);
    const std::uint64_t unpadded = offset + 30 + local_name.size() + extra.size() + 4;
    const std::uint64_t pad = (options.alignment - unpadded % options.alignment) % options.alignment;
    extra += "FB" + le(pad, 2) + std::string(pad, 'Z');
    const std::uint64_t recorded_local = options.data_descriptor ? 0 : options.zip64 ? kMarker : local_size;
    out += le(0x04034b50, 4) + le(version, 2) + le(flags, 2) + le(e.method, 2) + le(0, 4) +
           le(options.data_descriptor ? 0 : crc, 4) + le(recorded_local, 4) + le(recorded_local, 4) +
           le(local_name.size(), 2) + le(extra.size(), 2) + local_name + extra + e.data;
    if (options.data_descriptor) {
      const int size_bytes = options.zip64 ? 8 : 4;
      out += le(0x08074b50, 4) + le(crc, 4) + le(e.data.size(), size_bytes) + le(e.data.size(), size_bytes);
    }
    const std::uint64_t central_size = e.central_size.value_or(e.data.size());
    const std::string central_extra =
        options.zip64 ? le(1, 2) + le(24, 2) + le(central_size, 8) + le(central_size, 8) + le(offset, 8) : "";
    central += le(0x02014b50, 4) + le(version, 2) + le(version, 2) + le(flags, 2) + le(e.method, 2) + le(0, 4) +
               le(crc, 4) + le(options.zip64 ? kMarker : central_size, 4) +
               le(options.zip64 ? kMarker : central_size, 4) + le(e.name.size(), 2) + le(central_extra.size(), 2) +
               le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(options.zip64 ? kMarker : offset, 4) + e.name +
               central_extra;
  }
  const std::uint64_t central_offset = out.size();
  const std::uint64_t n = entries.size();
  out += central;
  if (options.zip64) {
    const std::uint64_t record = out.size();
    out += le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(n, 8) + le(n, 8) +
           le(central.size(), 8) + le(central_offset, 8);
    out += le(0x07064b50, 4) + le(0, 4) + le(record, 8) + le(1, 4);
  }
  out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(n, 2) + le(n, 2) + le(central.size(), 4) +
         le(central_offset, 4) + le(0, 2);
  return out;
}

// ---- torch.save archives ----

struct TorchArchiveSpec {
  std::string top = "archive";
  std::string pickle{};
  std::vector<std::pair<std::string, std::string>> storages{};  // key -> bytes
  std::optional<std::string> version = "3\n";
  std::optional<std::string> byteorder = "little";
  ZipOptions zip{};
};

// Entries in torch's order: data.pkl, byteorder, data/<key>..., version.
inline std::string torch_archive(const TorchArchiveSpec& spec) {
  std::vector<ZipEntrySpec> entries = {{.name = spec.top + "/data.pkl", .data = spec.pickle}};
  if (spec.byteorder) entries.push_back({.name = spec.top + "/byteorder", .data = *spec.byteorder});
  for (const auto& [key, bytes] : spec.storages) entries.push_back({.name = spec.top + "/data/" + key, .data = bytes});
  if (spec.version) entries.push_back({.name = spec.top + "/version", .data = *spec.version});
  return build_zip(entries, spec.zip);
}

}  // namespace tinymamba::test
