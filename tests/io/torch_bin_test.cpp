// Loading torch.save archives (io/torch_bin.hpp): the official goldens must equal the Hugging Face safetensors
// bit for bit (and the fp16/bf16 ones its rounding), views of every shape must come out row-major, and hostile
// archives — truncated, lying, reaching past their storages, asking for code — must each fail with one line
// naming the file.
#include "tinymamba/io/torch_bin.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "test_paths.hpp"
#include "tinymamba/core/dtype.hpp"
#include "tinymamba/io/safetensors.hpp"
#include "torch_bin_builders.hpp"

namespace tinymamba {
namespace {

using test::PickleWriter;
using test::TensorSpec;
using test::throws_error;

const std::string kName = "test.bin";

TensorMap load(const std::string& archive) { return parse_torch_bin(test::as_bytes(archive), kName); }

::testing::AssertionResult refused(const std::string& archive, const std::string& part) {
  return throws_error([&] { (void)load(archive); }, {kName + ": ", part});
}

// A torch.save archive of `tensors` over float storages "0" (12 values 0..11) and "1" (4 values 100..103).
std::string archive_of(const std::vector<TensorSpec>& tensors, test::TorchArchiveSpec spec = {}) {
  spec.pickle = test::state_dict_pickle(tensors);
  if (spec.storages.empty())
    spec.storages = {{"0", test::f32_bytes({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})},
                     {"1", test::f32_bytes({100, 101, 102, 103})}};
  return test::torch_archive(spec);
}

std::vector<float> values(const RawTensor& t) { return to_f32(t, "t"); }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::filesystem::path tiny_mamba() { return test::golden_dir() / "tiny-mamba"; }

// The official state_dict names the embedding `backbone.embedding.weight`; transformers says `embeddings`.
std::string official_name(std::string hf_name) {
  const std::string hf_prefix = "backbone.embeddings.";
  if (hf_name.rfind(hf_prefix, 0) == 0) hf_name.replace(0, hf_prefix.size(), "backbone.embedding.");
  return hf_name;
}

bool kept_in_f32(const std::string& name) {  // the official fp16/bf16 modules keep A_log and D in float32
  return name.ends_with(".A_log") || name.ends_with(".D");
}

// Loads official<suffix>/pytorch_model.bin and compares every tensor with the fp32 safetensors: equal bytes where
// the checkpoint is float32, else equal to `round` of the float32 value (2-byte dtypes).
void expect_checkpoint_matches(const std::string& folder, DType low, std::uint16_t (*round)(float)) {
  const TensorMap bin = read_torch_bin(tiny_mamba() / folder / "pytorch_model.bin");
  const SafetensorsFile hf = read_safetensors(tiny_mamba() / "hf" / "model.safetensors");
  EXPECT_EQ(bin.size(), hf.tensors.size() + 1) << "the .bin also holds lm_head.weight";
  for (const auto& [hf_name, want] : hf.tensors) {
    const std::string name = official_name(hf_name);
    ASSERT_TRUE(bin.contains(name)) << name;
    const RawTensor& got = bin.at(name);
    EXPECT_EQ(got.shape, want.shape) << name;
    if (low == DType::F32 || kept_in_f32(name)) {
      EXPECT_EQ(got.dtype, DType::F32) << name;
      ASSERT_EQ(got.bytes.size(), want.bytes.size()) << name;
      EXPECT_EQ(std::memcmp(got.bytes.data(), want.bytes.data(), got.bytes.size()), 0) << name;
      continue;
    }
    EXPECT_EQ(got.dtype, low) << name;
    const std::vector<float> reference = to_f32(want, name);
    ASSERT_EQ(got.bytes.size(), reference.size() * 2) << name;
    std::size_t mismatches = 0, first = 0;
    for (std::size_t i = 0; i < reference.size(); ++i) {
      std::uint16_t bits;
      std::memcpy(&bits, got.bytes.data() + 2 * i, 2);
      if (bits != round(reference[i]) && mismatches++ == 0) first = i;
    }
    EXPECT_EQ(mismatches, 0u) << name << ": first mismatch at " << first << " (fp32 " << reference[first] << ")";
  }
  const RawTensor& head = bin.at("lm_head.weight");
  const RawTensor& embedding = bin.at("backbone.embedding.weight");
  EXPECT_EQ(head.shape, embedding.shape);
  EXPECT_EQ(head.bytes.data(), embedding.bytes.data()) << "tied: one storage, shared, not copied";
}

TEST(TorchBin, OfficialFp32CheckpointEqualsTheSafetensors) {
  expect_checkpoint_matches("official", DType::F32, nullptr);
}

TEST(TorchBin, OfficialFp16CheckpointIsTheRoundedFp32KeepingALogAndDInFloat32) {
  expect_checkpoint_matches("official-fp16", DType::F16, f32_to_f16);
}

TEST(TorchBin, OfficialBf16CheckpointIsTheRoundedFp32KeepingALogAndDInFloat32) {
  expect_checkpoint_matches("official-bf16", DType::BF16, f32_to_bf16);
}

TEST(TorchBin, MissingFileNamesThePath) {
  const auto dir = test::temp_dir("torch-bin-missing");
  const std::string path = (dir / "nope.bin").string();
  EXPECT_TRUE(throws_error([&] { (void)read_torch_bin(path); }, {path}));
  std::filesystem::remove_all(dir);
}

TEST(TorchBin, ReturnsViewsAndRowMajorCopiesOfEveryKindOfView) {
  const std::string archive = archive_of({
      {.name = "row", .size = {4}, .stride = {1}, .storage_numel = 12, .offset = 4},
      {.name = "transposed", .size = {4, 3}, .stride = {1, 4}, .storage_numel = 12},
      {.name = "column", .size = {3}, .stride = {4}, .storage_numel = 12, .offset = 1},
      {.name = "broadcast", .size = {2, 3}, .stride = {0, 1}, .storage_numel = 12},
      {.name = "scalar", .size = {}, .stride = {}, .storage_numel = 12, .offset = 7},
      {.name = "empty", .size = {0, 5}, .stride = {5, 1}, .storage_numel = 12, .offset = 12},
      {.name = "unit_dims", .size = {2, 1, 3}, .stride = {3, 999, 1}, .storage_numel = 12, .offset = 5},
      {.name = "other", .size = {2, 2}, .stride = {2, 1}, .storage_numel = 4, .storage_key = "1"},
  });
  const TensorMap map = load(archive);
  ASSERT_EQ(map.size(), 8u);
  EXPECT_EQ(values(map.at("row")), std::vector<float>({4, 5, 6, 7}));
  EXPECT_EQ(map.at("transposed").shape, Shape({4, 3}));
  EXPECT_EQ(values(map.at("transposed")), std::vector<float>({0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(values(map.at("column")), std::vector<float>({1, 5, 9}));
  EXPECT_EQ(values(map.at("broadcast")), std::vector<float>({0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(map.at("scalar").shape, Shape{});
  EXPECT_EQ(values(map.at("scalar")), std::vector<float>({7}));
  EXPECT_EQ(map.at("empty").bytes.size(), 0u);
  EXPECT_EQ(values(map.at("unit_dims")), std::vector<float>({5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(values(map.at("other")), std::vector<float>({100, 101, 102, 103}));

  // Row-major views point into the archive (zero copy); strided ones own a copy.
  const auto inside = [&](const RawTensor& t) {
    const auto* begin = test::as_bytes(archive).data();
    return t.bytes.data() >= begin && t.bytes.data() < begin + archive.size();
  };
  EXPECT_TRUE(inside(map.at("row")));
  EXPECT_TRUE(inside(map.at("unit_dims")));
  EXPECT_TRUE(inside(map.at("scalar")));
  EXPECT_FALSE(inside(map.at("transposed")));
  EXPECT_NE(map.at("transposed").keep_alive, nullptr);
}

TEST(TorchBin, KeepsEachStorageDType) {
  test::TorchArchiveSpec spec;
  spec.storages = {{"h", test::le(0x3c00, 2) + test::le(0xc000, 2)},  // half 1, -2
                   {"b", test::le(0x3f80, 2) + test::le(0x4040, 2)},  // bfloat16 1, 3
                   {"l", test::le(static_cast<std::uint64_t>(-5), 8)},
                   {"z", std::string("\x01\x00\x01", 3)}};
  const std::string archive = archive_of({
      {.name = "half", .size = {2}, .stride = {1}, .storage_numel = 2, .storage_key = "h", .storage_type = "HalfStorage"},
      {.name = "bf16", .size = {2}, .stride = {1}, .storage_numel = 2, .storage_key = "b",
       .storage_type = "BFloat16Storage"},
      {.name = "long", .size = {1}, .stride = {1}, .storage_numel = 1, .storage_key = "l", .storage_type = "LongStorage"},
      {.name = "bool", .size = {3}, .stride = {1}, .storage_numel = 3, .storage_key = "z", .storage_type = "BoolStorage"},
  }, spec);
  const TensorMap map = load(archive);
  EXPECT_EQ(map.at("half").dtype, DType::F16);
  EXPECT_EQ(values(map.at("half")), std::vector<float>({1, -2}));
  EXPECT_EQ(map.at("bf16").dtype, DType::BF16);
  EXPECT_EQ(values(map.at("bf16")), std::vector<float>({1, 3}));
  EXPECT_EQ(map.at("long").dtype, DType::I64);
  EXPECT_EQ(to_i64(map.at("long"), "long"), std::vector<std::int64_t>({-5}));
  EXPECT_EQ(map.at("bool").dtype, DType::BOOL);
  EXPECT_EQ(map.at("bool").bytes.size(), 3u);
}

TEST(TorchBin, AcceptsAnyTopFolderAndEveryWriterLayout) {
  const std::vector<TensorSpec> tensors = {{.name = "w", .size = {2, 2}, .stride = {2, 1}, .storage_numel = 4,
                                            .storage_key = "1"}};
  for (const std::string top : {"archive", "pytorch_model", "weird name-1.2"}) {
    for (const bool zip64 : {false, true}) {
      for (const bool descriptor : {false, true}) {
        const std::string archive = archive_of(tensors, {.top = top, .zip = {.zip64 = zip64, .data_descriptor = descriptor}});
        EXPECT_EQ(values(load(archive).at("w")), std::vector<float>({100, 101, 102, 103})) << top;
      }
    }
  }
  // Older torch wrote no byteorder; newer torch writes the version to .data/version.
  EXPECT_NO_THROW((void)load(archive_of(tensors, {.byteorder = std::nullopt})));
  const std::string dot_data = test::build_zip({{.name = "m/data.pkl", .data = test::state_dict_pickle(tensors)},
                                                {.name = "m/data/1", .data = test::f32_bytes({1, 2, 3, 4})},
                                                {.name = "m/.data/version", .data = "10\n"}});
  EXPECT_EQ(values(load(dot_data).at("w")), std::vector<float>({1, 2, 3, 4}));
}

TEST(TorchBin, RefusesArchivesThatAreNotTorchSaveZips) {
  const std::vector<TensorSpec> tensors = {{.name = "w", .size = {1}, .stride = {1}, .storage_numel = 4, .storage_key = "1"}};
  std::string legacy = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";
  EXPECT_TRUE(refused(legacy, "this is the legacy torch.save format (PyTorch < 1.6)"));
  EXPECT_TRUE(refused("", "not a zip archive"));
  EXPECT_TRUE(refused(test::build_zip({}), "the archive is empty"));
  EXPECT_TRUE(refused(test::build_zip({{.name = "data.pkl", .data = ""}}), "its first entry 'data.pkl' is not in a folder"));
  EXPECT_TRUE(refused(test::build_zip({{.name = "a/version", .data = "3"}}), "the archive has no entry 'a/data.pkl'"));
  EXPECT_TRUE(refused(archive_of(tensors, {.version = std::nullopt}), "the archive has no entry 'archive/version'"));
  EXPECT_TRUE(refused(archive_of(tensors, {.version = "11\n"}),
                      "'archive/version' holds '11\\x0a'; torch.save format versions 1 to 10 are supported"));
  EXPECT_TRUE(refused(archive_of(tensors, {.version = "three"}), "'archive/version' holds 'three'"));
  EXPECT_TRUE(refused(archive_of(tensors, {.version = "0"}), "'archive/version' holds '0'"));
  EXPECT_NO_THROW((void)load(archive_of(tensors, {.version = "10"})));
  EXPECT_TRUE(refused(archive_of(tensors, {.byteorder = "big"}), "the tensors are stored big-endian, which is not supported"));
  EXPECT_TRUE(refused(archive_of(tensors, {.byteorder = "middle"}), "'archive/byteorder' holds 'middle', not 'little'"));
  EXPECT_TRUE(refused(test::build_zip({{.name = "a/data.pkl", .data = "x", .method = 8}, {.name = "a/version", .data = "3"}}),
                      "zip entry 'a/data.pkl' is compressed (method 8)"));
}

TEST(TorchBin, RefusesForbiddenCodeInsideAnArchive) {
  PickleWriter w;
  w.proto(2).global("subprocess", "Popen").mark().str("sh").tuple().reduce().stop();
  EXPECT_TRUE(throws_error([&] { (void)load(test::torch_archive({.pickle = w.bytes()})); },
                           {"test.bin: archive/data.pkl: forbidden global 'subprocess.Popen'", "(at byte 2)"}));
  PickleWriter deep;
  deep.proto(2).empty_tuple();
  for (int i = 0; i < 100000; ++i) deep.op(0x85);
  EXPECT_TRUE(refused(test::torch_archive({.pickle = deep.stop().bytes()}), "archive/data.pkl: values are nested deeper"));
  EXPECT_TRUE(refused(archive_of({{.name = "w", .size = {1}, .stride = {1}, .storage_numel = 12},
                                  {.name = "w", .size = {2}, .stride = {1}, .storage_numel = 12}}),
                      "archive/data.pkl: state_dict key 'w' appears twice"));
}

TEST(TorchBin, StoragesMustBeEntriesOfExactlyTheirSize) {
  EXPECT_TRUE(refused(archive_of({{.name = "w", .size = {1}, .stride = {1}, .storage_numel = 1, .storage_key = "7"}}),
                      "storage '7' is missing from the archive (no entry 'archive/data/7')"));
  EXPECT_TRUE(refused(archive_of({{.name = "w", .size = {1}, .stride = {1}, .storage_numel = 13}}),
                      "storage '0' (13 elements of F32) needs 52 bytes but its entry holds 48"));
  EXPECT_TRUE(refused(archive_of({{.name = "w", .size = {1}, .stride = {1}, .storage_numel = 11}}),
                      "storage '0' (11 elements of F32) needs 44 bytes but its entry holds 48"));
  EXPECT_TRUE(refused(archive_of({{.name = "w", .size = {1}, .stride = {1}, .storage_numel = 1ll << 40}}),
                      "needs 4398046511104 bytes but its entry holds 48"));
  EXPECT_TRUE(refused(archive_of({{.name = "w", .size = {1}, .stride = {1}, .storage_numel = INT64_MAX}}),
                      "storage '0': size overflows 64 bits"));
  // The same 48 bytes are a valid storage of 24 halves: the size check is in bytes of the declared type.
  EXPECT_EQ(load(archive_of({{.name = "w", .size = {24}, .stride = {1}, .storage_numel = 24,
                              .storage_type = "HalfStorage"}})).at("w").dtype, DType::F16);
}

TEST(TorchBin, ViewsMustStayInsideTheirStorage) {
  const auto view = [](std::vector<std::int64_t> size, std::vector<std::int64_t> stride, std::int64_t offset) {
    return archive_of({{.name = "v", .size = std::move(size), .stride = std::move(stride), .storage_numel = 12,
                        .offset = offset}});
  };
  EXPECT_TRUE(refused(view({4}, {1}, 9), "tensor 'v': the view (offset 9, size (4,), stride (1,)) reaches element 12 "
                                         "of a storage of 12 elements"));
  EXPECT_TRUE(refused(view({4, 3}, {3, 2}, 0), "reaches element 13 of a storage of 12 elements"));
  EXPECT_TRUE(refused(view({0}, {1}, 13), "reaches element 13 of a storage of 12 elements"));
  EXPECT_NO_THROW((void)load(view({0}, {1}, 12)));
  EXPECT_TRUE(refused(view({1}, {1}, -1), "tensor 'v': negative storage offset -1"));
  EXPECT_TRUE(refused(view({2}, {-1}, 5), "tensor 'v': negative stride in (-1,)"));
  EXPECT_TRUE(refused(view({-2}, {1}, 0), "tensor 'v': negative dimension in shape (-2,)"));
  EXPECT_TRUE(refused(view({2, 2}, {1}, 0), "tensor 'v': its size (2, 2) and stride (1,) have different lengths"));
  EXPECT_TRUE(refused(view({1ll << 40, 2}, {1ll << 40, 1}, 0), "tensor 'v': size overflows 64 bits"));
  EXPECT_TRUE(refused(view({1ll << 32, 1ll << 32, 1ll << 32}, {0, 0, 0}, 0), "tensor 'v': size overflows 64 bits"));
  EXPECT_TRUE(refused(view({2}, {INT64_MAX}, 0), "reaches element 9223372036854775807 of a storage of 12"));
  EXPECT_TRUE(refused(view({3, 2}, {INT64_MAX / 2, 1}, 10), "tensor 'v': its extent overflows 64 bits"));
  EXPECT_NO_THROW((void)load(view({1, 2}, {INT64_MAX, 1}, 10)));  // a size-1 dimension's stride is never used
}

// Broadcast (stride 0) and repeated strided views of one storage are copied; together the copies may not exceed
// the archive's size, so a tiny file cannot make the loader allocate gigabytes.
TEST(TorchBin, StridedCopiesAreBoundedByTheArchiveSize) {
  EXPECT_TRUE(refused(archive_of({{.name = "huge", .size = {1ll << 30, 1ll << 20}, .stride = {0, 0}, .storage_numel = 12}}),
                      "tensor 'huge': copying its strided view (4503599627370496 bytes) would take the copies of "
                      "strided views past the archive's own size"));
  std::vector<TensorSpec> broadcasts;  // each ~150 bytes of pickle asking for a 4000-byte copy
  for (int i = 0; i < 100; ++i)
    broadcasts.push_back({.name = cat("b", i), .size = {1000}, .stride = {0}, .storage_numel = 12});
  EXPECT_TRUE(refused(archive_of(broadcasts), "would take the copies of strided views past the archive's own size"));
  std::vector<TensorSpec> transposes;  // 100 x 48 bytes of copies fit in an archive holding 100 calls
  for (int i = 0; i < 100; ++i)
    transposes.push_back({.name = cat("t", i), .size = {4, 3}, .stride = {1, 4}, .storage_numel = 12});
  EXPECT_EQ(load(archive_of(transposes)).size(), 100u);
}

TEST(TorchBin, RefusesTheGoldenTruncatedAtManyCutPoints) {
  const std::string golden = read_file(tiny_mamba() / "official" / "pytorch_model.bin");
  ASSERT_GT(golden.size(), 100000u);
  ASSERT_EQ(load(golden).size(), 23u);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < 400; ++i) cuts.push_back(golden.size() * i / 400);
  for (std::size_t back = 1; back <= 200; ++back) cuts.push_back(golden.size() - back);
  for (const std::size_t cut : cuts)
    EXPECT_TRUE(throws_error([&] { (void)load(golden.substr(0, cut)); }, {kName + ": "})) << "cut at " << cut;
}

TEST(TorchBin, RefusesASmallArchiveTruncatedAnywhere) {
  const std::string good = archive_of({{.name = "w", .size = {3, 4}, .stride = {1, 3}, .storage_numel = 12}});
  ASSERT_NO_THROW((void)load(good));
  for (std::size_t cut = 0; cut < good.size(); ++cut)
    EXPECT_TRUE(throws_error([&] { (void)load(good.substr(0, cut)); }, {kName + ": "})) << "cut at " << cut;
}

// Random byte flips anywhere in a valid archive: each result is a state_dict whose tensors hold exactly their
// shape's bytes, or an Error naming the file; never anything else.
TEST(TorchBin, SurvivesRandomCorruption) {
  const std::string good = archive_of({
      {.name = "backbone.embedding.weight", .size = {4, 3}, .stride = {3, 1}, .storage_numel = 12},
      {.name = "lm_head.weight", .size = {4, 3}, .stride = {3, 1}, .storage_numel = 12},
      {.name = "t", .size = {2, 2}, .stride = {1, 2}, .storage_numel = 4, .storage_key = "1"}});
  const unsigned seed = 2024;
  std::mt19937 rng(seed);
  int loaded = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
    try {
      for (const auto& [name, t] : load(bytes)) {
        ASSERT_EQ(t.bytes.size(), static_cast<std::size_t>(checked_numel(t.shape, name)) * dtype_size(t.dtype))
            << "seed " << seed << " trial " << trial;
      }
      ++loaded;
    } catch (const Error& e) {
      ASSERT_EQ(std::string(e.what()).rfind(kName + ": ", 0), 0u) << "seed " << seed << " trial " << trial;
    }
  }
  EXPECT_GT(loaded, 0) << "flips in tensor data still load";
}

}  // namespace
}  // namespace tinymamba
