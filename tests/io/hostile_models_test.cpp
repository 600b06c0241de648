// Hostile model folders, at the library level (load_model): each folder is written by the test with exactly one
// thing wrong — a missing, extra, misshapen or integer tensor, non-finite weights, a config with impossible
// dimensions or one that claims far more than the file holds, a sharded index that names missing shards or
// escapes the folder, files that are directories, FIFOs or symlink loops, pickles that ask for code — and must
// give an Error whose one-line message names the file and the problem, fast and without allocating what the
// config claims. hostile_cli_test.cpp runs the same kinds of folders through the CLI under time and memory limits.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "hostile_support.hpp"
#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/json.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/config_json.hpp"
#include "tinymamba/io/safetensors.hpp"
#include "torch_bin_builders.hpp"

namespace tinymamba {
namespace {

namespace fs = std::filesystem;
using test::throws_error;

// load_model(dir) must throw Error with one line containing every part; returns the assertion.
::testing::AssertionResult refused(const fs::path& dir, const std::vector<std::string>& parts) {
  const auto start = std::chrono::steady_clock::now();
  auto result = throws_error([&] { (void)load_model(dir.string()); }, parts);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result && seconds > (test::kSanitized ? 20.0 : 5.0))
    return ::testing::AssertionFailure() << "took " << seconds << " s: " << dir;
  return result;
}

// The process's address space now (the first field of /proc/self/statm, in pages).
std::uint64_t address_space_bytes() {
  std::uint64_t pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  return pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

class HostileModels : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::temp_dir(std::string("hostile-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  fs::path folder(const std::string& name) { return root_ / name; }
  // A folder of the tiny model with `edit` applied to its tensors, and `config` as config.json.
  template <class Edit>
  fs::path tensors_case(const std::string& name, Edit edit, const std::string& config = test::kTinyConfig) {
    TensorMap t = test::owned_tensors(test::tiny_model());
    edit(t);
    return test::safetensors_folder(folder(name), config, t);
  }
  fs::path root_;
};

TEST_F(HostileModels, TheControlFolderLoads) {
  const fs::path dir = tensors_case("ok", [](TensorMap&) {});
  const Model m = load_model(dir.string());
  EXPECT_EQ(m.config.d_model, 8);
}

TEST_F(HostileModels, FoldersThatAreNotModelFolders) {
  EXPECT_TRUE(refused(folder("does-not-exist"), {"does-not-exist", "no such model folder"}));
  fs::create_directories(folder("empty"));
  EXPECT_TRUE(refused(folder("empty"), {"empty/config.json", "missing"}));
  test::write_text(root_ / "a-file", "x");
  EXPECT_TRUE(refused(root_ / "a-file", {"a-file", "not a directory"}));
  // Only a config.json: no tensor file at all.
  fs::create_directories(folder("config-only"));
  test::write_text(folder("config-only") / "config.json", test::kTinyConfig);
  EXPECT_TRUE(refused(folder("config-only"), {"config-only", "no model.safetensors"}));
}

// config.json that is a directory, a FIFO (opening it must not wait for a writer), a symlink loop, a dangling
// symlink, empty, not UTF-8, or bigger than any config.
TEST_F(HostileModels, ConfigJsonThatIsNotAConfigFile) {
  const auto with_config = [&](const std::string& name, auto make) {
    const fs::path dir = tensors_case(name, [](TensorMap&) {});
    fs::remove(dir / "config.json");
    make(dir / "config.json");
    return dir;
  };
  EXPECT_TRUE(refused(with_config("dir", [](const fs::path& p) { fs::create_directories(p); }),
                      {"config.json", "not a regular file"}));
  EXPECT_TRUE(refused(with_config("fifo", [](const fs::path& p) { ASSERT_EQ(::mkfifo(p.c_str(), 0644), 0); }),
                      {"config.json", "not a regular file"}));
  EXPECT_TRUE(refused(with_config("loop",
                                  [](const fs::path& p) {
                                    fs::create_symlink(p.parent_path() / "other.json", p);
                                    fs::create_symlink(p, p.parent_path() / "other.json");
                                  }),
                      {"config.json", "cannot access", "symbolic links"}));
  EXPECT_TRUE(refused(with_config("dangling", [](const fs::path& p) { fs::create_symlink("nowhere.json", p); }),
                      {"config.json", "missing"}));
  EXPECT_TRUE(refused(with_config("devnull", [](const fs::path& p) { fs::create_symlink("/dev/null", p); }),
                      {"config.json", "not a regular file"}));
  EXPECT_TRUE(refused(with_config("empty", [](const fs::path& p) { test::write_text(p, ""); }),
                      {"config.json", "not valid JSON"}));
  EXPECT_TRUE(refused(with_config("latin1", [](const fs::path& p) { test::write_text(p, "{\"d_model\": \"\xe9\"}"); }),
                      {"config.json", "not valid JSON"}));
  EXPECT_TRUE(refused(with_config("huge",
                                  [](const fs::path& p) {
                                    std::ofstream(p) << "{\"x\": \"" << std::string(2 << 20, 'a') << "\"}";
                                  }),
                      {"config.json", "more than the limit"}));
}

// Zero, negative, fractional, textual, huge and overflowing dimensions, in both dialects.
TEST_F(HostileModels, ConfigsWithImpossibleDimensions) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"d_model": 0, "n_layer": 1, "vocab_size": 13})", "d_model"},
      {R"({"d_model": -8, "n_layer": 1, "vocab_size": 13})", "d_model"},
      {R"({"d_model": 8.5, "n_layer": 1, "vocab_size": 13})", "must be an integer"},
      {R"({"d_model": "8", "n_layer": 1, "vocab_size": 13})", "must be an integer"},
      {R"({"d_model": 8, "n_layer": 1e300, "vocab_size": 13})", "must be an integer"},
      {R"({"d_model": 8, "n_layer": 18446744073709551615, "vocab_size": 13})", "too large"},
      {R"({"d_model": 8, "n_layer": 1, "vocab_size": 9223372036854775807})", "vocab_size"},
      {R"({"d_model": 8, "n_layer": 1, "vocab_size": 13, "ssm_cfg": {"d_state": 0}})", "d_state"},
      {R"({"d_model": 8, "n_layer": 1, "vocab_size": 13, "ssm_cfg": {"d_conv": -1}})", "d_conv"},
      {R"({"d_model": 8, "n_layer": 1, "vocab_size": 13, "ssm_cfg": {"expand": 0}})", "expand"},
      {R"({"d_model": 8, "n_layer": 1, "vocab_size": 13, "ssm_cfg": {"expand": 1e308}})", "expand"},
      {R"({"d_model": 8, "n_layer": 1, "vocab_size": 13, "ssm_cfg": {"dt_rank": -3}})", "dt_rank"},
      {R"({"d_model": 8, "n_layer": 1, "vocab_size": 13, "pad_vocab_size_multiple": 0})", "pad_vocab_size_multiple"},
      {R"({"hidden_size": 8, "num_hidden_layers": 0, "vocab_size": 16})", "num_hidden_layers"},
      {R"({"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 16, "intermediate_size": -16})", "intermediate_size"},
      {R"({"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 16, "state_size": 1000000})", "d_state"},
      {R"({"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 16, "layer_norm_epsilon": -1})", "epsilon"},
      {R"({"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 16, "time_step_rank": 0.5})", "integer"},
  };
  int i = 0;
  for (const auto& [config, expect] : cases) {
    const fs::path dir = tensors_case("c" + std::to_string(i++), [](TensorMap&) {}, config);
    EXPECT_TRUE(refused(dir, {"config.json", expect})) << config;
  }
}

