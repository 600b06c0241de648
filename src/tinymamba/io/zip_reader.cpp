#include "tinymamba/io/zip_reader.hpp"

#include <algorithm>
#include <initializer_list>
#include <optional>

#include "tinymamba/core/error.hpp"
#include "tinymamba/io/untrusted.hpp"

namespace tinymamba {
namespace {

// The records this reader looks at (PKWARE APPNOTE.TXT, section 4.3): their signatures and fixed sizes.
constexpr std::uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr std::uint32_t kEndSignature = 0x06054b50;
constexpr std::uint32_t kZip64EndSignature = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr std::uint32_t kDataDescriptorSignature = 0x08074b50;
constexpr std::uint64_t kLocalHeaderSize = 30;
constexpr std::uint64_t kCentralHeaderSize = 46;
constexpr std::uint64_t kEndSize = 22;
constexpr std::uint64_t kZip64LocatorSize = 20;
constexpr std::uint64_t kZip64EndSize = 56;
constexpr std::uint64_t kMaxCommentSize = 0xffff;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
constexpr std::uint32_t kZip64Marker = 0xffffffff;  // "the real value is in the zip64 extra field"
constexpr std::uint16_t kFlagEncrypted = 1u << 0;
constexpr std::uint16_t kFlagDataDescriptor = 1u << 3;  // local header sizes are zero; a descriptor follows the data

std::uint16_t u16(const std::byte* p) { return load_le<std::uint16_t>(p); }
std::uint32_t u32(const std::byte* p) { return load_le<std::uint32_t>(p); }
std::uint64_t u64(const std::byte* p) { return load_le<std::uint64_t>(p); }

std::string_view text_at(const std::byte* p, std::uint64_t size) {
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(size)};
}

// Where the central directory is, according to the end records.
struct Directory {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t count = 0;
};

// One entry as its central directory record describes it (zip64 values already substituted).
struct CentralRecord {
  std::string_view name;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t local_header_offset = 0;
};

// Finds the end-of-central-directory record (the last 22 bytes, plus a comment of up to 64 KiB) and, if the
// zip64 locator sits right before it, the zip64 end record; returns where they say the directory is. The directory
// must end exactly where the end records begin: that is how every writer lays them out, and it rules out bytes
// prepended to the archive, which would shift every offset.
Directory find_directory(std::span<const std::byte> a, const std::string& name) {
  TM_CHECK(a.size() >= kEndSize, name, ": not a zip archive (", a.size(), " bytes is too short)");
  const std::uint64_t last = a.size() - kEndSize;
  const std::uint64_t first = last > kMaxCommentSize ? last - kMaxCommentSize : 0;
  std::optional<std::uint64_t> end;
  for (std::uint64_t pos = last + 1; pos-- > first;) {
    const std::byte* p = a.data() + pos;
    if (u32(p) == kEndSignature && pos + kEndSize + u16(p + 20) == a.size()) {
      end = pos;
      break;
    }
  }
  TM_CHECK(end.has_value(), name, ": not a zip archive (no end-of-central-directory record)");
  const std::byte* e = a.data() + *end;
  TM_CHECK(u16(e + 4) == 0 && u16(e + 6) == 0 && u16(e + 8) == u16(e + 10), name,
           ": archives split over several disks are not supported");
  Directory dir{.offset = u32(e + 16), .size = u32(e + 12), .count = u16(e + 10)};
  std::uint64_t directory_end = *end;

  if (*end >= kZip64LocatorSize && u32(e - kZip64LocatorSize) == kZip64LocatorSignature) {
    const std::uint64_t locator = *end - kZip64LocatorSize;
    const std::byte* l = a.data() + locator;
    const std::uint64_t record = u64(l + 8);
    TM_CHECK(u32(l + 4) == 0 && u32(l + 16) <= 1, name, ": archives split over several disks are not supported");
    TM_CHECK(record <= locator && locator - record >= kZip64EndSize, name, ": the zip64 end record offset ", record,
             " does not leave room for the record before its locator (offset ", locator, ")");
    const std::byte* z = a.data() + record;
    TM_CHECK(u32(z) == kZip64EndSignature, name, ": no zip64 end record at offset ", record);
    TM_CHECK(u64(z + 4) == locator - record - 12, name, ": the zip64 end record's size field (", u64(z + 4),
             ") does not reach its locator");
    TM_CHECK(u32(z + 16) == 0 && u32(z + 20) == 0 && u64(z + 24) == u64(z + 32), name,
             ": archives split over several disks are not supported");
    dir = {.offset = u64(z + 48), .size = u64(z + 40), .count = u64(z + 32)};
    directory_end = record;
  }
  TM_CHECK(dir.offset <= directory_end && dir.size == directory_end - dir.offset, name, ": the central directory (",
           dir.size, " bytes at offset ", dir.offset, ") does not end where the end records begin (offset ",
           directory_end, ")");
  TM_CHECK(dir.count <= dir.size / kCentralHeaderSize, name, ": the end record claims ", dir.count,
           " entries but the central directory has room for at most ", dir.size / kCentralHeaderSize);
  return dir;
}

// Replaces each field that holds the zip64 marker by its 64-bit value from the zip64 extra field, which lists
// exactly the marked fields, in the order they are given here (APPNOTE 4.5.3). Other extra fields (torch's "FB"
// alignment padding, timestamps) are skipped.
void apply_zip64_extra(std::span<const std::byte> extra, std::initializer_list<std::uint64_t*> fields,
                       const std::string& what) {
  std::uint64_t needed = 0;
  for (const std::uint64_t* f : fields) needed += *f == kZip64Marker ? 8 : 0;
  if (needed == 0) return;
  while (extra.size() >= 4) {
    const std::uint16_t id = u16(extra.data());
    const std::uint16_t size = u16(extra.data() + 2);
    if (size > extra.size() - 4) break;
    if (id == kZip64ExtraId) {
      TM_CHECK(size >= needed, what, ": its zip64 extra field holds ", size, " bytes, ", needed, " are needed");
      const std::byte* p = extra.data() + 4;
      for (std::uint64_t* f : fields) {
        if (*f != kZip64Marker) continue;
        *f = u64(p);
        p += 8;
      }
      return;
    }
    extra = extra.subspan(4 + std::size_t{size});
  }
  fail(what, ": records a size or offset of 0xffffffff but has no zip64 extra field");
}

std::vector<CentralRecord> read_central_directory(std::span<const std::byte> a, const Directory& dir,
                                                  const std::string& name) {
  std::vector<CentralRecord> records;
  records.reserve(dir.count);  // bounded by the directory's size (checked by find_directory)
  std::uint64_t pos = dir.offset;
  const std::uint64_t end = dir.offset + dir.size;
  for (std::uint64_t i = 0; i < dir.count; ++i) {
    TM_CHECK(end - pos >= kCentralHeaderSize, name, ": central directory entry ", i, " is truncated");
    const std::byte* h = a.data() + pos;
    TM_CHECK(u32(h) == kCentralHeaderSignature, name, ": central directory entry ", i, " has a bad signature");
    const std::uint64_t name_size = u16(h + 28);
    const std::uint64_t extra_size = u16(h + 30);
    const std::uint64_t comment_size = u16(h + 32);
    TM_CHECK(end - pos - kCentralHeaderSize >= name_size + extra_size + comment_size, name,
             ": central directory entry ", i, " runs past the end of the directory");
    CentralRecord r{.name = text_at(h + kCentralHeaderSize, name_size),
                    .method = u16(h + 10),
                    .crc = u32(h + 16),
                    .compressed_size = u32(h + 20),
                    .uncompressed_size = u32(h + 24),
                    .local_header_offset = u32(h + 42)};
    const std::string what = name + ": zip entry " + quoted(r.name);
    apply_zip64_extra({h + kCentralHeaderSize + name_size, static_cast<std::size_t>(extra_size)},
                      {&r.uncompressed_size, &r.compressed_size, &r.local_header_offset}, what);
    TM_CHECK(u16(h + 34) == 0, what, ": archives split over several disks are not supported");
    TM_CHECK((u16(h + 8) & kFlagEncrypted) == 0, what, " is encrypted");
    records.push_back(r);
    pos += kCentralHeaderSize + name_size + extra_size + comment_size;
  }
  TM_CHECK(pos == end, name, ": ", end - pos, " bytes of the central directory follow its last entry");
  return records;
}

// A data descriptor (after the data when flag bit 3 is set) is [signature] crc-32, compressed size, uncompressed
// size, the sizes 4 bytes each or 8 in zip64 entries. It must repeat the central record, which pins down where
// the entry really ends. Returns the descriptor's size, or nothing if the bytes at `at` are not a matching one.
std::optional<std::uint64_t> match_descriptor(std::span<const std::byte> a, std::uint64_t at, std::uint64_t limit,
                                              const CentralRecord& r) {
  for (const std::uint64_t signature : {4u, 0u}) {
    if (signature != 0 && (limit - at < 4 || u32(a.data() + at) != kDataDescriptorSignature)) continue;
    const std::uint64_t room = limit - at - signature;
    const std::byte* p = a.data() + at + signature;
    if (room >= 12 && u32(p) == r.crc && u32(p + 4) == r.compressed_size && u32(p + 8) == r.uncompressed_size)
      return signature + 12;
    if (room >= 20 && u32(p) == r.crc && u64(p + 4) == r.compressed_size && u64(p + 12) == r.uncompressed_size)
      return signature + 20;
  }
  return std::nullopt;
}

// Where an entry's data is, and where the entry (header, data, descriptor) ends.
struct Located {
  ZipEntry entry;
  std::uint64_t end = 0;
};

// Checks the entry's local header (and data descriptor) against its central record. Entries live before the
// central directory, so nothing may reach past `directory_offset`.
Located locate_data(std::span<const std::byte> a, const CentralRecord& r, std::uint64_t directory_offset,
                    const std::string& what) {
  const std::uint64_t at = r.local_header_offset;
  TM_CHECK(at <= directory_offset && directory_offset - at >= kLocalHeaderSize, what, ": its local header offset ",
           at, " is not before the central directory (offset ", directory_offset, ")");
  const std::byte* h = a.data() + at;
  TM_CHECK(u32(h) == kLocalHeaderSignature, what, ": no local header at offset ", at);
  const std::uint64_t name_size = u16(h + 26);
  const std::uint64_t extra_size = u16(h + 28);
  TM_CHECK(directory_offset - at - kLocalHeaderSize >= name_size + extra_size, what,
           ": its local header runs into the central directory");
  const std::string_view local_name = text_at(h + kLocalHeaderSize, name_size);
  TM_CHECK(local_name == r.name, what, ": its local header names it ", quoted(local_name));
  TM_CHECK(u16(h + 8) == r.method, what, ": its local header says compression method ", u16(h + 8),
           ", the central directory says ", r.method);
  const std::uint64_t data_offset = at + kLocalHeaderSize + name_size + extra_size;
  TM_CHECK(r.compressed_size <= directory_offset - data_offset, what, ": its ", r.compressed_size,
           " bytes at offset ", data_offset, " run past the start of the central directory (offset ",
           directory_offset, ")");
  std::uint64_t end = data_offset + r.compressed_size;
  if ((u16(h + 6) & kFlagDataDescriptor) != 0) {
    const auto descriptor = match_descriptor(a, end, directory_offset, r);
    TM_CHECK(descriptor.has_value(), what, ": no data descriptor repeating its crc and sizes (", r.compressed_size,
             " bytes) follows its data at offset ", end);
    end += *descriptor;
  } else {  // the local header repeats the sizes, and they must agree
    std::uint64_t uncompressed = u32(h + 22);
    std::uint64_t compressed = u32(h + 18);
    apply_zip64_extra({h + kLocalHeaderSize + name_size, static_cast<std::size_t>(extra_size)},
                      {&uncompressed, &compressed}, what);
    TM_CHECK(compressed == r.compressed_size && uncompressed == r.uncompressed_size, what,
             ": its local header records ", compressed, " bytes (", uncompressed,
             " uncompressed), the central directory ", r.compressed_size, " (", r.uncompressed_size, ")");
  }
  TM_CHECK(r.method != 0 || r.compressed_size == r.uncompressed_size, what, ": stored entry records ",
           r.compressed_size, " bytes but ", r.uncompressed_size, " uncompressed");
  const ZipEntry entry{
      .name = r.name, .method = r.method,
      .data = a.subspan(static_cast<std::size_t>(data_offset), static_cast<std::size_t>(r.compressed_size))};
  return {.entry = entry, .end = end};
}

}  // namespace

