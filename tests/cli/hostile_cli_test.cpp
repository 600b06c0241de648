// Hostile input at the command line, the way a user (or an attacker's file) meets tinymamba: bad model folders
// through `info`, `forward` and `generate`; bad prompts, flags and ids through `generate`; bad text, ids and
// tokenizer files through `tokenize`. Every case runs the real program under a time limit (10 s) and a memory
// limit (2 GiB of address space; see hostile_support.hpp) and must end with exit status 1 and exactly one line
// on stderr that names the file or flag and the problem. The expectations are in each case.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "hostile_support.hpp"
#include "test_paths.hpp"
#include "tinymamba/core/json.hpp"
#include "tinymamba/io/safetensors.hpp"
#include "tinymamba/tokenizer/byte_level.hpp"
#include "tinymamba/tokenizer/utf8.hpp"
#include "torch_bin_builders.hpp"

namespace tinymamba {
namespace {

namespace fs = std::filesystem;
using test::clean_error;
using test::run_cli_limited;
using test::shell_quote;

// A model with a 256-token vocabulary, and a byte-level tokenizer of exactly 256 tokens that fits it.
const char* kByteConfig = R"({"d_model": 8, "n_layer": 1, "vocab_size": 256, "pad_vocab_size_multiple": 8,
  "ssm_cfg": {"d_state": 4, "d_conv": 2, "expand": 2}})";

nlohmann::json byte_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) {
    std::string c;
    append_utf8(c, byte_to_char(static_cast<std::uint8_t>(b)));
    vocab[c] = b;
  }
  return {{"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
}

class HostileCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = test::temp_dir("hostile-cli");
    // The good pieces every case starts from.
    test::safetensors_folder(root_ / "good", kByteConfig, test::owned_tensors(test::tiny_model(kByteConfig)));
    test::write_text(root_ / "tokenizer.json", byte_tokenizer().dump());
    write_safetensors((root_ / "ids.safetensors").string(), {{"input_ids", make_i64({1, 3}, {1, 2, 3})}});
    ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0644), 0);
  }
  static std::string q(const fs::path& p) { return shell_quote(p.string()); }
  static std::string tok() { return q(root_ / "tokenizer.json"); }
  static std::string good() { return q(root_ / "good"); }
  // A copy of the good model folder with `edit` applied to its tensors and `config` as config.json.
  template <class Edit>
  static fs::path model_case(const std::string& name, Edit edit, const std::string& config = kByteConfig) {
    TensorMap t = test::owned_tensors(test::tiny_model(kByteConfig));
    edit(t);
    return test::safetensors_folder(root_ / name, config, t);
  }
  static test::LimitedResult generate(const std::string& flags, const std::string& model = "") {
    return run_cli_limited("generate -m " + (model.empty() ? good() : model) + " -t " + tok() + " " + flags);
  }
  static fs::path root_;
};
fs::path HostileCli::root_;

TEST_F(HostileCli, TheGoodPiecesWork) {
  const auto g = generate("-p hi -n 3 --seed 1");
  EXPECT_EQ(g.status, 0) << g.err;
  const auto i = run_cli_limited("info -m " + good());
  EXPECT_EQ(i.status, 0) << i.err;
  const auto f = run_cli_limited("forward -m " + good() + " --input " + q(root_ / "ids.safetensors") + " --out " +
                                 q(root_ / "out.safetensors"));
  EXPECT_EQ(f.status, 0) << f.err;
  const std::string text = "hello";
  const auto t = run_cli_limited("tokenize -t " + tok(), &text);
  EXPECT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(t.out, "104 101 108 108 111\n");
}