// A config that claims a model far larger than the file (d_model 65536 x 4096 layers, or a 2^24-row vocabulary:
// terabytes of float32) next to the tiny tensors must fail on the first tensor's shape, before anything the
// size of the config is allocated: run with the address space capped at 1 GiB in a child process.
TEST_F(HostileModels, ConfigsClaimingMoreThanTheFileFailBeforeAllocating) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"d_model": 65536, "n_layer": 4096, "vocab_size": 50280})", "has shape"},
      {R"({"d_model": 8, "n_layer": 4096, "vocab_size": 13, "ssm_cfg": {"d_state": 4, "d_conv": 2, "expand": 2}})",
       "missing tensor 'backbone.layers.1."},
      {R"({"d_model": 8, "n_layer": 1, "vocab_size": 16777216, "pad_vocab_size_multiple": 1})", "has shape"},
      {R"({"hidden_size": 65536, "num_hidden_layers": 4096, "vocab_size": 16777216, "state_size": 256,
           "intermediate_size": 262144, "time_step_rank": 262144, "tie_word_embeddings": false})", "has shape"},
  };
  int i = 0;
  for (const auto& [config, expect] : cases) {
    const fs::path dir = tensors_case("big" + std::to_string(i++), [](TensorMap&) {}, config);
    EXPECT_TRUE(refused(dir, {"model.safetensors", expect})) << config;
    if (test::kSanitized) continue;  // ASan/TSan reserve terabytes of address space: no RLIMIT_AS there
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // the child: 1 GiB more address space than it has now, then the load
      const rlim_t cap = address_space_bytes() + (1ull << 30);
      const rlimit limit{cap, cap};
      ::setrlimit(RLIMIT_AS, &limit);
      try {
        (void)load_model(dir.string());
      } catch (const Error& e) {
        ::_exit(std::string(e.what()).find(expect) != std::string::npos ? 0 : 3);
      } catch (...) {
        ::_exit(4);  // e.g. bad_alloc: something sized by the config was allocated
      }
      ::_exit(5);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << config << " status " << status;
  }
}