ZipArchive::ZipArchive(std::span<const std::byte> archive, std::string name) : name_(std::move(name)) {
  const Directory dir = find_directory(archive, name_);
  const std::vector<CentralRecord> records = read_central_directory(archive, dir, name_);

  // Each entry occupies [local header, end of data or descriptor); sorted by start, these must not overlap. A size
  // field that claims more than the entry holds would run into the next local header, and is caught here.
  struct Extent {
    std::uint64_t begin, end;
    std::size_t entry;
  };
  std::vector<Extent> extents;
  extents.reserve(records.size());
  entries_.reserve(records.size());
  for (const CentralRecord& r : records) {
    const std::string what = name_ + ": zip entry " + quoted(r.name);
    const Located located = locate_data(archive, r, dir.offset, what);
    entries_.push_back(located.entry);
    extents.push_back({r.local_header_offset, located.end, entries_.size() - 1});
    TM_CHECK(index_.emplace(r.name, entries_.size() - 1).second, what, " appears twice");
  }
  std::sort(extents.begin(), extents.end(), [](const Extent& x, const Extent& y) { return x.begin < y.begin; });
  for (std::size_t i = 1; i < extents.size(); ++i) {
    const Extent& prev = extents[i - 1];
    const Extent& next = extents[i];
    TM_CHECK(prev.end <= next.begin, name_, ": zip entry ", quoted(entries_[prev.entry].name), " (ending at offset ",
             prev.end, ") overlaps zip entry ", quoted(entries_[next.entry].name), " (starting at offset ",
             next.begin, ")");
  }
}

const ZipEntry* ZipArchive::find(std::string_view entry_name) const {
  const auto it = index_.find(entry_name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::span<const std::byte> ZipArchive::read(std::string_view entry_name) const {
  const ZipEntry* entry = find(entry_name);
  TM_CHECK(entry != nullptr, name_, ": the archive has no entry ", quoted(entry_name));
  TM_CHECK(entry->method == 0, name_, ": zip entry ", quoted(entry_name), " is compressed (method ", entry->method,
           "); torch.save stores entries uncompressed, so re-save the file with torch.save");
  return entry->data;
}

}  // namespace tinymamba