// Every kind of bad model folder, through info, forward and generate. forward must leave no --out file behind.
TEST_F(HostileCli, BadModelFoldersThroughInfoForwardAndGenerate) {
  struct Case {
    fs::path dir;
    std::vector<std::string> parts;
  };
  std::vector<Case> cases;
  const auto add = [&](fs::path dir, std::vector<std::string> parts) { cases.push_back({std::move(dir), std::move(parts)}); };
  add(root_ / "no-such-folder", {"no-such-folder", "no such model folder"});
  fs::create_directories(root_ / "empty");
  add(root_ / "empty", {"config.json", "missing"});
  {
    const fs::path d = model_case("config-dir", [](TensorMap&) {});
    fs::remove(d / "config.json");
    fs::create_directories(d / "config.json");
    add(d, {"config.json", "not a regular file"});
  }
  {
    const fs::path d = model_case("config-fifo", [](TensorMap&) {});
    fs::remove(d / "config.json");
    ASSERT_EQ(::mkfifo((d / "config.json").c_str(), 0644), 0);
    add(d, {"config.json", "not a regular file"});
  }
  {
    const fs::path d = model_case("config-loop", [](TensorMap&) {});
    fs::remove(d / "config.json");
    fs::create_symlink(d / "config.json", d / "config.json");
    add(d, {"config.json", "cannot access"});
  }
  add(model_case("zero-dim", [](TensorMap&) {}, R"({"d_model": 0, "n_layer": 1, "vocab_size": 256})"),
      {"config.json", "d_model"});
  add(model_case("negative-dim", [](TensorMap&) {}, R"({"d_model": 8, "n_layer": -1, "vocab_size": 256})"),
      {"config.json", "n_layer"});
  add(model_case("fraction-dim", [](TensorMap&) {}, R"({"d_model": 8.25, "n_layer": 1, "vocab_size": 256})"),
      {"config.json", "d_model", "integer"});
  add(model_case("huge", [](TensorMap&) {}, R"({"d_model": 65536, "n_layer": 4096, "vocab_size": 50280})"),
      {"model.safetensors", "has shape"});
  add(model_case("missing", [](TensorMap& t) { t.erase("backbone.norm_f.weight"); }),
      {"model.safetensors", "missing tensor 'backbone.norm_f.weight'"});
  add(model_case("extra", [](TensorMap& t) { t["extra.weight"] = make_f32({1}, {0}); }),
      {"model.safetensors", "unexpected tensor 'extra.weight'"});
  add(model_case("shape", [](TensorMap& t) { t["backbone.norm_f.weight"] = make_f32({2}, {1, 1}); }),
      {"model.safetensors", "backbone.norm_f.weight", "has shape (2,)"});
  add(model_case("int", [](TensorMap& t) { t["backbone.norm_f.weight"] = make_i64({8}, std::vector<std::int64_t>(8)); }),
      {"model.safetensors", "dtype I64"});
  add(model_case("nan",
                 [](TensorMap& t) {
                   t["backbone.norm_f.weight"] = make_f32({8}, {1, 1, 1, std::nanf(""), 1, 1, 1, 1});
                 }),
      {"model.safetensors", "backbone.norm_f.weight", "nan"});
  add(model_case("untied", [](TensorMap&) {},
                 R"({"d_model": 8, "n_layer": 1, "vocab_size": 256, "tie_embeddings": false,
                     "ssm_cfg": {"d_state": 4, "d_conv": 2, "expand": 2}})"),
      {"model.safetensors", "missing tensor 'lm_head.weight'"});
  {
    const fs::path d = model_case("st-dir", [](TensorMap&) {});
    fs::remove(d / "model.safetensors");
    fs::create_directories(d / "model.safetensors");
    add(d, {"model.safetensors", "not a regular file"});
  }
  {
    const fs::path d = model_case("st-fifo", [](TensorMap&) {});
    fs::remove(d / "model.safetensors");
    ASSERT_EQ(::mkfifo((d / "model.safetensors").c_str(), 0644), 0);
    add(d, {"model.safetensors", "not a regular file"});
  }
  {
    const fs::path d = model_case("st-cut", [](TensorMap&) {});
    const std::string bytes = test::read_text(d / "model.safetensors");
    test::write_text(d / "model.safetensors", bytes.substr(0, bytes.size() / 2));
    add(d, {"model.safetensors"});
  }
  {
    const fs::path d = root_ / "shard-escape";
    fs::create_directories(d);
    test::write_text(d / "config.json", kByteConfig);
    test::write_text(d / "model.safetensors.index.json",
                     R"({"weight_map": {"backbone.norm_f.weight": "../good/model.safetensors"}})");
    add(d, {"model.safetensors.index.json", "plain file name"});
  }
  {
    const fs::path d = root_ / "shard-missing";
    fs::create_directories(d);
    test::write_text(d / "config.json", kByteConfig);
    test::write_text(d / "model.safetensors.index.json", R"({"weight_map": {"backbone.norm_f.weight": "s1.safetensors"}})");
    add(d, {"s1.safetensors", "missing"});
  }
  {
    const fs::path d = root_ / "bin-os-system";
    fs::create_directories(d);
    test::write_text(d / "config.json", kByteConfig);
    test::PickleWriter w;
    w.proto().global("os", "system").str("touch " + (root_ / "pwned").string()).op(0x85).reduce().stop();
    test::write_text(d / "pytorch_model.bin", test::torch_archive({.pickle = w.bytes()}));
    add(d, {"pytorch_model.bin", "forbidden global 'os.system'"});
  }

  for (const Case& c : cases) {
    const std::string out = (root_ / "never.safetensors").string();
    const auto info = run_cli_limited("info -m " + q(c.dir));
    EXPECT_TRUE(clean_error(info, c.parts));
    if (test::quick() && &c != &cases.front() && (&c - &cases.front()) % 3 != 0) continue;
    const auto fwd = run_cli_limited("forward -m " + q(c.dir) + " --input " + q(root_ / "ids.safetensors") +
                                     " --out " + shell_quote(out));
    EXPECT_TRUE(clean_error(fwd, c.parts));
    EXPECT_FALSE(fs::exists(out)) << "forward wrote its output for " << c.dir;
    const auto gen = generate("-p hi -n 2 --seed 1", q(c.dir));
    EXPECT_TRUE(clean_error(gen, c.parts));
  }
  EXPECT_FALSE(fs::exists(root_ / "pwned")) << "a pickle ran code";
}