TEST_F(HostileModels, TensorsMissingExtraMisshapenOrNotFloat) {
  EXPECT_TRUE(refused(tensors_case("missing", [](TensorMap& t) { t.erase("backbone.layers.0.mixer.A_log"); }),
                      {"model.safetensors", "missing tensor 'backbone.layers.0.mixer.A_log'"}));
  EXPECT_TRUE(refused(tensors_case("extra", [](TensorMap& t) { t["backbone.layers.7.mixer.D"] = make_f32({1}, {1}); }),
                      {"model.safetensors", "unexpected tensor 'backbone.layers.7.mixer.D'"}));
  EXPECT_TRUE(refused(tensors_case("shape",
                                   [](TensorMap& t) {
                                     t["backbone.norm_f.weight"] = make_f32({9}, std::vector<float>(9, 1));
                                   }),
                      {"model.safetensors", "backbone.norm_f.weight", "has shape (9,)", "needs (8,)"}));
  EXPECT_TRUE(refused(tensors_case("transposed",
                                   [](TensorMap& t) {
                                     RawTensor& w = t["backbone.layers.0.mixer.out_proj.weight"];
                                     w.shape = {w.shape[1], w.shape[0]};
                                   }),
                      {"model.safetensors", "out_proj.weight", "has shape"}));
  EXPECT_TRUE(refused(tensors_case("int",
                                   [](TensorMap& t) {
                                     t["backbone.norm_f.weight"] = make_i64({8}, std::vector<std::int64_t>(8, 1));
                                   }),
                      {"model.safetensors", "backbone.norm_f.weight", "dtype I64"}));
  EXPECT_TRUE(refused(tensors_case("both-spellings",
                                   [](TensorMap& t) {
                                     t["backbone.embeddings.weight"] = t["backbone.embedding.weight"];
                                   }),
                      {"model.safetensors", "appears twice"}));
  // A hostile tensor name cannot break the message onto a second line.
  EXPECT_TRUE(refused(tensors_case("newline-name", [](TensorMap& t) { t["evil\nname"] = make_f32({1}, {1}); }),
                      {"model.safetensors", "unexpected tensor 'evil\\x0aname'"}));
}

// The untied config expects lm_head.weight; a tied one refuses an lm_head that is not the embedding.
TEST_F(HostileModels, LmHeadAbsentOrContradictingTheTie) {
  const std::string untied = R"({"d_model": 8, "n_layer": 1, "vocab_size": 13, "tie_embeddings": false,
    "ssm_cfg": {"d_state": 4, "d_conv": 2, "expand": 2}})";
  EXPECT_TRUE(refused(tensors_case("untied", [](TensorMap&) {}, untied),
                      {"model.safetensors", "missing tensor 'lm_head.weight'", "does not tie"}));
  EXPECT_TRUE(refused(tensors_case("tied-differs",
                                   [](TensorMap& t) {
                                     t["lm_head.weight"] = make_f32({16, 8}, std::vector<float>(128, 0.5f));
                                   }),
                      {"model.safetensors", "lm_head.weight differs from the embedding"}));
}

