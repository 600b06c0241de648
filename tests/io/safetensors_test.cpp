// safetensors: round trips, every dtype, atomic writes, and a matrix of malformed files — each must be an Error
// naming the file and the problem, never a crash or an allocation the file's size does not justify.
#include "tinymamba/io/safetensors.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"

namespace tinymamba {
namespace {

std::vector<std::byte> file_bytes(const std::string& header_json, std::size_t data_bytes, std::uint64_t declared_len = ~0ull) {
  std::string h = header_json;
  const std::uint64_t n = declared_len == ~0ull ? h.size() : declared_len;
  std::vector<std::byte> out(8 + h.size() + data_bytes, std::byte{0});
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, h.data(), h.size());
  return out;
}

std::string parse_error(const std::vector<std::byte>& bytes) {
  try {
    (void)parse_safetensors(bytes, "bad.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, RoundTripEveryDtypeAndMetadata) {
  const auto dir = test::temp_dir("st");
  TensorMap t;
  t["a.f32"] = make_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  t["b.f64"] = make_f64({1}, {3.5});
  t["c.i64"] = make_i64({3}, {-1, 0, 1LL << 40});
  auto half = std::make_shared<std::vector<std::uint16_t>>(std::vector<std::uint16_t>{f32_to_f16(1.5f), f32_to_f16(-2)});
  t["d.f16"] = RawTensor{DType::F16, {2}, std::as_bytes(std::span<const std::uint16_t>(*half)), half};
  t["e.empty"] = make_f32({0, 4}, {});
  const std::string path = (dir / "x.safetensors").string();
  write_safetensors(path, t, {{"kind", "test"}, {"note", "héllo"}});
  const SafetensorsFile f = read_safetensors(path);
  EXPECT_EQ(f.metadata.at("kind"), "test");
  EXPECT_EQ(f.metadata.at("note"), "héllo");
  EXPECT_EQ(to_f32(f.tensors.at("a.f32"), "a"), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(to_f32(f.tensors.at("b.f64"), "b"), (std::vector<float>{3.5f}));
  EXPECT_EQ(to_i64(f.tensors.at("c.i64"), "c"), (std::vector<std::int64_t>{-1, 0, 1LL << 40}));
  EXPECT_EQ(to_f32(f.tensors.at("d.f16"), "d"), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(f.tensors.at("e.empty").shape, (Shape{0, 4}));
  // Alignment: every tensor starts at a multiple of its element size from the file start.
  const MappedFile mf(path);
  for (const auto& [name, rt] : f.tensors) {
    if (!rt.bytes.empty()) {
      EXPECT_EQ((rt.bytes.data() - mf.bytes().data()) % static_cast<std::ptrdiff_t>(dtype_size(rt.dtype)), 0) << name;
    }
  }
}

TEST(Safetensors, ReadsTheGoldenFiles) {
  const SafetensorsFile f = read_safetensors((test::golden_dir() / "tiny-mamba" / "hf" / "model.safetensors").string());
  EXPECT_EQ(f.metadata.at("format"), "pt");
  EXPECT_EQ(f.tensors.at("backbone.embeddings.weight").shape, (Shape{256, 64}));
}

TEST(Safetensors, MalformedFilesAreOneLineErrors) {
  const std::string ok_entry = R"("t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})";
  struct Bad {
    std::vector<std::byte> bytes;
    const char* expect;
  };
  const Bad cases[] = {
      {{}, "too short"},
      {file_bytes("{}", 0, 1ull << 63), "header length"},
      {file_bytes("{}", 0, 1000), "runs past the end"},
      {file_bytes("not json", 0), "not valid JSON"},
      {file_bytes("{\"\xff\xfe\": 1}", 0), "not valid JSON"},  // invalid UTF-8 in the header
      {file_bytes("[1]", 0), "not a JSON object"},
      {file_bytes(R"({"t": {"dtype": "F99", "shape": [2], "data_offsets": [0, 8]}})", 8), "unknown dtype"},
      {file_bytes(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}})", 8), "reach past"},
      {file_bytes(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", 8), "reversed"},
      {file_bytes(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}})", 8), "non-negative"},
      {file_bytes(R"({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8), "needs 12 bytes"},
      {file_bytes(R"({"t": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", 8), "non-negative"},
      {file_bytes(R"({"t": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})", 8), "overflows"},
      {file_bytes(R"({"t": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})", 8), "non-negative integer"},
      {file_bytes(R"({"t": {"dtype": "F32", "data_offsets": [0, 8]}})", 8), "no shape"},
      {file_bytes(R"({"t": {"dtype": "F32", "shape": [2]}})", 8), "data_offsets"},
      {file_bytes(R"({"t": 5})", 8), "not an object"},
      {file_bytes(R"({"__metadata__": {"k": 1}})", 0), "not a string"},
      {file_bytes("{" + ok_entry + R"(, "u": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 12), "overlap"},
      {file_bytes(std::string(100, '[') + std::string(100, ']'), 0), "nesting"},
  };
  for (const Bad& b : cases) {
    const std::string msg = parse_error(b.bytes);
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << "expected an error mentioning the file: '" << msg << "'";
    EXPECT_NE(msg.find(b.expect), std::string::npos) << "message '" << msg << "' lacks '" << b.expect << "'";
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_EQ(parse_error(file_bytes("{" + ok_entry + "}", 8)), "");  // the control case parses
}

TEST(Safetensors, TruncatedAtEveryCutPoint) {
  const auto dir = test::temp_dir("st-trunc");
  const std::string path = (dir / "m.safetensors").string();
  write_safetensors(path, {{"w", make_f32({4, 4}, std::vector<float>(16, 1.0f))}, {"b", make_f32({4}, {1, 2, 3, 4})}});
  const MappedFile full(path);
  const auto bytes = full.bytes();
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::vector<std::byte> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW((void)parse_safetensors(part, "cut.safetensors"), Error) << "cut at " << cut;
  }
}

TEST(Safetensors, MissingFileAndDirectory) {
  EXPECT_THROW((void)read_safetensors("/nonexistent/x.safetensors"), Error);
  EXPECT_THROW((void)read_safetensors(test::temp_dir("st-dir").string()), Error);
}

// An interrupted save leaves the previous file intact and no temp file behind.
TEST(Safetensors, InterruptedWriteKeepsThePreviousFile) {
  const auto dir = test::temp_dir("st-atomic");
  const std::string path = (dir / "ckpt.safetensors").string();
  write_safetensors(path, {{"w", make_f32({2}, {1, 2})}});
  set_write_interrupt_for_testing([](std::size_t) { throw Error("simulated crash"); });
  EXPECT_THROW(write_safetensors(path, {{"w", make_f32({2}, {3, 4})}}), Error);
  set_write_interrupt_for_testing(nullptr);
  EXPECT_EQ(to_f32(read_safetensors(path).tensors.at("w"), "w"), (std::vector<float>{1, 2}));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace tinymamba