// A model.safetensors whose 100 MB header (the format's limit) is 8.5 million "key":"" pairs: as a JSON document
// that is 2.5 GB; under the 2 GiB limit it must be a clean error, in seconds.
TEST_F(HostileCli, AHundredMegabyteHeader) {
  if (test::quick()) GTEST_SKIP() << "writes 100 MB; HostileModels.HeadersThatWouldExplodeInMemory covers the cap";
  const fs::path d = model_case("100mb-header", [](TensorMap&) {});
  std::string header = "{\"__metadata__\":{";
  for (int i = 0; header.size() < kMaxSafetensorsHeader - 20; ++i) {
    header += i ? ",\"" : "\"";
    header += std::to_string(i);
    header += "\":\"\"";
  }
  header += "}}";
  test::write_text(d / "model.safetensors", test::le(header.size(), 8) + header);
  EXPECT_TRUE(clean_error(run_cli_limited("info -m " + q(d)), {"model.safetensors", "JSON values"}));
  fs::remove(d / "model.safetensors");
}

// Prompts, sampling flags, ids and other flags that make no sense: each names the flag.
TEST_F(HostileCli, GenerateFlags) {
  const std::pair<std::string, std::vector<std::string>> cases[] = {
      {"-p '\xff\xfe' -n 2", {"-p", "invalid UTF-8 at byte offset 0"}},
      {"-p 'ok \xed\xa0\x80 surrogate' -n 2", {"-p", "invalid UTF-8 at byte offset 3"}},
      {"-p '' -n 2", {"-p", "empty"}},
      {"-p hi -n 0", {"-n"}},
      {"-p hi -n -5", {"-n"}},
      {"-p hi -n many", {"-n"}},
      {"-p hi --temperature nan", {"--temperature", "nan"}},
      {"-p hi --temperature -1", {"--temperature"}},
      {"-p hi --temperature inf", {"--temperature"}},
      {"-p hi --top-p nan", {"--top-p"}},
      {"-p hi --top-p 0", {"--top-p"}},
      {"-p hi --top-p 1.5", {"--top-p"}},
      {"-p hi --top-k -1", {"--top-k"}},
      {"-p hi --min-p nan", {"--min-p"}},
      {"-p hi --min-p -0.5", {"--min-p"}},
      {"-p hi --repeat-penalty 0", {"--repeat-penalty"}},
      {"-p hi --repeat-penalty nan", {"--repeat-penalty"}},
      {"-p hi --repeat-penalty inf", {"--repeat-penalty"}},
      {"-p hi --threads 100000", {"--threads"}},
      {"-p hi --threads -1", {"--threads"}},
      {"-p hi --threads lots", {"--threads"}},
      {"-p hi --threads 1024", {"--threads", "hardware threads"}},
      {"-p hi --seed -1", {"--seed"}},
      {"-p hi --seed x", {"--seed"}},
      {"-p hi --eos 999999", {"--eos"}},
      {"-p hi --eos 1 --ignore-eos", {"--eos", "--ignore-eos"}},
      {"-p hi --scan nonsense", {"nonsense"}},
      {"-p hi --no-such-flag", {"--no-such-flag"}},
      {"-p hi --prompt-ids 1", {"give one of"}},
      {"--prompt-ids '1 x'", {"--prompt-ids", "'x'"}},
      {"--prompt-ids=-1", {"--prompt-ids", "'-1'"}},
      {"--prompt-ids '1,,2'", {"--prompt-ids", "empty item"}},
      {"--prompt-ids 256", {"--prompt-ids", "256", "outside the vocabulary"}},
      {"--prompt-ids 99999999999999999999", {"--prompt-ids", "larger than"}},
      {"--prompt-ids ''", {"--prompt-ids", "no ids"}},
      {"--prompts-file /nonexistent/prompts.txt", {"/nonexistent/prompts.txt", "cannot open"}},
      {"--prompts-file " + q(root_), {"not a regular file"}},
      {"--prompts-file " + q(root_ / "fifo"), {"fifo", "not a regular file"}},
  };
  for (const auto& [flags, parts] : cases) EXPECT_TRUE(clean_error(generate(flags), parts));

  // Prompts files: empty, only blank lines, a line of invalid UTF-8 (named by line).
  test::write_text(root_ / "blank.txt", "\n\r\n\n");
  EXPECT_TRUE(clean_error(generate("--prompts-file " + q(root_ / "blank.txt")), {"blank.txt", "no prompts"}));
  test::write_text(root_ / "bad-line.txt", "fine\nalso fine\nbad \xc3\x28 here\n");
  EXPECT_TRUE(clean_error(generate("--prompts-file " + q(root_ / "bad-line.txt")),
                          {"bad-line.txt: line 3", "invalid UTF-8 at byte offset 4"}));
}

