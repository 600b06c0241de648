#include "tinymamba/io/gguf.hpp"

#include <bit>
#include <cstring>
#include <limits>
#include <set>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/io/untrusted.hpp"

namespace tinymamba {
namespace {

constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32

struct TypeId {
  WeightType type;
  std::uint32_t id;
};
constexpr TypeId kTypeIds[] = {{WeightType::f32, 0},   {WeightType::f16, 1},   {WeightType::q4_0, 2},
                               {WeightType::q8_0, 8},  {WeightType::q4_k, 12}, {WeightType::q6_k, 14},
                               {WeightType::bf16, 30}};

// Reads little-endian fields from the file's bytes, each read bounds-checked against what is left.
class Reader {
 public:
  Reader(std::span<const std::byte> b, const std::string& source) : b_(b), source_(source) {}

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    const T v = load_le<T>(b_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::string string(std::uint64_t max, const char* what) {
    const std::uint64_t n = read<std::uint64_t>(what);
    TM_CHECK(n <= max, source_, ": ", what, ": a string of ", n, " bytes (at most ", max, ")");
    need(n, what);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), static_cast<std::size_t>(n));
    pos_ += n;
    return s;
  }
  void need(std::uint64_t n, const char* what) const {
    TM_CHECK(n <= b_.size() - pos_, source_, ": ", what, " at byte ", pos_, ": the file ends (", b_.size(),
             " bytes)");
  }
  [[nodiscard]] std::uint64_t pos() const { return pos_; }
  [[nodiscard]] std::uint64_t left() const { return b_.size() - pos_; }

 private:
  std::span<const std::byte> b_;
  const std::string& source_;
  std::uint64_t pos_ = 0;
};

bool is_scalar(GgufType t) { return t != GgufType::string && t != GgufType::array; }

// A scalar of type t into v.i / v.f; `what` names the key for errors.
void read_scalar(Reader& r, GgufType t, std::int64_t& i, double& f, const std::string& source, const std::string& what) {
  switch (t) {
    case GgufType::u8: i = r.read<std::uint8_t>("a u8 value"); return;
    case GgufType::i8: i = static_cast<std::int8_t>(r.read<std::uint8_t>("an i8 value")); return;
    case GgufType::u16: i = r.read<std::uint16_t>("a u16 value"); return;
    case GgufType::i16: i = static_cast<std::int16_t>(r.read<std::uint16_t>("an i16 value")); return;
    case GgufType::u32: i = r.read<std::uint32_t>("a u32 value"); return;
    case GgufType::i32: i = static_cast<std::int32_t>(r.read<std::uint32_t>("an i32 value")); return;
    case GgufType::f32: f = std::bit_cast<float>(r.read<std::uint32_t>("an f32 value")); return;
    case GgufType::f64: f = std::bit_cast<double>(r.read<std::uint64_t>("an f64 value")); return;
    case GgufType::i64: i = static_cast<std::int64_t>(r.read<std::uint64_t>("an i64 value")); return;
    case GgufType::u64: {
      const std::uint64_t u = r.read<std::uint64_t>("a u64 value");
      TM_CHECK(u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()), source, ": ", what,
               ": u64 value ", u, " is out of range");
      i = static_cast<std::int64_t>(u);
      return;
    }
    case GgufType::boolean: {
      const std::uint8_t b = r.read<std::uint8_t>("a bool value");
      TM_CHECK(b <= 1, source, ": ", what, ": bool value ", int{b}, " (only 0 or 1)");
      i = b;
      return;
    }
    case GgufType::string:
    case GgufType::array: break;
  }
  fail(source, ": ", what, ": not a scalar type");
}

GgufType read_type(Reader& r, const std::string& source, const std::string& what) {
  const std::uint32_t t = r.read<std::uint32_t>("a value type");
  TM_CHECK(t <= static_cast<std::uint32_t>(GgufType::f64), source, ": ", what, ": unknown value type ", t);
  return static_cast<GgufType>(t);
}

GgufValue read_value(Reader& r, const std::string& source, const std::string& key) {
  const std::string what = "key " + quoted(key);
  GgufValue v;
  v.type = read_type(r, source, what);
  if (v.type == GgufType::string) {
    v.s = r.string(kGgufMaxString, "a string value");
  } else if (v.type == GgufType::array) {
    v.elem = read_type(r, source, what);
    TM_CHECK(v.elem != GgufType::array, source, ": ", what, ": nested arrays are not supported");
    const std::uint64_t n = r.read<std::uint64_t>("an array length");
    // Every element takes at least one byte: a count beyond the bytes left is a lie, refused before reserving.
    TM_CHECK(n <= kGgufMaxArray && n <= r.left(), source, ": ", what, ": an array of ", n, " elements (at most ",
             kGgufMaxArray, ", and no more than the ", r.left(), " bytes left)");
    for (std::uint64_t k = 0; k < n; ++k) {
      if (v.elem == GgufType::string) {
        v.strings.push_back(r.string(kGgufMaxString, "an array string"));
      } else {
        std::int64_t i = 0;
        double f = 0;
        read_scalar(r, v.elem, i, f, source, what);
        if (v.elem == GgufType::f32 || v.elem == GgufType::f64)
          v.floats.push_back(f);
        else
          v.ints.push_back(i);
      }
    }
  } else {
    read_scalar(r, v.type, v.i, v.f, source, what);
  }
  return v;
}

}  // namespace

