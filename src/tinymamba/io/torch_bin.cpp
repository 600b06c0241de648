#include "tinymamba/io/torch_bin.hpp"

#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/io/pickle.hpp"
#include "tinymamba/io/untrusted.hpp"
#include "tinymamba/io/zip_reader.hpp"

namespace tinymamba {
namespace {

// The archive format versions torch.load reads (caffe2/serialize/versions.h); torch.save writes 3.
constexpr std::uint64_t kMinFormatVersion = 1;
constexpr std::uint64_t kMaxFormatVersion = 10;

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Before PyTorch 1.6 (and with _use_new_zipfile_serialization=False) torch.save wrote a bare pickle stream that
// starts with the pickled magic number: PROTO 2, then LONG1 of 10 bytes.
bool is_legacy_format(std::span<const std::byte> archive) {
  constexpr std::byte kStart[] = {std::byte{0x80}, std::byte{0x02}, std::byte{0x8a}, std::byte{0x0a}};
  return archive.size() >= sizeof kStart && std::memcmp(archive.data(), kStart, sizeof kStart) == 0;
}

// Like torch's PyTorchStreamReader: the folder of the archive's first entry.
std::string top_folder(const ZipArchive& zip) {
  TM_CHECK(!zip.entries().empty(), zip.name(), ": the archive is empty");
  const std::string_view first = zip.entries().front().name;
  const std::size_t slash = first.find('/');
  TM_CHECK(slash != std::string_view::npos, zip.name(), ": its first entry ", quoted(first),
           " is not in a folder, so this is not a torch.save archive");
  return std::string(first.substr(0, slash));
}

void check_version(const ZipArchive& zip, const std::string& top) {
  std::string entry = top + "/.data/version";
  if (zip.find(entry) == nullptr) entry = top + "/version";
  TM_CHECK(zip.find(entry) != nullptr, zip.name(), ": the archive has no entry ", quoted(entry),
           ", so this is not a torch.save archive");
  std::string_view text = as_text(zip.read(entry));
  const std::string_view number = text.substr(0, text.find_last_not_of("\r\n") + 1);
  std::uint64_t version = 0;
  const auto [end, status] = std::from_chars(number.data(), number.data() + number.size(), version);
  TM_CHECK(status == std::errc() && end == number.data() + number.size() && version >= kMinFormatVersion &&
               version <= kMaxFormatVersion,
           zip.name(), ": ", quoted(entry), " holds ", quoted(text), "; torch.save format versions ",
           kMinFormatVersion, " to ", kMaxFormatVersion, " are supported");
}

void check_byte_order(const ZipArchive& zip, const std::string& top) {
  const std::string entry = top + "/byteorder";
  if (zip.find(entry) == nullptr) return;  // written since PyTorch 2.1; older archives are little-endian
  const std::string_view order = as_text(zip.read(entry));
  TM_CHECK(order != "big", zip.name(), ": the tensors are stored big-endian, which is not supported");
  TM_CHECK(order == "little", zip.name(), ": ", quoted(entry), " holds ", quoted(order), ", not 'little'");
}

// Each storage's bytes: the entry <top>/data/<key>, which must hold exactly numel x element size bytes.
std::vector<std::span<const std::byte>> storage_bytes(const ZipArchive& zip, const std::string& top,
                                                      const std::vector<PickledStorage>& storages) {
  std::vector<std::span<const std::byte>> out;
  out.reserve(storages.size());
  for (const PickledStorage& s : storages) {
    const std::string what = cat(zip.name(), ": storage ", quoted(s.key));
    const std::string entry = top + "/data/" + s.key;
    TM_CHECK(zip.find(entry) != nullptr, what, " is missing from the archive (no entry ", quoted(entry), ")");
    const auto bytes = zip.read(entry);
    const std::int64_t needed = checked_mul(s.numel, static_cast<std::int64_t>(dtype_size(s.dtype)), what);
    TM_CHECK(static_cast<std::uint64_t>(needed) == bytes.size(), what, " (", s.numel, " elements of ",
             dtype_name(s.dtype), ") needs ", needed, " bytes but its entry holds ", bytes.size());
    out.push_back(bytes);
  }
  return out;
}

// Checks that the view stays inside a storage of `storage_numel` elements; returns the view's element count.
// The last element a view reads is offset + sum((size_i - 1) * stride_i); an empty view reads none.
std::int64_t check_view(const PickledTensor& t, std::int64_t storage_numel, const std::string& what) {
  TM_CHECK(t.shape.size() == t.stride.size(), what, ": its size ", shape_str(t.shape), " and stride ",
           shape_str(t.stride), " have different lengths");
  TM_CHECK(t.offset >= 0, what, ": negative storage offset ", t.offset);
  for (std::int64_t s : t.stride) TM_CHECK(s >= 0, what, ": negative stride in ", shape_str(t.stride));
  const std::int64_t numel = checked_numel(t.shape, what);
  std::int64_t last = t.offset;
  for (std::size_t i = 0; i < t.shape.size() && numel > 0; ++i)
    TM_CHECK(!__builtin_add_overflow(last, checked_mul(t.shape[i] - 1, t.stride[i], what), &last), what,
             ": its extent overflows 64 bits");
  TM_CHECK(numel > 0 ? last < storage_numel : t.offset <= storage_numel, what, ": the view (offset ", t.offset,
           ", size ", shape_str(t.shape), ", stride ", shape_str(t.stride), ") reaches element ", last,
           " of a storage of ", storage_numel, " elements");
  return numel;
}

// Row-major: each dimension's stride is the product of the sizes after it (a dimension of size 1 may have any,
// and an empty tensor is trivially row-major; returning early also keeps `expected` from overflowing).
bool is_row_major(const PickledTensor& t) {
  for (std::int64_t size : t.shape)
    if (size == 0) return true;
  std::int64_t expected = 1;
  for (std::size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] != 1 && t.stride[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

// Copies a checked, non-empty strided view into a new row-major buffer: an odometer over the leading dimensions,
// the last dimension copied as one run when its stride is 1.
std::shared_ptr<std::vector<std::byte>> copy_view(std::span<const std::byte> storage, std::size_t element_size,
                                                  const PickledTensor& t, std::int64_t numel) {
  auto out = std::make_shared<std::vector<std::byte>>(static_cast<std::size_t>(numel) * element_size);
  const std::byte* src = storage.data();
  std::byte* dst = out->data();
  if (t.shape.empty()) {
    std::memcpy(dst, src + t.offset * element_size, element_size);
    return out;
  }
  // A dimension of size 1 contributes nothing, whatever its stride says (which may be huge): use 0.
  Shape stride = t.stride;
  for (std::size_t i = 0; i < stride.size(); ++i) stride[i] = t.shape[i] == 1 ? 0 : stride[i];
  const std::size_t inner = t.shape.size() - 1;
  const auto cols = static_cast<std::size_t>(t.shape[inner]);
  const auto col_stride = static_cast<std::size_t>(stride[inner]);
  std::vector<std::int64_t> index(inner, 0);
  std::int64_t row = t.offset;  // element offset of the current row's first element
  for (std::int64_t r = 0; r < numel / t.shape[inner]; ++r) {
    const std::byte* row_src = src + static_cast<std::size_t>(row) * element_size;
    if (col_stride == 1) {
      std::memcpy(dst, row_src, cols * element_size);
      dst += cols * element_size;
    } else {
      for (std::size_t c = 0; c < cols; ++c, dst += element_size)
        std::memcpy(dst, row_src + c * col_stride * element_size, element_size);
    }
    for (std::size_t d = inner; d-- > 0;) {  // next row: increment the odometer, carrying to the left
      row += stride[d];
      if (++index[d] < t.shape[d]) break;
      row -= stride[d] * t.shape[d];
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace

TensorMap parse_torch_bin(std::span<const std::byte> archive, const std::string& name,
                          std::shared_ptr<const void> keep_alive) {
  TM_CHECK(!is_legacy_format(archive), name, ": this is the legacy torch.save format (PyTorch < 1.6), which is not ",
           "supported; re-save it with a newer torch.save or convert it to safetensors");
  const ZipArchive zip(archive, name);
  const std::string top = top_folder(zip);
  check_version(zip, top);
  check_byte_order(zip, top);
  const std::string pickle_entry = top + "/data.pkl";
  const PickledStateDict state = unpickle_state_dict(zip.read(pickle_entry), cat(name, ": ", pickle_entry));
  const std::vector<std::span<const std::byte>> storages = storage_bytes(zip, top, state.storages);

  std::uint64_t copy_budget = archive.size();  // bytes that strided views may still copy, all together
  TensorMap out;
  for (const auto& [key, view] : state.tensors) {
    const std::string what = cat(name, ": tensor ", quoted(key));
    const PickledStorage& storage = state.storages[view.storage];
    const std::int64_t numel = check_view(view, storage.numel, what);
    const std::size_t element_size = dtype_size(storage.dtype);
    RawTensor t{.dtype = storage.dtype, .shape = view.shape, .bytes = {}, .keep_alive = nullptr};
    if (is_row_major(view)) {
      t.bytes = storages[view.storage].subspan(static_cast<std::size_t>(view.offset) * element_size,
                                               static_cast<std::size_t>(numel) * element_size);
      t.keep_alive = keep_alive;
    } else {
      const auto bytes = static_cast<std::uint64_t>(
          checked_mul(numel, static_cast<std::int64_t>(element_size), what));
      TM_CHECK(bytes <= copy_budget, what, ": copying its strided view (", bytes, " bytes) would take the copies ",
               "of strided views past the archive's own size (", archive.size(), " bytes)");
      copy_budget -= bytes;
      auto buffer = copy_view(storages[view.storage], element_size, view, numel);
      t.bytes = std::span<const std::byte>(*buffer);
      t.keep_alive = std::move(buffer);
    }
    out.emplace(key, std::move(t));
  }
  return out;
}

TensorMap read_torch_bin(const std::string& path) {
  auto file = std::make_shared<MappedFile>(path);
  return parse_torch_bin(file->bytes(), path, file);
}

}  // namespace tinymamba
