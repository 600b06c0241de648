// The GGUF container (io/gguf.hpp): hand-built files laid out as ../shared/reference/gguf-mamba.md §1 describes
// (the expected bytes are written from the spec, not by our writer), our writer read back, and hostile files:
// every truncation and each lie a header can tell is a one-line Error naming the file, never a crash.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "byte_builders.hpp"
#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/quantize.hpp"
#include "tinymamba/io/gguf.hpp"

namespace tinymamba {
namespace {

using test::le;

std::string gstr(const std::string& s) { return le(s.size(), 8) + s; }

// A tensor info: name, dims, ggml type id, offset.
std::string info(const std::string& name, std::initializer_list<std::uint64_t> ne, std::uint32_t type,
                 std::uint64_t offset) {
  std::string out = gstr(name) + le(ne.size(), 4);
  for (const auto n : ne) out += le(n, 8);
  return out + le(type, 4) + le(offset, 8);
}

// A version-3 file with `kvs` (already encoded) and tensor infos, padded to 32, then `data`.
std::string file(std::uint64_t n_kv, const std::string& kvs, std::uint64_t n_tensors, const std::string& infos,
                 const std::string& data) {
  std::string out = "GGUF" + le(3, 4) + le(n_tensors, 8) + le(n_kv, 8) + kvs + infos;
  out.resize((out.size() + 31) / 32 * 32, '\0');
  return out + data;
}

GgufFile parse(const std::string& bytes) {
  return parse_gguf(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())), "t.gguf");
}

// A valid file: an arch string, a u32, an f32, a bool, a string array, an i32 array; a (3, 2) f32 tensor and a
// (32, 1) q8_0 tensor at offset 32.
std::string valid_file() {
  const std::string kvs = gstr("general.architecture") + le(8, 4) + gstr("mamba") +
                          gstr("mamba.block_count") + le(4, 4) + le(24, 4) +
                          gstr("mamba.attention.layer_norm_rms_epsilon") + le(6, 4) + le(0x3727c5ac, 4) +  // 1e-5f
                          gstr("mamba.ssm.dt_b_c_rms") + le(7, 4) + le(0, 1) +
                          gstr("tokenizer.ggml.tokens") + le(9, 4) + le(8, 4) + le(2, 8) + gstr("a") + gstr("Ġb") +
                          gstr("tokenizer.ggml.token_type") + le(9, 4) + le(5, 4) + le(2, 8) + le(1, 4) +
                          le(0xffffffff, 4);
  std::string data(32, '\0');
  for (int k = 0; k < 6; ++k) {
    const float v = static_cast<float>(k + 1);
    std::memcpy(data.data() + 4 * k, &v, 4);
  }
  data += le(0x3c00, 2) + std::string(32, '\x01');  // q8_0: d = 1.0 (fp16), 32 codes of 1
  return file(6, kvs, 2, info("w", {3, 2}, 0, 0) + info("q", {32, 1}, 8, 32), data);
}

TEST(Gguf, ReadsAHandBuiltFile) {
  const std::string bytes = valid_file();
  const GgufFile f = parse(bytes);
  EXPECT_EQ(f.version, 3u);
  EXPECT_EQ(f.find("general.architecture")->s, "mamba");
  EXPECT_EQ(f.find("mamba.block_count")->i, 24);
  EXPECT_FLOAT_EQ(static_cast<float>(f.find("mamba.attention.layer_norm_rms_epsilon")->f), 1e-5f);
  EXPECT_EQ(f.find("mamba.ssm.dt_b_c_rms")->i, 0);
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->strings, (std::vector<std::string>{"a", "Ġb"}));
  EXPECT_EQ(f.find("tokenizer.ggml.token_type")->ints, (std::vector<std::int64_t>{1, -1}));
  ASSERT_EQ(f.tensors.size(), 2u);
  const GgufTensor& w = *f.tensor("w");
  EXPECT_EQ(w.ne, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(w.type, WeightType::f32);
  ASSERT_EQ(w.bytes.size(), 24u);
  float row[3];
  dequantize_row(w.type, w.bytes.data() + 12, 3, row);  // the second row: 4, 5, 6
  EXPECT_EQ(row[2], 6.0f);
  const GgufTensor& q = *f.tensor("q");
  EXPECT_EQ(q.type, WeightType::q8_0);
  EXPECT_EQ(q.bytes.size(), 34u);
  float qr[32];
  dequantize_row(q.type, q.bytes.data(), 32, qr);
  EXPECT_EQ(qr[31], 1.0f);
}

