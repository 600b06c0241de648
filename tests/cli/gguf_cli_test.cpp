// A Mamba-2 model as one GGUF file, through the command: `convert --format gguf` writes it with the folder's
// tokenizer in its tokenizer.ggml.* keys; info, forward, eval, generate and bench take `-m file.gguf` alone (no
// --tokenizer); `convert --format safetensors` writes it back as a folder, tokenizer.json included, that computes
// the same logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_cli.hpp"
#include "test_paths.hpp"
#include "tinymamba/io/safetensors.hpp"

namespace tinymamba {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::shell_quote;

// max |a − b| over max |b|
double rel_diff(const RawTensor& a, const RawTensor& b) {
  const auto x = to_f32(a, "a"), y = to_f32(b, "b");
  EXPECT_EQ(x.size(), y.size());
  double d = 0, s = 0;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
    d = std::max(d, static_cast<double>(std::fabs(x[i] - y[i])));
    s = std::max(s, static_cast<double>(std::fabs(y[i])));
  }
  return d / s;
}

class GgufCli : public ::testing::Test {
 protected:
  // The golden tiny Mamba-2 (vocab 250, padded to 256) with the Shakespeare model's byte-level tokenizer (256 ids)
  // beside it, written as a GGUF file.
  static void SetUpTestSuite() {
    dir_ = test::temp_dir("gguf-cli");
    folder_ = (dir_ / "m2").string();
    fs::create_directories(folder_);
    for (const char* f : {"config.json", "model.safetensors"})
      fs::copy_file(test::golden_dir() / "tiny-mamba2" / "hf" / f, fs::path(folder_) / f,
                    fs::copy_options::overwrite_existing);
    fs::copy_file(test::source_dir() / "models" / "tinyshakespeare" / "tokenizer.json",
                  fs::path(folder_) / "tokenizer.json", fs::copy_options::overwrite_existing);
    file_ = (dir_ / "m2.gguf").string();
    convert_ = run_cli("convert -m " + shell_quote(folder_) + " --out " + shell_quote(file_) + " --format gguf");
    data_ = (dir_ / "text.txt").string();
    std::ofstream(data_, std::ios::binary) << "ROMEO:\nBut, soft! what light through yonder window breaks?\n"
                                              "It is the east, and Juliet is the sun.\n";
    ids_ = (dir_ / "ids.safetensors").string();
    const auto exp = read_safetensors((test::golden_dir() / "tiny-mamba2" / "expected.safetensors").string());
    write_safetensors(ids_, {{"input_ids", exp.tensors.at("input_ids")}});
  }
  // forward -m model on the golden ids: its logits
  static RawTensor forward_logits(const std::string& model, const std::string& name) {
    const std::string out = (dir_ / (name + ".safetensors")).string();
    const auto r = run_cli("forward -m " + shell_quote(model) + " --input " + shell_quote(ids_) + " --out " +
                           shell_quote(out) + " --threads 1");
    EXPECT_EQ(r.status, 0) << r.err;
    return read_safetensors(out).tensors.at("logits");
  }
  static inline fs::path dir_;
  static inline std::string folder_, file_, data_, ids_;
  static inline test::CliResult convert_;
};

TEST_F(GgufCli, ConvertWritesTheMamba2FileWithItsTokenizer) {
  ASSERT_EQ(convert_.status, 0) << convert_.err;
  EXPECT_NE(convert_.out.find("GGUF, 72752 parameters, f32, tokenizer"), std::string::npos) << convert_.out;
  const auto info = run_cli("info -m " + shell_quote(file_));
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("layout:       gguf"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("mixer:        Mamba2 (d_ssm 128, headdim 16, nheads 8, ngroups 1"), std::string::npos)
      << info.out;
}

// eval takes the tokenizer from the file's keys (it names them), and the file's model scores the text as the
// folder's does, within the rounding of the chunked scan's chunk (16 in the folder's config, the official 256 in
// the file, which has no key for it): far below 1e-5 of the bits per byte.
TEST_F(GgufCli, EvalTakesTheTokenizerFromTheFile) {
  ASSERT_EQ(convert_.status, 0) << convert_.err;
  const std::string args = " --data " + shell_quote(data_) + " --json --seq-len 32 --threads 1";
  const auto from_file = run_cli("eval -m " + shell_quote(file_) + args);
  ASSERT_EQ(from_file.status, 0) << from_file.err;
  const auto from_folder = run_cli("eval -m " + shell_quote(folder_) + args);
  ASSERT_EQ(from_folder.status, 0) << from_folder.err;
  const auto a = nlohmann::json::parse(from_file.out), b = nlohmann::json::parse(from_folder.out);
  EXPECT_EQ(a["tokenizer"], file_ + " (tokenizer.ggml.*)");
  EXPECT_EQ(a["tokens"], b["tokens"]);
  EXPECT_NEAR(a["bits_per_byte"].get<double>(), b["bits_per_byte"].get<double>(),
              1e-5 * b["bits_per_byte"].get<double>());
}

// A 6-token prompt fits in one chunk of either size, and decode steps have no chunks: the same text, token for token.
TEST_F(GgufCli, GenerateFromTheFileAloneMatchesTheFolder) {
  ASSERT_EQ(convert_.status, 0) << convert_.err;
  const std::string args = " -p 'ROMEO:' -n 24 --seed 3 --threads 1";
  const auto from_file = run_cli("generate -m " + shell_quote(file_) + args);
  ASSERT_EQ(from_file.status, 0) << from_file.err;
  const auto from_folder = run_cli("generate -m " + shell_quote(folder_) + args);
  ASSERT_EQ(from_folder.status, 0) << from_folder.err;
  EXPECT_EQ(from_file.out, from_folder.out);
}

// forward on the file meets the golden logits (1e-5 of the largest, tests/golden); the folder convert writes back
// holds the same floats and config, so it computes the file's logits bit for bit.
TEST_F(GgufCli, ForwardAndConvertBack) {
  ASSERT_EQ(convert_.status, 0) << convert_.err;
  const RawTensor file_logits = forward_logits(file_, "from-file");
  const auto exp = read_safetensors((test::golden_dir() / "tiny-mamba2" / "expected.safetensors").string());
  EXPECT_LE(rel_diff(file_logits, exp.tensors.at("logits")), 1e-5);
  const std::string back = (dir_ / "back").string();
  const auto c = run_cli("convert -m " + shell_quote(file_) + " --out " + shell_quote(back));
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_TRUE(fs::exists(fs::path(back) / "tokenizer.json")) << c.out;
  EXPECT_EQ(rel_diff(forward_logits(back, "from-back"), file_logits), 0.0);
}

TEST_F(GgufCli, BenchMeasuresTheFile) {
  ASSERT_EQ(convert_.status, 0) << convert_.err;
  const auto r = run_cli("bench --tests tg128 -m " + shell_quote(file_) + " --reps 1 --threads 1 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
  EXPECT_EQ(j["model"], file_);
  EXPECT_EQ(j["params"], 72752);
  EXPECT_GT(j["tok_s"].get<double>(), 0.0);
}

}  // namespace
}  // namespace tinymamba