// The tokenizer and the model must agree; a tokenizer that is not a tokenizer is named.
TEST_F(HostileCli, GenerateWithBadTokenizers) {
  const fs::path neox = test::shared_dir() / "tokenizer" / "gpt-neox-20b.json";
  if (fs::exists(neox)) {  // 50,277 ids for a model of 256: the model's vocab_size is smaller than the tokenizer's ids
    EXPECT_TRUE(clean_error(run_cli_limited("generate -m " + good() + " -t " + q(neox) + " -p hi --seed 1"),
                            {"gpt-neox-20b.json", "50277", "do not fit", "256"}));
  }
  EXPECT_TRUE(clean_error(run_cli_limited("generate -m " + good() + " -t /nonexistent/tok.json -p hi"),
                          {"/nonexistent/tok.json", "cannot open"}));
  EXPECT_TRUE(clean_error(run_cli_limited("generate -m " + good() + " -t " + q(root_ / "fifo") + " -p hi"),
                          {"fifo", "not a regular file"}));
  // A folder whose tokenizer.json (picked up without -t) is a directory.
  const fs::path d = model_case("tok-dir", [](TensorMap&) {});
  fs::create_directories(d / "tokenizer.json");
  EXPECT_TRUE(clean_error(run_cli_limited("generate -m " + q(d) + " -p hi"), {"tokenizer.json", "not a regular file"}));
}

// Finite weights that overflow float32 on the way to the logits: a clear error, not sampled garbage.
TEST_F(HostileCli, GenerateWithOverflowingLogits) {
  const fs::path d = model_case("overflow", [](TensorMap& t) {
    t["backbone.norm_f.weight"] = make_f32({8}, std::vector<float>(8, 3e38f));
  });
  for (const char* flags : {"-p hi -n 3 --seed 1", "-p hi -n 3 --seed 1 --temperature 0", "-p hi -n 3"})
    EXPECT_TRUE(clean_error(generate(flags, q(d)), {"logits", "not finite"})) << flags;
}

TEST_F(HostileCli, ForwardInputsAndOutputs) {
  const std::string base = "forward -m " + good() + " ";
  const std::string out = " --out " + q(root_ / "fwd.safetensors");
  EXPECT_TRUE(clean_error(run_cli_limited(base + "--input " + q(root_ / "fifo") + out), {"fifo", "not a regular file"}));
  EXPECT_TRUE(clean_error(run_cli_limited(base + "--input " + q(root_) + out), {"not a regular file"}));
  write_safetensors((root_ / "big-id.safetensors").string(), {{"input_ids", make_i64({1, 2}, {1, 1000})}});
  EXPECT_TRUE(clean_error(run_cli_limited(base + "--input " + q(root_ / "big-id.safetensors") + out),
                          {"1000", "outside the vocabulary"}));
  write_safetensors((root_ / "neg-id.safetensors").string(), {{"input_ids", make_i64({1, 2}, {1, -3})}});
  EXPECT_TRUE(clean_error(run_cli_limited(base + "--input " + q(root_ / "neg-id.safetensors") + out),
                          {"neg-id.safetensors", "-3"}));
  const std::string ids = " --input " + q(root_ / "ids.safetensors");
  EXPECT_TRUE(clean_error(run_cli_limited(base + ids + " --out " + q(root_)), {"cannot rename"}));
  EXPECT_TRUE(clean_error(run_cli_limited(base + ids + " --out /nonexistent/o.safetensors"), {"/nonexistent/o.safetensors"}));
  EXPECT_TRUE(clean_error(run_cli_limited(base + ids + out + " --prefill -1"), {"--prefill"}));
  EXPECT_TRUE(clean_error(run_cli_limited(base + ids + out + " --threads 2.5"), {"--threads"}));
  EXPECT_TRUE(clean_error(run_cli_limited("forward --input x --out y"), {"--model"}));
  EXPECT_TRUE(clean_error(run_cli_limited("no-such-command"), {"no-such-command"}));
}