// NaN or infinite weights: refused at load, naming the tensor, rather than producing NaN logits later.
TEST_F(HostileModels, NonFiniteWeights) {
  const auto poison = [](float value, const char* name) {
    return [=](TensorMap& t) {
      RawTensor& w = t[name];
      std::vector<float> v = to_f32(w, name);
      v[v.size() / 2] = value;
      w = make_f32(w.shape, v);
    };
  };
  EXPECT_TRUE(refused(tensors_case("nan", poison(std::nanf(""), "backbone.layers.0.mixer.in_proj.weight")),
                      {"model.safetensors", "in_proj.weight", "nan", "finite"}));
  EXPECT_TRUE(refused(tensors_case("inf", poison(std::numeric_limits<float>::infinity(), "backbone.embedding.weight")),
                      {"model.safetensors", "backbone.embedding.weight", "inf"}));
  EXPECT_TRUE(refused(tensors_case("-inf", poison(-std::numeric_limits<float>::infinity(), "backbone.layers.0.mixer.A_log")),
                      {"model.safetensors", "A_log", "-inf"}));
  // F16 infinity (0x7c00) converts to float infinity: refused the same way.
  EXPECT_TRUE(refused(tensors_case("f16-inf",
                                   [](TensorMap& t) {
                                     auto bytes = std::make_shared<std::vector<std::uint16_t>>(8, 0x3c00);
                                     (*bytes)[3] = 0x7c00;
                                     RawTensor h{.dtype = DType::F16, .shape = {8},
                                                 .bytes = std::as_bytes(std::span(*bytes)), .keep_alive = bytes};
                                     t["backbone.norm_f.weight"] = h;
                                   }),
                      {"model.safetensors", "backbone.norm_f.weight", "inf"}));
}

// model.safetensors that is a directory, a FIFO, empty, a symlink to /dev/zero, truncated at many points,
// or whose header is absurd.
TEST_F(HostileModels, TensorFilesThatAreNotTensorFiles) {
  const auto with_tensors = [&](const std::string& name, auto make) {
    const fs::path dir = tensors_case(name, [](TensorMap&) {});
    fs::remove(dir / "model.safetensors");
    make(dir / "model.safetensors");
    return dir;
  };
  EXPECT_TRUE(refused(with_tensors("dir", [](const fs::path& p) { fs::create_directories(p); }),
                      {"model.safetensors", "not a regular file"}));
  EXPECT_TRUE(refused(with_tensors("fifo", [](const fs::path& p) { ASSERT_EQ(::mkfifo(p.c_str(), 0644), 0); }),
                      {"model.safetensors", "not a regular file"}));
  EXPECT_TRUE(refused(with_tensors("zero", [](const fs::path& p) { fs::create_symlink("/dev/zero", p); }),
                      {"model.safetensors", "not a regular file"}));
  EXPECT_TRUE(refused(with_tensors("loop", [](const fs::path& p) { fs::create_symlink(p, p); }),
                      {"model.safetensors", "cannot open"}));
  EXPECT_TRUE(refused(with_tensors("empty", [](const fs::path& p) { test::write_text(p, ""); }),
                      {"model.safetensors", "too short"}));
  EXPECT_TRUE(refused(with_tensors("2^63", [](const fs::path& p) { test::write_text(p, test::le(1ull << 63, 8) + "{}"); }),
                      {"model.safetensors", "header length"}));
  EXPECT_TRUE(refused(with_tensors("text", [](const fs::path& p) { test::write_text(p, "version https://git-lfs"); }),
                      {"model.safetensors", "header length"}));

  // Truncated at many cut points: every one an Error naming the file.
  const fs::path good = tensors_case("good", [](TensorMap&) {});
  const std::string bytes = test::read_text(good / "model.safetensors");
  const std::size_t step = test::quick() ? 97 : 13;
  for (std::size_t cut = 0; cut < bytes.size(); cut += step) {
    const fs::path dir = with_tensors("cut", [&](const fs::path& p) { test::write_text(p, bytes.substr(0, cut)); });
    EXPECT_TRUE(refused(dir, {"model.safetensors"})) << "cut at " << cut;
  }
}

// Headers whose JSON would cost far more memory than its bytes (two bytes per value, a map node per member) are
// refused at a fixed number of values, and __metadata__ at a fixed number of entries.
TEST_F(HostileModels, HeadersThatWouldExplodeInMemory) {
  const auto with_header = [&](const std::string& name, const std::string& header) {
    const fs::path dir = tensors_case(name, [](TensorMap&) {});
    test::write_text(dir / "model.safetensors", test::le(header.size(), 8) + header);
    return dir;
  };
  std::string zeros = "{\"__metadata__\": {\"a\": [0";
  for (std::size_t i = 0; i < kMaxJsonValues; ++i) zeros += ",0";
  EXPECT_TRUE(refused(with_header("zeros", zeros + "]}}"), {"model.safetensors", "JSON values"}));
  std::string entries = "{\"__metadata__\": {\"k\": \"v\"";
  for (std::size_t i = 0; i < kMaxSafetensorsMetadata; ++i) entries += ",\"" + std::to_string(i) + "\":\"\"";
  EXPECT_TRUE(refused(with_header("metadata", entries + "}}"), {"model.safetensors", "__metadata__ has 65537 entries"}));
}