const GgufValue* GgufFile::find(const std::string& key) const {
  const auto it = metadata.find(key);
  return it == metadata.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::tensor(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::uint32_t ggml_type_id(WeightType t) {
  for (const auto& [type, id] : kTypeIds)
    if (type == t) return id;
  fail("no ggml type id for ", weight_type_name(t));
}

GgufFile parse_gguf(std::span<const std::byte> bytes, const std::string& source) {
  Reader r(bytes, source);
  GgufFile f;
  const std::uint32_t magic = r.read<std::uint32_t>("the magic");
  TM_CHECK(magic == kMagic, source, ": not a GGUF file (no 'GGUF' magic)");
  f.version = r.read<std::uint32_t>("the version");
  TM_CHECK(f.version == 2 || f.version == 3, source, ": GGUF version ", f.version, " (versions 2 and 3 are read",
           (f.version & 0xffff) == 0 ? "; this looks like a big-endian file" : "", ")");
  const std::uint64_t n_tensors = r.read<std::uint64_t>("the tensor count");
  const std::uint64_t n_keys = r.read<std::uint64_t>("the metadata count");
  TM_CHECK(n_tensors <= kGgufMaxTensors, source, ": ", n_tensors, " tensors (at most ", kGgufMaxTensors, ")");
  TM_CHECK(n_keys <= kGgufMaxKeys, source, ": ", n_keys, " metadata keys (at most ", kGgufMaxKeys, ")");

  for (std::uint64_t k = 0; k < n_keys; ++k) {
    std::string key = r.string(65535, "a metadata key");
    TM_CHECK(!f.metadata.contains(key), source, ": metadata key ", quoted(key), " appears twice");
    GgufValue v = read_value(r, source, key);
    f.metadata.emplace(std::move(key), std::move(v));
  }
  if (const GgufValue* a = f.find("general.alignment")) {
    TM_CHECK(a->type == GgufType::u32, source, ": general.alignment must be a u32");
    TM_CHECK(a->i > 0 && a->i % 8 == 0 && static_cast<std::uint64_t>(a->i) <= kGgufMaxAlignment, source,
             ": general.alignment ", a->i, " (a multiple of 8, at most ", kGgufMaxAlignment, ")");
    f.alignment = static_cast<std::uint64_t>(a->i);
  }

  std::set<std::string> names;
  for (std::uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensor t;
    t.name = r.string(64, "a tensor name");
    const std::string what = "tensor " + quoted(t.name);
    TM_CHECK(names.insert(t.name).second, source, ": ", what, " appears twice");
    const std::uint32_t n_dims = r.read<std::uint32_t>("a tensor's dimension count");
    TM_CHECK(n_dims >= 1 && n_dims <= 4, source, ": ", what, ": ", n_dims, " dimensions (1 to 4)");
    std::uint64_t numel = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const std::uint64_t ne = r.read<std::uint64_t>("a tensor dimension");
      // 2^40 elements is beyond any file this reader could map; below it a product of 4 cannot overflow checks.
      TM_CHECK(ne >= 1 && ne <= (std::uint64_t{1} << 40) && numel <= (std::uint64_t{1} << 40) / ne, source, ": ",
               what, ": dimension ", d, " is ", ne, " (the tensor must have 1 to 2^40 elements)");
      numel *= ne;
      t.ne.push_back(static_cast<std::int64_t>(ne));
    }
    const std::uint32_t id = r.read<std::uint32_t>("a tensor type");
    bool known = false;
    for (const auto& [type, tid] : kTypeIds)
      if (tid == id) {
        t.type = type;
        known = true;
      }
    TM_CHECK(known, source, ": ", what, ": ggml type ", id,
             " is not read here (F32 0, F16 1, Q4_0 2, Q8_0 8, Q4_K 12, Q6_K 14, BF16 30)");
    t.offset = r.read<std::uint64_t>("a tensor offset");
    TM_CHECK(t.offset % f.alignment == 0, source, ": ", what, ": offset ", t.offset, " is not a multiple of the ",
             "alignment ", f.alignment);
    f.tensors.push_back(std::move(t));
  }

  const std::uint64_t data_start = (r.pos() + f.alignment - 1) / f.alignment * f.alignment;
  const std::uint64_t data_size = bytes.size() >= data_start ? bytes.size() - data_start : 0;
  TM_CHECK(f.tensors.empty() || bytes.size() >= data_start, source, ": the file ends before its data section");
  for (GgufTensor& t : f.tensors) {
    const std::string what = "tensor " + quoted(t.name);
    const std::int64_t row = weight_row_bytes(t.type, t.ne[0], source + ": " + what);
    std::uint64_t size = static_cast<std::uint64_t>(row);
    for (std::size_t d = 1; d < t.ne.size(); ++d) size *= static_cast<std::uint64_t>(t.ne[d]);  // < 2^40 · 8: no overflow
    TM_CHECK(t.offset <= data_size && size <= data_size - t.offset, source, ": ", what, ": data [", t.offset, ", ",
             t.offset + size, ") past the end of the data section (", data_size, " bytes)");
    t.bytes = bytes.subspan(static_cast<std::size_t>(data_start + t.offset), static_cast<std::size_t>(size));
  }
  return f;
}

GgufFile read_gguf(const std::string& path) {
  auto mapped = std::make_shared<MappedFile>(path);
  GgufFile f = parse_gguf(mapped->bytes(), path);
  f.keep_alive = mapped;
  return f;
}

namespace {
class Writer {
 public:
  explicit Writer(const ByteSink& sink) : sink_(sink) {}
  template <class T>
  void put(T v) {
    std::byte b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
    bytes(b, sizeof(T));
  }
  void string(const std::string& s) {
    put<std::uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void bytes(const void* p, std::size_t n) {
    sink_(p, n);
    pos_ += n;
  }
  void pad_to(std::uint64_t alignment) {
    static constexpr std::byte kZeros[64] = {};
    while (pos_ % alignment) bytes(kZeros, std::min<std::uint64_t>(sizeof(kZeros), alignment - pos_ % alignment));
  }

 private:
  const ByteSink& sink_;
  std::uint64_t pos_ = 0;
};

void write_scalar(Writer& w, GgufType t, std::int64_t i, double f) {
  switch (t) {
    case GgufType::u8:
    case GgufType::boolean: return w.put(static_cast<std::uint8_t>(i));
    case GgufType::i8: return w.put(static_cast<std::int8_t>(i));
    case GgufType::u16: return w.put(static_cast<std::uint16_t>(i));
    case GgufType::i16: return w.put(static_cast<std::int16_t>(i));
    case GgufType::u32: return w.put(static_cast<std::uint32_t>(i));
    case GgufType::i32: return w.put(static_cast<std::int32_t>(i));
    case GgufType::u64: return w.put(static_cast<std::uint64_t>(i));
    case GgufType::i64: return w.put(i);
    case GgufType::f32: return w.put(static_cast<float>(f));
    case GgufType::f64: return w.put(f);
    case GgufType::string:
    case GgufType::array: break;
  }
  fail("write_gguf: not a scalar type");
}
}  // namespace

void write_gguf(const std::string& path, const std::map<std::string, GgufValue>& metadata,
                const std::vector<GgufTensorOut>& tensors) {
  constexpr std::uint64_t kAlignment = 32;
  std::vector<std::uint64_t> offsets;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    offsets.push_back(offset);
    offset = (offset + t.bytes.size() + kAlignment - 1) / kAlignment * kAlignment;
  }
  write_file_atomic(path, [&](const ByteSink& sink) {
    Writer w(sink);
    w.put(kMagic);
    w.put(std::uint32_t{3});
    w.put(static_cast<std::uint64_t>(tensors.size()));
    w.put(static_cast<std::uint64_t>(metadata.size()));
    for (const auto& [key, v] : metadata) {
      w.string(key);
      w.put(static_cast<std::uint32_t>(v.type));
      if (v.type == GgufType::string) {
        w.string(v.s);
      } else if (v.type == GgufType::array) {
        w.put(static_cast<std::uint32_t>(v.elem));
        if (v.elem == GgufType::string) {
          w.put(static_cast<std::uint64_t>(v.strings.size()));
          for (const auto& s : v.strings) w.string(s);
        } else if (v.elem == GgufType::f32 || v.elem == GgufType::f64) {
          w.put(static_cast<std::uint64_t>(v.floats.size()));
          for (const double x : v.floats) write_scalar(w, v.elem, 0, x);
        } else {
          w.put(static_cast<std::uint64_t>(v.ints.size()));
          for (const std::int64_t x : v.ints) write_scalar(w, v.elem, x, 0);
        }
      } else {
        write_scalar(w, v.type, v.i, v.f);
      }
    }
    for (std::size_t k = 0; k < tensors.size(); ++k) {
      const GgufTensorOut& t = tensors[k];
      w.string(t.name);
      w.put(static_cast<std::uint32_t>(t.ne.size()));
      for (const std::int64_t ne : t.ne) w.put(static_cast<std::uint64_t>(ne));
      w.put(ggml_type_id(t.type));
      w.put(offsets[k]);
    }
    w.pad_to(kAlignment);
    for (const auto& t : tensors) {
      w.bytes(t.bytes.data(), t.bytes.size());
      w.pad_to(kAlignment);
    }
  });
}

}  // namespace tinymamba
