// The strict zip reader (io/zip_reader.hpp): stored entries as views in every layout torch and others write, and
// every lie an archive can tell about sizes and offsets caught with a one-line Error naming the archive.
#include "tinymamba/io/zip_reader.hpp"

#include <gtest/gtest.h>

#include <random>

#include "torch_bin_builders.hpp"

namespace tinymamba {
namespace {

using test::build_zip;
using test::le;
using test::throws_error;
using test::ZipEntrySpec;
using test::ZipOptions;

const std::string kName = "test.zip";

const std::vector<ZipEntrySpec> kEntries = {
    {.name = "archive/data.pkl", .data = "pickle bytes"},
    {.name = "archive/data/0", .data = std::string(300, 'a')},
    {.name = "archive/version", .data = "3\n"},
};

::testing::AssertionResult refused(const std::string& archive, const std::string& part) {
  return throws_error([&] { ZipArchive zip(test::as_bytes(archive), kName); }, {kName + ": ", part});
}

// Overwrites `bytes` little-endian bytes at `at`.
void patch(std::string& s, std::size_t at, std::uint64_t value, int bytes) { s.replace(at, bytes, le(value, bytes)); }

// Offset of the n-th (0-based) occurrence of a record signature.
std::size_t find_record(const std::string& s, std::uint32_t signature, int n = 0) {
  std::size_t at = s.find(le(signature, 4));
  for (int i = 0; i < n && at != std::string::npos; ++i) at = s.find(le(signature, 4), at + 1);
  EXPECT_NE(at, std::string::npos);
  return at;
}
constexpr std::uint32_t kCentral = 0x02014b50;
constexpr std::uint32_t kLocal = 0x04034b50;

TEST(ZipReader, ReadsStoredEntriesInEveryLayout) {
  for (const bool zip64 : {false, true}) {
    for (const bool descriptor : {true, false}) {
      const std::string archive = build_zip(kEntries, {.zip64 = zip64, .data_descriptor = descriptor});
      const ZipArchive zip(test::as_bytes(archive), kName);
      ASSERT_EQ(zip.entries().size(), kEntries.size());
      for (const ZipEntrySpec& e : kEntries) {
        const auto data = zip.read(e.name);
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(data.data()), data.size()), e.data) << e.name;
        EXPECT_EQ((data.data() - test::as_bytes(archive).data()) % 64, 0) << "aligned as torch aligns";
      }
      EXPECT_EQ(zip.entries()[1].name, "archive/data/0");
      EXPECT_EQ(zip.find("archive/missing"), nullptr);
      EXPECT_TRUE(throws_error([&] { (void)zip.read("archive/missing"); },
                               {kName + ": the archive has no entry 'archive/missing'"}));
    }
  }
}

TEST(ZipReader, ReadsAnArchiveWithACommentAndEmptyEntries) {
  std::string archive = build_zip({{.name = "a/empty", .data = ""}, {.name = "a/x", .data = "x"}});
  patch(archive, archive.size() - 2, 7, 2);
  archive += "comment";
  const ZipArchive zip(test::as_bytes(archive), kName);
  EXPECT_EQ(zip.read("a/empty").size(), 0u);
  EXPECT_EQ(zip.read("a/x").size(), 1u);
  const ZipArchive empty(test::as_bytes(build_zip({})), kName);
  EXPECT_TRUE(empty.entries().empty());
}

TEST(ZipReader, RefusesCompressedEntriesOnlyWhenRead) {
  const std::string archive = build_zip({{.name = "a/deflated", .data = "zz", .method = 8}, {.name = "a/b", .data = "b"}});
  const ZipArchive zip(test::as_bytes(archive), kName);
  EXPECT_EQ(zip.read("a/b").size(), 1u);
  EXPECT_TRUE(throws_error([&] { (void)zip.read("a/deflated"); },
                           {kName + ": zip entry 'a/deflated' is compressed (method 8)"}));
}