// Sharded checkpoints: the index must name plain files in the folder that exist and hold what it says.
TEST_F(HostileModels, ShardedIndexThatLies) {
  const TensorMap tensors = test::owned_tensors(test::tiny_model());
  const auto sharded = [&](const std::string& name, const std::string& index, bool write_shard = true) {
    const fs::path dir = folder(name);
    fs::create_directories(dir);
    test::write_text(dir / "config.json", test::kTinyConfig);
    if (write_shard) write_safetensors((dir / "model-00001.safetensors").string(), tensors);
    test::write_text(dir / "model.safetensors.index.json", index);
    return dir;
  };
  nlohmann::json map = nlohmann::json::object();
  for (const auto& [name, t] : tensors) map[name] = "model-00001.safetensors";
  const std::string good = nlohmann::json{{"weight_map", map}}.dump();
  EXPECT_NO_THROW((void)load_model(sharded("good", good).string()));

  auto with = [&](const std::string& tensor, const std::string& shard) {
    nlohmann::json m = map;
    m[tensor] = shard;
    return nlohmann::json{{"weight_map", m}}.dump();
  };
  EXPECT_TRUE(refused(sharded("missing-shard", with("backbone.norm_f.weight", "model-00002.safetensors")),
                      {"model-00002.safetensors", "missing", "model.safetensors.index.json"}));
  EXPECT_TRUE(refused(sharded("dotdot", with("backbone.norm_f.weight", "../model-00001.safetensors")),
                      {"model.safetensors.index.json", "'../model-00001.safetensors'", "plain file name"}));
  EXPECT_TRUE(refused(sharded("absolute", with("backbone.norm_f.weight", "/etc/passwd")),
                      {"model.safetensors.index.json", "plain file name"}));
  EXPECT_TRUE(refused(sharded("dot", with("backbone.norm_f.weight", "..")), {"plain file name"}));
  EXPECT_TRUE(refused(sharded("not-listed", with("backbone.no_such.weight", "model-00001.safetensors")),
                      {"model-00001.safetensors", "'backbone.no_such.weight'", "is missing"}));
  EXPECT_TRUE(refused(sharded("no-map", R"({"metadata": {}})"), {"model.safetensors.index.json", "no weight_map"}));
  EXPECT_TRUE(refused(sharded("not-json", "{\"weight_map\": "), {"model.safetensors.index.json", "not valid JSON"}));
  EXPECT_TRUE(refused(sharded("empty-name", with("backbone.norm_f.weight", "")),
                      {"model.safetensors.index.json", "plain file name"}));
  const fs::path fifo = sharded("fifo-shard", good, false);
  ASSERT_EQ(::mkfifo((fifo / "model-00001.safetensors").c_str(), 0644), 0);
  EXPECT_TRUE(refused(fifo, {"model-00001.safetensors", "not a regular file"}));
  const fs::path self = sharded("index-as-shard", with("backbone.norm_f.weight", "model.safetensors.index.json"));
  EXPECT_TRUE(refused(self, {"model.safetensors.index.json"}));
}

