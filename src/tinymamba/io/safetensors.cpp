#include "tinymamba/io/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/core/json.hpp"
#include "tinymamba/io/untrusted.hpp"

namespace tinymamba {
namespace {

using json = nlohmann::json;

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

std::int64_t json_size(const json& j, const std::string& what) {
  TM_CHECK(j.is_number_unsigned() || (j.is_number_integer() && j.get<std::int64_t>() >= 0), what,
           " must be a non-negative integer");
  const auto v = j.get<std::uint64_t>();
  TM_CHECK(v <= static_cast<std::uint64_t>(INT64_MAX), what, " is too large");
  return static_cast<std::int64_t>(v);
}

}  // namespace

SafetensorsFile parse_safetensors(std::span<const std::byte> bytes, const std::string& name,
                                  std::shared_ptr<const void> keep_alive) {
  TM_CHECK(bytes.size() >= 8, name, ": too short for a safetensors file (", bytes.size(), " bytes)");
  const std::uint64_t header_len = read_u64_le(bytes.data());
  TM_CHECK(header_len <= kMaxSafetensorsHeader, name, ": header length ", header_len, " exceeds the limit of ",
           kMaxSafetensorsHeader, " bytes");
  TM_CHECK(header_len <= bytes.size() - 8, name, ": header length ", header_len, " runs past the end of the file (",
           bytes.size(), " bytes)");
  const auto header_begin = reinterpret_cast<const char*>(bytes.data() + 8);
  const json header = parse_json(std::string_view(header_begin, header_len), name + ": header");
  TM_CHECK(header.is_object(), name, ": header is not a JSON object");

  SafetensorsFile out;
  const std::span<const std::byte> data = bytes.subspan(8 + header_len);
  struct Extent {
    std::int64_t begin, end;
    const std::string* name;
  };
  std::vector<Extent> extents;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      TM_CHECK(entry.is_object(), name, ": __metadata__ is not an object");
      TM_CHECK(entry.size() <= kMaxSafetensorsMetadata, name, ": __metadata__ has ", entry.size(),
               " entries, more than the limit of ", kMaxSafetensorsMetadata);
      for (const auto& [mk, mv] : entry.items()) {
        TM_CHECK(mv.is_string(), name, ": __metadata__ value for ", tinymamba::quoted(mk), " is not a string");
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    const std::string what = name + ": tensor " + tinymamba::quoted(key);
    TM_CHECK(entry.is_object(), what, " is not an object");
    TM_CHECK(entry.contains("dtype") && entry["dtype"].is_string(), what, " has no dtype string");
    TM_CHECK(entry.contains("shape") && entry["shape"].is_array(), what, " has no shape array");
    TM_CHECK(entry.contains("data_offsets") && entry["data_offsets"].is_array() && entry["data_offsets"].size() == 2,
             what, " has no [begin, end] data_offsets");
    const std::string dtype_str = entry["dtype"].get<std::string>();
    const auto dtype = dtype_from_name(dtype_str);
    TM_CHECK(dtype.has_value(), what, " has unknown dtype ", tinymamba::quoted(dtype_str));
    TM_CHECK(entry["shape"].size() <= 16, what, " has ", entry["shape"].size(), " dimensions (at most 16)");
    RawTensor t;
    t.dtype = *dtype;
    for (const auto& d : entry["shape"]) t.shape.push_back(json_size(d, what + " shape entry"));
    const std::int64_t begin = json_size(entry["data_offsets"][0], what + " data offset");
    const std::int64_t end = json_size(entry["data_offsets"][1], what + " data offset");
    TM_CHECK(begin <= end, what, ": data_offsets [", begin, ", ", end, "] are reversed");
    TM_CHECK(static_cast<std::uint64_t>(end) <= data.size(), what, ": data_offsets [", begin, ", ", end,
             "] reach past the data section (", data.size(), " bytes)");
    const std::int64_t nbytes = checked_mul(checked_numel(t.shape, what), static_cast<std::int64_t>(dtype_size(t.dtype)), what);
    TM_CHECK(nbytes == end - begin, what, ": shape ", shape_str(t.shape), " of ", dtype_str, " needs ", nbytes,
             " bytes but data_offsets span ", end - begin);
    t.bytes = data.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(nbytes));
    t.keep_alive = keep_alive;
    auto [it, inserted] = out.tensors.emplace(key, std::move(t));
    TM_CHECK(inserted, what, " appears twice");
    extents.push_back({begin, end, &it->first});
  }
  std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < extents.size(); ++i) {
    const Extent& a = extents[i - 1];
    const Extent& b = extents[i];
    TM_CHECK(b.begin >= a.end || a.begin == a.end || b.begin == b.end, name, ": tensors ", tinymamba::quoted(*a.name), " and ",
             tinymamba::quoted(*b.name), " overlap in the data section");
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  auto file = std::make_shared<MappedFile>(path);
  return parse_safetensors(file->bytes(), path, file);
}

namespace {

// The file's bytes, for write_file_atomic or StagedFile: tensors largest element first, header padded to 8.
std::function<void(const ByteSink&)> safetensors_writer(const std::string& path, const TensorMap& tensors,
                                                        const Metadata& metadata) {
  std::vector<const TensorMap::value_type*> order;
  for (const auto& kv : tensors) order.push_back(&kv);
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return dtype_size(a->second.dtype) > dtype_size(b->second.dtype);
  });
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::int64_t offset = 0;
  for (const auto* kv : order) {
    const RawTensor& t = kv->second;
    const std::int64_t nbytes = checked_mul(checked_numel(t.shape, kv->first), static_cast<std::int64_t>(dtype_size(t.dtype)), kv->first);
    TM_CHECK(static_cast<std::size_t>(nbytes) == t.bytes.size(), path, ": tensor '", kv->first, "' has ",
             t.bytes.size(), " bytes for shape ", shape_str(t.shape));
    header[kv->first] = {{"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  auto text = std::make_shared<std::string>(header.dump());
  text->append((8 - text->size() % 8) % 8, ' ');
  return [text, order = std::move(order)](const ByteSink& sink) {
    std::byte len[8];
    const std::uint64_t n = text->size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
    sink(len, 8);
    sink(text->data(), text->size());
    for (const auto* kv : order) sink(kv->second.bytes.data(), kv->second.bytes.size());
  };
}

}  // namespace

void write_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  write_file_atomic(path, safetensors_writer(path, tensors, metadata));
}

std::unique_ptr<StagedFile> stage_safetensors(const std::string& path, const TensorMap& tensors,
                                              const Metadata& metadata) {
  return std::make_unique<StagedFile>(path, safetensors_writer(path, tensors, metadata));
}

}  // namespace tinymamba
