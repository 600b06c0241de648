// A strict reader for the zip archives torch.save writes, working on bytes already in memory (a mapped file).
//
// torch.save stores every entry uncompressed ("stored") with its data 64-byte aligned, so an entry is simply a
// view into the archive: nothing is copied or inflated, and opening costs time in the number of entries, not in
// their size (a mamba-130m-shaped 517 MB checkpoint loads in about 10 ms).
// Nothing read from the archive is trusted. The end-of-central-directory record (and its zip64 twin) must sit at
// the very end; the central directory must fill exactly the bytes between its recorded offset and the end
// records; every entry's local header must lie before the central directory and agree with its central record
// (signature, name, method, sizes), and where the sizes follow the data in a data descriptor (as torch writes
// them), that descriptor must repeat the central record's crc and sizes; finally no entry (header, data,
// descriptor) may overlap the next — so a size field that lies is caught, never followed. Entry names are unique.
// All offsets are 64-bit and checked without overflow; memory use is a small multiple of the directory's size.
//
// Not supported (refused with a clear error): compressed entries (refused when read, so an unrelated compressed
// entry does not stop a load), encryption, archives split over several disks, and bytes prepended to the archive.
// The data's CRC-32 is not recomputed (torch.load does not either): a checksum guards against accidental
// corruption, not against hostile input, and computing it would read every byte of every entry when opening.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tinymamba {

struct ZipEntry {
  std::string_view name;            // as recorded in the central directory (a view into the archive)
  std::uint16_t method = 0;         // compression method: 0 = stored; anything else is refused by read()
  std::span<const std::byte> data;  // the entry's bytes as they sit in the archive
};

class ZipArchive {
 public:
  // Parses and checks the whole directory. Throws Error("<name>: <problem>"). The archive bytes must outlive this
  // object and every view it hands out.
  ZipArchive(std::span<const std::byte> archive, std::string name);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] std::span<const ZipEntry> entries() const { return entries_; }  // in central-directory order
  [[nodiscard]] const ZipEntry* find(std::string_view entry_name) const;        // nullptr if there is none
  // The bytes of a stored entry; throws Error naming the archive if the entry is missing or compressed.
  [[nodiscard]] std::span<const std::byte> read(std::string_view entry_name) const;

 private:
  std::string name_;
  std::vector<ZipEntry> entries_;
  std::map<std::string_view, std::size_t> index_;  // name -> position in entries_
};

}  // namespace tinymamba
