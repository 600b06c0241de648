// Training checkpoints: a run split by a checkpoint is bit-identical to one run; an interrupted save leaves the
// previous checkpoint intact and loadable; a crash in the middle of the commit is finished on the next load.
#include "tinymamba/train/checkpoint.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "small_models.hpp"
#include "test_paths.hpp"
#include "tinymamba/core/error.hpp"
#include "tinymamba/core/file.hpp"
#include "tinymamba/io/model_folder.hpp"
#include "tinymamba/model/init.hpp"
#include "tinymamba/train/byte_tokenizer.hpp"
#include "tinymamba/train/trainer.hpp"

namespace tinymamba::train {
namespace {
namespace fs = std::filesystem;

Config tiny_config() { return test::small_config({.d_model = 16, .n_layer = 2, .vocab_size = 256, .d_state = 4}); }

std::string corpus() {
  std::string text;
  const char* words[] = {"the ", "king ", "and ", "queen ", "of ", "verona ", "speak ", "softly, ", "\n"};
  for (int i = 0; i < 600; ++i) text += words[(i * 7 + i / 3) % 9];
  return text;
}

struct Fixture {
  fs::path dir;
  std::string data_path;
  DataSplit data;
  TrainSettings settings;
  explicit Fixture(const std::string& name) : dir(test::temp_dir(name)) {
    data_path = (dir / "corpus.txt").string();
    std::ofstream(data_path, std::ios::binary) << corpus();
    data = load_split(data_path, byte_encoder());
    settings.data = data_path;
    settings.steps = 6;
    settings.batch = 2;
    settings.seq_len = 16;
    settings.warmup = 2;
    settings.lr = 1e-2;
    settings.min_lr = 1e-3;
    settings.eval_every = 0;
    settings.seed = 5;
  }
  ~Fixture() { fs::remove_all(dir); }
};

struct TrainRun {
  Model model;
  AdamW opt;
  TrainingState state;
};

TrainRun fresh(const TrainSettings& s) {
  Model m(tiny_config());
  init_parameters(m, s.seed);
  AdamW opt(m.layout, static_cast<std::int64_t>(m.params.size()), s.adamw, decay_flags(m.layout, s.no_decay));
  return {std::move(m), std::move(opt), TrainingState{.step = 0, .sampler = {}, .settings = s, .elapsed_seconds = 0}};
}

RunOptions quiet(const fs::path& out, std::int64_t stop_after = 0) {
  RunOptions o;
  o.out_dir = out.string();
  o.progress = false;
  o.stop_after = stop_after;
  o.extra_files["tokenizer.json"] = byte_level_tokenizer_json();
  return o;
}

template <class A, class B>
bool bitwise_equal(const A& a, const B& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0;
}

TEST(TrainCheckpoint, SixUpdatesEqualThreeThenAResumeToSixBitForBit) {
  Fixture f("ckpt-resume");
  TrainRun one = fresh(f.settings);
  run_training(one.model, one.opt, one.state, f.data, {}, quiet(f.dir / "one"));
  ASSERT_EQ(one.state.step, 6);

  TrainRun first = fresh(f.settings);
  run_training(first.model, first.opt, first.state, f.data, {}, quiet(f.dir / "split", 3));
  ASSERT_EQ(first.state.step, 3);
  LoadedCheckpoint ck = load_training_checkpoint((f.dir / "split").string());
  ASSERT_EQ(ck.state.step, 3);
  ASSERT_EQ(ck.optimizer.steps(), 3);
  EXPECT_TRUE(bitwise_equal(ck.model.params, first.model.params));
  const auto log = parse_log_csv(read_text_file((f.dir / "split" / kLogFile).string()), "log");
  ASSERT_EQ(log.size(), 3u);
  run_training(ck.model, ck.optimizer, ck.state, f.data, log, quiet(f.dir / "split"));
  ASSERT_EQ(ck.state.step, 6);

  EXPECT_TRUE(bitwise_equal(ck.model.params, one.model.params)) << "parameters differ after the resume";
  EXPECT_TRUE(bitwise_equal(ck.optimizer.exp_avg(), one.opt.exp_avg())) << "exp_avg differs";
  EXPECT_TRUE(bitwise_equal(ck.optimizer.exp_avg_sq(), one.opt.exp_avg_sq())) << "exp_avg_sq differs";
  EXPECT_EQ(ck.optimizer.steps(), one.opt.steps());
  EXPECT_EQ(ck.state.sampler.rng, one.state.sampler.rng);
  EXPECT_EQ(ck.state.sampler.batches, 6);
  // And what is on disk: the two folders hold the same model and optimizer files, byte for byte.
  for (const char* file : {"model.safetensors", "optimizer.safetensors"})
    EXPECT_EQ(read_text_file((f.dir / "one" / file).string(), 1 << 26), read_text_file((f.dir / "split" / file).string(), 1 << 26))
        << file;
  const auto log_one = parse_log_csv(read_text_file((f.dir / "one" / kLogFile).string()), "log");
  const auto log_split = parse_log_csv(read_text_file((f.dir / "split" / kLogFile).string()), "log");
  ASSERT_EQ(log_one.size(), 6u);
  ASSERT_EQ(log_split.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(log_one[i].loss, log_split[i].loss) << i;
}

struct HookGuard {
  ~HookGuard() {
    set_write_interrupt_for_testing(nullptr);
    set_commit_interrupt_for_testing(nullptr);
  }
};

TEST(TrainCheckpoint, AnInterruptedSaveLeavesThePreviousCheckpointIntact) {
  Fixture f("ckpt-interrupt");
  HookGuard guard;
  const fs::path dir = f.dir / "run";
  TrainRun r = fresh(f.settings);
  run_training(r.model, r.opt, r.state, f.data, {}, quiet(dir, 3));
  const LoadedCheckpoint at3 = load_training_checkpoint(dir.string());
  ASSERT_EQ(at3.state.step, 3);
  TrainRun later = fresh(f.settings);  // a different state to save over it: step 6
  run_training(later.model, later.opt, later.state, f.data, {}, quiet(f.dir / "other"));
  const std::map<std::string, std::string> extra = {{"tokenizer.json", byte_level_tokenizer_json()}};

  // A save writes 6 files (config, model, optimizer, tokenizer, trainer state, commit record): crash in each.
  for (int crash_at = 1; crash_at <= 6; ++crash_at) {
    int writes = 0;
    set_write_interrupt_for_testing([&](std::size_t) {
      if (++writes == crash_at) throw Error("simulated crash");
    });
    EXPECT_THROW(save_training_checkpoint(dir.string(), later.model, later.opt, later.state, extra), Error)
        << "crash at write " << crash_at;
    set_write_interrupt_for_testing(nullptr);
    // A plain model load (what generate/eval do) sees the previous model...
    Model plain = load_model(dir.string());
    plain.make_owned();  // its matrices out of the mapped file, into params
    EXPECT_TRUE(bitwise_equal(plain.params, at3.model.params)) << "crash at write " << crash_at;
    // ... and the training checkpoint is the previous one, whole.
    const LoadedCheckpoint back = load_training_checkpoint(dir.string());
    EXPECT_EQ(back.state.step, 3) << "crash at write " << crash_at;
    EXPECT_TRUE(bitwise_equal(back.model.params, at3.model.params));
    EXPECT_TRUE(bitwise_equal(back.optimizer.exp_avg(), at3.optimizer.exp_avg()));
    EXPECT_TRUE(bitwise_equal(back.optimizer.exp_avg_sq(), at3.optimizer.exp_avg_sq()));
    EXPECT_EQ(back.state.sampler.rng, at3.state.sampler.rng);
    EXPECT_FALSE(fs::exists(dir / kStagingDir)) << "the partial save was cleaned up";
  }

  // A crash after the commit record, between the renames: the next load finishes the save (step 6, whole).
  for (int crash_after = 1; crash_after <= 4; ++crash_after) {
    const LoadedCheckpoint before = load_training_checkpoint(dir.string());
    save_training_checkpoint(dir.string(), before.model, before.optimizer, before.state, extra);  // back to step 3
    set_commit_interrupt_for_testing([&](int renamed) {
      if (renamed == crash_after) throw Error("simulated crash during commit");
    });
    EXPECT_THROW(save_training_checkpoint(dir.string(), later.model, later.opt, later.state, extra), Error);
    set_commit_interrupt_for_testing(nullptr);
    EXPECT_EQ(recover_checkpoint(dir.string()), Recovery::finished_committed_save);
    const LoadedCheckpoint back = load_training_checkpoint(dir.string());
    EXPECT_EQ(back.state.step, 6) << "crash after rename " << crash_after;
    EXPECT_TRUE(bitwise_equal(back.model.params, later.model.params));
    EXPECT_TRUE(bitwise_equal(back.optimizer.exp_avg_sq(), later.opt.exp_avg_sq()));
    // roll the folder back to step 3 for the next round
    save_training_checkpoint(dir.string(), at3.model, at3.optimizer, at3.state, extra);
  }
}

TEST(TrainCheckpoint, MismatchedOrMissingFilesAreErrorsNamingThem) {
  Fixture f("ckpt-errors");
  const fs::path dir = f.dir / "run";
  EXPECT_THROW((void)load_training_checkpoint(dir.string()), Error);
  TrainRun r = fresh(f.settings);
  run_training(r.model, r.opt, r.state, f.data, {}, quiet(dir, 2));
  fs::remove(dir / kOptimizerFile);
  try {
    (void)load_training_checkpoint(dir.string());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(kOptimizerFile), std::string::npos) << e.what();
  }
}

TEST(TrainLog, CsvRoundTripAndSvg) {
  std::vector<LogRow> rows = {{1, 5.5, -1, 1e-3, 1.25, 1000}, {2, 5.25, 5.3, 2e-3, 0.75, 1100.5}};
  const auto back = parse_log_csv(log_csv(rows), "log.csv");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].val_loss, -1);
  EXPECT_DOUBLE_EQ(back[1].val_loss, 5.3);
  EXPECT_DOUBLE_EQ(back[1].lr, 2e-3);
  const std::string svg = loss_curve_svg(rows, "a <title>");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("a &lt;title&gt;"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_THROW((void)parse_log_csv("step,loss\n1,2\n", "bad.csv"), Error);
}

}  // namespace
}  // namespace tinymamba::train