TEST(Gguf, WhatTheWriterWritesReadsBack) {
  const std::string text = valid_file();  // src's tensors view these bytes: they must outlive it
  const GgufFile src = parse(text);
  std::vector<GgufTensorOut> out;
  for (const auto& t : src.tensors) out.push_back({t.name, t.ne, t.type, t.bytes});
  const std::string path = (test::temp_dir("gguf") / "w.gguf").string();
  write_gguf(path, src.metadata, out);
  const GgufFile back = read_gguf(path);
  EXPECT_EQ(back.metadata.size(), src.metadata.size());
  for (const auto& [key, v] : src.metadata) {
    const GgufValue& b = *back.find(key);
    EXPECT_EQ(b.type, v.type) << key;
    EXPECT_EQ(b.i, v.i) << key;
    EXPECT_EQ(b.f, v.f) << key;
    EXPECT_EQ(b.s, v.s) << key;
    EXPECT_EQ(b.ints, v.ints) << key;
    EXPECT_EQ(b.strings, v.strings) << key;
  }
  ASSERT_EQ(back.tensors.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(back.tensors[k].name, src.tensors[k].name);
    EXPECT_EQ(back.tensors[k].ne, src.tensors[k].ne);
    EXPECT_EQ(back.tensors[k].offset % 32, 0u);
    ASSERT_EQ(back.tensors[k].bytes.size(), src.tensors[k].bytes.size());
    EXPECT_EQ(std::memcmp(back.tensors[k].bytes.data(), src.tensors[k].bytes.data(), src.tensors[k].bytes.size()), 0);
  }
}

// Every prefix of a valid file is refused with an Error (the tensors' data is the last thing checked).
TEST(Gguf, EveryTruncationIsAnError) {
  const std::string bytes = valid_file();
  for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_THROW((void)parse(bytes.substr(0, n)), Error) << n;
}

void expect_refused(const std::string& bytes, const std::string& message) {
  try {
    (void)parse(bytes);
    ADD_FAILURE() << "accepted; expected: " << message;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("t.gguf"), std::string::npos) << what;
    EXPECT_NE(what.find(message), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(Gguf, HostileHeadersAreOneLineErrors) {
  const std::string kv_arch = gstr("general.architecture") + le(8, 4) + gstr("mamba");
  const std::string data(64, '\0');
  expect_refused("GGUE" + le(3, 4) + le(0, 8) + le(0, 8), "not a GGUF file");
  expect_refused("GGUF" + le(1, 4) + le(0, 8) + le(0, 8), "GGUF version 1");
  expect_refused("GGUF" + le(0x30000, 4) + le(0, 8) + le(0, 8), "big-endian");
  expect_refused("GGUF" + le(3, 4) + le(0, 8) + le(~0ull, 8), "metadata keys (at most");
  expect_refused("GGUF" + le(3, 4) + le(1ull << 40, 8) + le(0, 8), "tensors (at most");
  // A string or an array that claims more than the file holds.
  expect_refused(file(1, le(1ull << 62, 8), 0, "", ""), "a string of");
  expect_refused(file(1, gstr("k") + le(8, 4) + le(1000, 8) + "abc", 0, "", ""), "the file ends");
  expect_refused(file(1, gstr("k") + le(9, 4) + le(4, 4) + le(1ull << 40, 8), 0, "", ""), "an array of");
  expect_refused(file(1, gstr("k") + le(9, 4) + le(9, 4) + le(1, 8), 0, "", ""), "nested arrays");
  expect_refused(file(1, gstr("k") + le(13, 4), 0, "", ""), "unknown value type 13");
  expect_refused(file(1, gstr("k") + le(7, 4) + le(2, 1), 0, "", ""), "bool value 2");
  expect_refused(file(2, kv_arch + kv_arch, 0, "", ""), "appears twice");
  expect_refused(file(1, gstr("general.alignment") + le(4, 4) + le(12, 4), 0, "", ""), "general.alignment 12");
  // Tensor infos.
  expect_refused(file(0, "", 1, info(std::string(65, 'n'), {1}, 0, 0), data), "a string of 65 bytes");
  expect_refused(file(0, "", 1, info("t", {}, 0, 0), data), "0 dimensions");
  expect_refused(file(0, "", 1, info("t", {1, 1, 1, 1, 1}, 0, 0), data), "5 dimensions");
  expect_refused(file(0, "", 1, info("t", {0}, 0, 0), data), "dimension 0 is 0");
  expect_refused(file(0, "", 1, info("t", {1ull << 30, 1ull << 30}, 0, 0), data), "dimension 1 is");
  expect_refused(file(0, "", 1, info("t", {4}, 6, 0), data), "ggml type 6 is not read here");
  expect_refused(file(0, "", 1, info("t", {4}, 0, 8), data), "not a multiple of the alignment");
  expect_refused(file(0, "", 1, info("t", {4}, 0, 64), data), "past the end of the data section");
  expect_refused(file(0, "", 1, info("t", {1ull << 39}, 0, 0), data), "past the end of the data section");
  expect_refused(file(0, "", 1, info("t", {33}, 8, 0), data), "needs a row length that is a multiple of 32");
  expect_refused(file(0, "", 2, info("t", {4}, 0, 0) + info("t", {4}, 0, 32), data), "appears twice");
}

}  // namespace
}  // namespace tinymamba