// pytorch_model.bin folders: the zip and pickle matrices live in zip_reader_test / pickle_test / torch_bin_test;
// here each kind of refusal is shown to reach the folder level with the file named, and no pickle runs code.
TEST_F(HostileModels, TorchBinFolders) {
  const auto bin_folder = [&](const std::string& name, const std::string& archive) {
    const fs::path dir = folder(name);
    fs::create_directories(dir);
    test::write_text(dir / "config.json", test::kTinyConfig);
    test::write_text(dir / "pytorch_model.bin", archive);
    return dir;
  };
  // The tiny model as torch.save writes it (one storage per tensor).
  const TensorMap tensors = test::owned_tensors(test::tiny_model());
  std::vector<test::TensorSpec> specs;
  std::vector<std::pair<std::string, std::string>> storages;
  for (const auto& [name, t] : tensors) {
    Shape stride(t.shape.size(), 1);
    for (std::size_t i = t.shape.size(); i-- > 1;) stride[i - 1] = stride[i] * t.shape[i];
    const std::string key = std::to_string(storages.size());
    specs.push_back({.name = name, .size = t.shape, .stride = stride,
                     .storage_numel = static_cast<std::int64_t>(t.bytes.size() / 4), .storage_key = key});
    storages.emplace_back(key, std::string(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size()));
  }
  const auto archive = [&](std::string pickle, std::vector<std::pair<std::string, std::string>> st) {
    return test::torch_archive({.pickle = std::move(pickle), .storages = std::move(st)});
  };
  const std::string good = archive(test::state_dict_pickle(specs), storages);
  EXPECT_NO_THROW((void)load_model(bin_folder("good", good).string()));

  const fs::path marker = root_ / "pwned";
  test::PickleWriter system;
  system.proto().global("os", "system").str("touch " + marker.string()).op(0x85).reduce().stop();
  EXPECT_TRUE(refused(bin_folder("os-system", archive(system.bytes(), storages)),
                      {"pytorch_model.bin", "forbidden global 'os.system'"}));
  test::PickleWriter eval;
  eval.proto().global("builtins", "eval").mark().str("__import__('os').system('touch " + marker.string() + "')");
  eval.tuple().reduce().stop();
  EXPECT_TRUE(refused(bin_folder("eval", archive(eval.bytes(), storages)), {"pytorch_model.bin", "builtins.eval"}));
  test::PickleWriter popen;
  popen.proto().str("subprocess").str("Popen").op(0x93).mark().str("touch").str(marker.string()).tuple();
  popen.op(0x85).reduce().stop();
  EXPECT_TRUE(refused(bin_folder("popen", archive(popen.bytes(), storages)),
                      {"pytorch_model.bin", "subprocess.Popen"}));
  EXPECT_FALSE(fs::exists(marker)) << "a pickle ran code";

  // REDUCE on something that is not a rebuild function (a storage type, called).
  test::PickleWriter call_storage;
  call_storage.proto().global("torch", "FloatStorage").empty_tuple().reduce().stop();
  EXPECT_TRUE(refused(bin_folder("call-storage", archive(call_storage.bytes(), storages)),
                      {"pytorch_model.bin", "REDUCE"}));
  // A storage key the archive lacks; a view past its storage; nesting past the limit.
  auto missing = storages;
  missing.pop_back();
  EXPECT_TRUE(refused(bin_folder("missing-storage", archive(test::state_dict_pickle(specs), missing)),
                      {"pytorch_model.bin", "is missing from the archive"}));
  auto past = specs;
  past[0].offset = 5;
  EXPECT_TRUE(refused(bin_folder("view-past", archive(test::state_dict_pickle(past), storages)),
                      {"pytorch_model.bin", "reaches element"}));
  test::PickleWriter deep;
  deep.proto();
  for (int i = 0; i < 100000; ++i) deep.empty_list();
  for (int i = 0; i < 100000; ++i) deep.op('a');
  deep.stop();
  EXPECT_TRUE(refused(bin_folder("deep", archive(deep.bytes(), storages)), {"pytorch_model.bin"}));
  // A zip entry whose recorded size lies.
  std::vector<test::ZipEntrySpec> entries = {{.name = "archive/data.pkl", .data = test::state_dict_pickle(specs)},
                                             {.name = "archive/version", .data = "3\n"}};
  for (const auto& [key, bytes] : storages) entries.push_back({.name = "archive/data/" + key, .data = bytes});
  entries[2].central_size = 1u << 30;
  EXPECT_TRUE(refused(bin_folder("lying-size", test::build_zip(entries)), {"pytorch_model.bin"}));
  // Truncated: every 1/40th of the archive.
  const std::size_t step = std::max<std::size_t>(1, good.size() / (test::quick() ? 8 : 40));
  for (std::size_t cut = 0; cut < good.size(); cut += step)
    EXPECT_TRUE(refused(bin_folder("cut", good.substr(0, cut)), {"pytorch_model.bin"})) << "cut at " << cut;
  // The tensors of a wrong-shaped model: caught by the same check as safetensors.
  auto shape = specs;
  for (auto& s : shape)
    if (s.name == "backbone.norm_f.weight") s.size = {4}, s.stride = {1};
  EXPECT_TRUE(refused(bin_folder("shape", archive(test::state_dict_pickle(shape), storages)),
                      {"pytorch_model.bin", "backbone.norm_f.weight", "has shape (4,)"}));
}

}  // namespace
}  // namespace tinymamba