TEST(ZipReader, RefusesWhatIsNotAZip) {
  EXPECT_TRUE(refused("", "not a zip archive (0 bytes is too short)"));
  EXPECT_TRUE(refused(std::string(21, 'P'), "not a zip archive (21 bytes is too short)"));
  EXPECT_TRUE(refused(std::string(5000, '\0'), "not a zip archive (no end-of-central-directory record)"));
  std::mt19937 rng(7);
  std::string noise(100000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  EXPECT_TRUE(refused(noise, "not a zip archive"));
}

TEST(ZipReader, RefusesEveryTruncation) {
  for (const bool zip64 : {false, true}) {
    const std::string archive = build_zip(kEntries, {.zip64 = zip64});
    for (std::size_t cut = 0; cut < archive.size(); ++cut)
      EXPECT_TRUE(throws_error([&] { ZipArchive zip(test::as_bytes(archive.substr(0, cut)), kName); }, {kName + ": "}))
          << "zip64 " << zip64 << " cut at " << cut;
  }
}

TEST(ZipReader, CatchesSizesThatLie) {
  const auto with = [](std::size_t entry, auto change, ZipOptions options = {}) {
    std::vector<ZipEntrySpec> entries = kEntries;
    change(entries[entry]);
    return build_zip(entries, options);
  };
  // Far more than the file holds (zip64 lets a size say 1 TiB).
  EXPECT_TRUE(refused(with(1, [](ZipEntrySpec& e) { e.central_size = 1ull << 40; }, {.zip64 = true}),
                      "zip entry 'archive/data/0': its 1099511627776 bytes at offset 192 run past the start of the "
                      "central directory"));
  // A little more or less than the entry holds: the data descriptor no longer repeats the size.
  EXPECT_TRUE(refused(with(1, [](ZipEntrySpec& e) { e.central_size = 301; }),
                      "zip entry 'archive/data/0': no data descriptor repeating its crc and sizes (301 bytes)"));
  EXPECT_TRUE(refused(with(1, [](ZipEntrySpec& e) { e.central_size = 299; }, {.zip64 = true}),
                      "no data descriptor repeating its crc and sizes (299 bytes)"));
  // Without a descriptor the local header repeats the sizes...
  EXPECT_TRUE(refused(with(1, [](ZipEntrySpec& e) { e.central_size = 310; }, {.data_descriptor = false}),
                      "its local header records 300 bytes (300 uncompressed), the central directory 310 (310)"));
  // ... and if both lie alike, the entry runs into the next one.
  EXPECT_TRUE(refused(with(0, [](ZipEntrySpec& e) { e.central_size = e.local_size = 200; }, {.data_descriptor = false}),
                      "zip entry 'archive/data.pkl' (ending at offset 264) overlaps zip entry 'archive/data/0' "
                      "(starting at offset 76)"));
  EXPECT_TRUE(refused(with(0, [](ZipEntrySpec& e) { e.local_name = "archive/other.pkl"; }),
                      "zip entry 'archive/data.pkl': its local header names it 'archive/other.pkl'"));
}

TEST(ZipReader, CatchesDirectoriesThatLie) {
  const std::string good = build_zip(kEntries);
  const std::size_t end = good.size() - 22;
  std::string more = good;
  patch(more, end + 8, 4, 2);
  patch(more, end + 10, 4, 2);
  EXPECT_TRUE(refused(more, "the end record claims 4 entries but the central directory has room for at most 3"));
  std::string fewer = good;
  patch(fewer, end + 8, 2, 2);
  patch(fewer, end + 10, 2, 2);
  EXPECT_TRUE(refused(fewer, "bytes of the central directory follow its last entry"));
  std::string absurd = good;
  patch(absurd, end + 8, 60000, 2);
  patch(absurd, end + 10, 60000, 2);
  EXPECT_TRUE(refused(absurd, "the end record claims 60000 entries but the central directory has room for at most 3"));
  std::string moved = good;
  patch(moved, end + 16, find_record(good, kCentral) + 1, 4);
  EXPECT_TRUE(refused(moved, "does not end where the end records begin"));
  EXPECT_TRUE(refused("junk" + good, "does not end where the end records begin"));
  std::string disks = good;
  patch(disks, end + 4, 1, 2);
  EXPECT_TRUE(refused(disks, "archives split over several disks are not supported"));

  std::string encrypted = good;
  patch(encrypted, find_record(good, kCentral, 1) + 8, 0x0809, 2);
  EXPECT_TRUE(refused(encrypted, "zip entry 'archive/data/0' is encrypted"));
  std::string far = good;
  patch(far, find_record(good, kCentral, 2) + 42, 0x7ffffff0, 4);
  EXPECT_TRUE(refused(far, "zip entry 'archive/version': its local header offset 2147483632 is not before"));
  std::string shared = good;  // two central records, one local header
  patch(shared, find_record(good, kCentral, 1) + 42, find_record(good, kLocal, 0), 4);
  EXPECT_TRUE(refused(shared, "zip entry 'archive/data/0': its local header names it 'archive/data.pkl'"));
  std::string bad_local = good;
  patch(bad_local, find_record(good, kLocal, 1), 0x12345678, 4);
  EXPECT_TRUE(refused(bad_local, "zip entry 'archive/data/0': no local header at offset 92"));

  EXPECT_TRUE(refused(build_zip({{.name = "a/x", .data = "1"}, {.name = "a/x", .data = "2"}}),
                      "zip entry 'a/x' appears twice"));
}

TEST(ZipReader, CatchesZip64RecordsThatLie) {
  const std::string good = build_zip(kEntries, {.zip64 = true});
  const std::size_t locator = good.size() - 22 - 20;
  const std::size_t record = locator - 56;
  std::string past = good;
  patch(past, locator + 8, good.size() * 2, 8);
  EXPECT_TRUE(refused(past, "does not leave room for the record before its locator"));
  std::string size = good;
  patch(size, record + 4, 1ull << 62, 8);
  EXPECT_TRUE(refused(size, "the zip64 end record's size field (4611686018427387904) does not reach its locator"));
  std::string count = good;
  patch(count, record + 24, 1ull << 60, 8);
  patch(count, record + 32, 1ull << 60, 8);
  EXPECT_TRUE(refused(count, "the end record claims 1152921504606846976 entries"));
  std::string offset = good;
  patch(offset, record + 48, ~0ull, 8);
  EXPECT_TRUE(refused(offset, "does not end where the end records begin"));
  std::string no_extra = good;  // a central size of 0xffffffff must come with a zip64 extra field
  const std::size_t central = find_record(good, kCentral, 0);
  patch(no_extra, central + 46 + std::string("archive/data.pkl").size(), 0x4242, 2);
  EXPECT_TRUE(refused(no_extra, "records a size or offset of 0xffffffff but has no zip64 extra field"));
}

// Random byte flips in a valid archive: each result is an archive or an Error, never anything else.
TEST(ZipReader, SurvivesRandomCorruption) {
  const unsigned seed = 99;
  std::mt19937 rng(seed);
  for (const bool zip64 : {false, true}) {
    const std::string good = build_zip(kEntries, {.zip64 = zip64});
    for (int trial = 0; trial < 2000; ++trial) {
      std::string bytes = good;
      for (int f = 0; f < 3; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
      try {
        ZipArchive zip(test::as_bytes(bytes), kName);
        for (const ZipEntry& e : zip.entries()) ASSERT_LE(e.data.data() + e.data.size(), test::as_bytes(bytes).data() + bytes.size());
      } catch (const Error& e) {
        ASSERT_EQ(std::string(e.what()).rfind(kName + ": ", 0), 0u) << "seed " << seed << " trial " << trial;
      }
    }
  }
}

}  // namespace
}  // namespace tinymamba