TEST_F(HostileCli, TokenizeTextIdsAndTokenizerFiles) {
  const auto tokenize = [&](const std::string& args, const std::string& input) {
    return run_cli_limited("tokenize " + args, &input);
  };
  EXPECT_TRUE(clean_error(tokenize("-t " + tok(), "caf\xc3"), {"invalid UTF-8", "byte offset 3"}));
  EXPECT_TRUE(clean_error(tokenize("-t " + tok(), std::string("a\0b\xff", 4)), {"invalid UTF-8", "byte offset 3"}));
  EXPECT_TRUE(clean_error(tokenize("-t " + tok() + " --decode", "1 abc 2"), {"stdin", "'abc'"}));
  EXPECT_TRUE(clean_error(tokenize("-t " + tok() + " --decode", "-1"), {"stdin", "'-1'"}));
  EXPECT_TRUE(clean_error(tokenize("-t " + tok() + " --decode", "1,,2"), {"stdin", "empty item"}));
  EXPECT_TRUE(clean_error(tokenize("-t " + tok() + " --decode", "99999999"), {"stdin", "99999999", "out of range"}));
  EXPECT_TRUE(clean_error(tokenize("-t " + tok() + " --decode", "1.5"), {"stdin", "'1.5'"}));

  // Tokenizer files that are not tokenizers.
  const auto bad_tokenizer = [&](const std::string& name, const std::string& text, std::vector<std::string> parts) {
    test::write_text(root_ / name, text);
    parts.insert(parts.begin(), name);
    EXPECT_TRUE(clean_error(tokenize("-t " + q(root_ / name), "hi"), parts)) << name;
  };
  nlohmann::json j = byte_tokenizer();
  j.erase("model");
  bad_tokenizer("no-model.json", j.dump(), {"no \"model\""});
  j = byte_tokenizer();
  j["model"]["vocab"] = nlohmann::json::object();
  bad_tokenizer("empty-vocab.json", j.dump(), {"model.vocab is empty"});
  j = byte_tokenizer();
  j["model"]["merges"] = {"Ġ zzz"};
  bad_tokenizer("unknown-merge.json", j.dump(), {"model.merges[0]", "not in the vocab"});
  j = byte_tokenizer();
  j["model"]["type"] = "WordPiece";
  bad_tokenizer("wordpiece.json", j.dump(), {"model type", "WordPiece", "not supported"});
  j = byte_tokenizer();
  j["model"]["type"] = "Unigram";
  bad_tokenizer("unigram.json", j.dump(), {"Unigram"});
  bad_tokenizer("not-json.json", "<html>404</html>", {"not valid JSON"});
  bad_tokenizer("latin1.json", "{\"model\": \"caf\xe9\"}", {"not valid JSON"});
  bad_tokenizer("whitespace.json", std::string(1 << 20, ' '), {"not valid JSON"});
  bad_tokenizer("deep.json", std::string(100000, '['), {"nesting"});
  // Larger than any tokenizer (a sparse 3 GB file: refused by its size, without reading it).
  {
    const fs::path big = root_ / "huge.json";
    std::ofstream(big).put(' ');
    fs::resize_file(big, 3ull << 30);
    EXPECT_TRUE(clean_error(tokenize("-t " + q(big), "hi"), {"huge.json", "more than the limit"}));
    fs::remove(big);
  }
  // A tokenizer.json of 2 million tiny values (4 MB): refused at the value cap, not parsed into ~200 MB and on.
  {
    std::string zeros = "{\"model\": [0";
    for (std::size_t i = 0; i < kMaxJsonValues; ++i) zeros += ",0";
    bad_tokenizer("values.json", zeros + "]}", {"JSON values"});
  }
  EXPECT_TRUE(clean_error(tokenize("-t " + q(root_), "hi"), {"not a regular file"}));
  EXPECT_TRUE(clean_error(tokenize("-t " + q(root_ / "fifo"), "hi"), {"fifo", "not a regular file"}));
  EXPECT_TRUE(clean_error(tokenize("", "hi"), {"--tokenizer"}));
}

}  // namespace
}  // namespace tinymamba
