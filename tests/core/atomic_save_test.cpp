// Nothing half-written: every file tinymamba writes goes to a temp file that is flushed, fsynced and renamed
// (core/file.hpp). Interrupted saves — by an exception at the test hook, and by SIGKILL at random moments, in
// process and through `tinymamba convert` / `forward` — must leave the previous files intact, and a model
// folder must never hold a config.json beside a model.safetensors it does not describe.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "hostile_support.hpp"
#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/io/safetensors.hpp"

namespace tinymamba {
namespace {

namespace fs = std::filesystem;

// Two models that cannot be confused: different widths, so a config.json of one beside the tensors of the
// other fails to load.
const char* kConfigA = R"({"d_model": 8, "n_layer": 1, "vocab_size": 16, "ssm_cfg": {"d_state": 4, "d_conv": 2}})";
const char* kConfigB = R"({"d_model": 16, "n_layer": 2, "vocab_size": 16, "ssm_cfg": {"d_state": 4, "d_conv": 2}})";

int temp_files_in(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().find(".tmp-") != std::string::npos;
  return n;
}

// Same shape and the same value in every parameter, wherever each model keeps it (a loaded model uses its
// matrices in place from the file; the layout's padding between tensors does not count).
bool same_params(const Model& a, const Model& b) {
  if (a.config.d_model != b.config.d_model || a.layout.size() != b.layout.size()) return false;
  const std::vector<Model::TensorStorage> sa = a.storage(), sb = b.storage();
  for (std::size_t i = 0; i < a.layout.size(); ++i) {
    if (a.layout[i].name != b.layout[i].name || a.layout[i].shape != b.layout[i].shape) return false;
    if (sa[i].type != sb[i].type || sa[i].bytes != sb[i].bytes ||
        std::memcmp(sa[i].data, sb[i].data, static_cast<std::size_t>(sa[i].bytes)) != 0)
      return false;
  }
  return true;
}

// What a folder may hold after an interrupted save: model A, model B, or no config.json (refused by load_model
// with a message naming it) — never a pair that disagrees.
::testing::AssertionResult consistent_folder(const fs::path& dir, const Model& a, const Model& b) {
  if (!fs::exists(dir / "config.json")) {
    try {
      (void)load_model(dir.string());
    } catch (const Error& e) {
      if (std::string(e.what()).find("config.json") != std::string::npos) return ::testing::AssertionSuccess();
      return ::testing::AssertionFailure() << "unexpected error: " << e.what();
    }
    return ::testing::AssertionFailure() << "loaded without config.json";
  }
  try {
    const Model m = load_model(dir.string());
    if (same_params(m, a) || same_params(m, b)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "the folder holds neither model";
  } catch (const Error& e) {
    return ::testing::AssertionFailure() << "config.json and model.safetensors disagree: " << e.what();
  }
}

class AtomicSave : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("atomic-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { set_write_interrupt_for_testing(nullptr); }
  fs::path dir_;
};

TEST_F(AtomicSave, AStagedFileNeverCommittedLeavesNothing) {
  const std::string path = (dir_ / "f.txt").string();
  write_file_atomic(path, [](const ByteSink& sink) { sink("old", 3); });
  {
    StagedFile staged(path, [](const ByteSink& sink) { sink("new", 3); });
    EXPECT_EQ(test::read_text(path), "old");
    EXPECT_EQ(temp_files_in(dir_), 1);
  }
  EXPECT_EQ(test::read_text(path), "old");
  EXPECT_EQ(temp_files_in(dir_), 0);
  EXPECT_THROW(write_file_atomic(path, [](const ByteSink&) { throw Error("writer failed"); }), Error);
  EXPECT_EQ(test::read_text(path), "old");
  EXPECT_EQ(temp_files_in(dir_), 0);
}

// The hook throws while the first, then the second, of save_model_hf's two files is being written: the
// previous checkpoint is intact and no temp file is left.
TEST_F(AtomicSave, InterruptedSaveModelKeepsThePreviousCheckpoint) {
  const Model a = test::tiny_model(kConfigA), b = test::tiny_model(kConfigB);
  save_model_hf(a, dir_.string());
  for (int interrupt_at = 1; interrupt_at <= 2; ++interrupt_at) {
    int files = 0;
    set_write_interrupt_for_testing([&](std::size_t bytes) {
      if (++files == interrupt_at) throw Error(cat("simulated crash after ", bytes, " bytes"));
    });
    EXPECT_THROW(save_model_hf(b, dir_.string()), Error);
    set_write_interrupt_for_testing(nullptr);
    EXPECT_TRUE(same_params(load_model(dir_.string()), a)) << "interrupted at file " << interrupt_at;
    EXPECT_EQ(temp_files_in(dir_), 0);
  }
  save_model_hf(b, dir_.string());
  EXPECT_TRUE(same_params(load_model(dir_.string()), b));
}

// A child process saves A and B in turn, forever; it is killed with SIGKILL at a random moment, many times.
TEST_F(AtomicSave, SaveModelKilledAtRandomMomentsNeverMismatches) {
  const Model a = test::tiny_model(kConfigA), b = test::tiny_model(kConfigB);
  save_model_hf(a, dir_.string());
  std::mt19937 rng(12345);
  const int rounds = test::quick() ? 8 : 40;
  for (int round = 0; round < rounds; ++round) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (std::uint64_t i = 0;; ++i) {
        try {
          save_model_hf(i % 2 ? a : b, dir_.string());
        } catch (...) {
          ::_exit(3);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 40000)(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the saver stopped by itself, status " << status;
    ASSERT_TRUE(consistent_folder(dir_, a, b)) << "round " << round << " (seed 12345)";
  }
}

// The same through the program: `tinymamba convert` killed at random moments into a folder that already holds
// a converted model, and `forward --out` killed over an existing output.
TEST_F(AtomicSave, ConvertAndForwardKilledAtRandomMoments) {
  const Model a = test::tiny_model(kConfigA), b = test::tiny_model(kConfigB);
  const fs::path src = dir_ / "src", out = dir_ / "out";
  save_model_hf(b, src.string());
  save_model_hf(a, out.string());
  const fs::path ids = dir_ / "ids.safetensors", fwd = dir_ / "fwd.safetensors";
  write_safetensors(ids.string(), {{"input_ids", make_i64({1, 4}, {1, 2, 3, 4})}});
  write_safetensors(fwd.string(), {{"previous", make_f32({1}, {7})}});
  std::mt19937 rng(777);
  const int rounds = test::quick() ? 4 : 12;
  for (int round = 0; round < rounds; ++round) {
    const int delay_us = std::uniform_int_distribution<int>(0, test::kSanitized ? 400000 : 60000)(rng);
    const std::string kill = " & pid=$!; sleep " + std::to_string(delay_us / 1e6) + "; kill -9 $pid 2>/dev/null; wait $pid";
    const std::string cli = test::shell_quote(test::cli_path());
    int rc = std::system(("(" + cli + " convert -m " + test::shell_quote(src.string()) + " --out " +
                 test::shell_quote(out.string()) + " >/dev/null 2>&1" + kill + ") >/dev/null 2>&1")
                    .c_str());
    ASSERT_TRUE(consistent_folder(out, a, b)) << "convert, round " << round << " (seed 777)";
    rc = std::system(("(" + cli + " forward -m " + test::shell_quote(src.string()) + " --input " +
                 test::shell_quote(ids.string()) + " --out " + test::shell_quote(fwd.string()) + " >/dev/null 2>&1" +
                 kill + ") >/dev/null 2>&1")
                    .c_str());
    (void)rc;  // the status of a killed command says nothing; the files do
    const SafetensorsFile f = read_safetensors(fwd.string());  // the old output or the new one, whole
    EXPECT_TRUE(f.tensors.count("previous") || f.tensors.count("logits")) << "forward, round " << round;
  }
}

}  // namespace
}  // namespace tinymamba
