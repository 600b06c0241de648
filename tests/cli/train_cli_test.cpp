// `tinymamba train` and `tinymamba eval` run as a user runs them: a tiny model on a tiny file, a split run
// resumed to the same bytes, the JSON of eval, the default-model lookup, and bad flags giving one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "run_cli.hpp"
#include "test_paths.hpp"

namespace tinymamba {
namespace {
namespace fs = std::filesystem;

using Result = test::CliResult;  // the exit status (-1 when killed by a signal), stdout, stderr
using test::slurp;

// Runs the CLI with `args` (shell words, already quoted), capturing stdout and stderr.
Result run(const fs::path& dir, const std::string& args, const std::string& env = "") {
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd = env + " OMP_NUM_THREADS=1 " + test::cli_path() + " " + args + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  Result r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::string corpus() {
  std::string text;
  const char* lines[] = {"ROMEO:\nBut soft, what light through yonder window breaks?\n",
                         "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n", "\n"};
  for (int i = 0; i < 60; ++i) text += lines[i % 3];
  return text;
}

struct CliFixture {
  fs::path dir;
  std::string data;
  explicit CliFixture(const std::string& name) : dir(test::temp_dir(name)) {
    data = (dir / "corpus.txt").string();
    std::ofstream(data, std::ios::binary) << corpus();
  }
  ~CliFixture() { fs::remove_all(dir); }
  [[nodiscard]] std::string train_args(const std::string& out, const std::string& extra) const {
    return "train --data " + data + " --bytes --config tiny --batch 2 --seq-len 24 --lr 3e-3 --warmup 1 --seed 3 --threads 1 --out " +
           (dir / out).string() + " " + extra;
  }
};

TEST(TrainCli, TrainsEvaluatesAndWritesEverything) {
  CliFixture f("cli-train");
  const Result t = run(f.dir, f.train_args("m", "--steps 4 --eval-every 2 --eval-tokens 64"));
  ASSERT_EQ(t.status, 0) << t.err;
  for (const char* file : {"config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json",
                           "tokenizer.json", "log.csv", "loss.svg"})
    EXPECT_TRUE(fs::exists(f.dir / "m" / file)) << file;
  const std::string log = slurp(f.dir / "m" / "log.csv");
  EXPECT_EQ(log.rfind("step,loss,val_loss,lr,grad_norm,tok_s\n", 0), 0u) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 5) << log;  // header + 4 updates
  EXPECT_NE(t.err.find("step 4/4"), std::string::npos) << t.err;  // the progress line
  EXPECT_NE(t.out.find("bits/byte"), std::string::npos) << t.out;

  const Result e = run(f.dir, "eval -m " + (f.dir / "m").string() + " --data " + f.data + " --json --seq-len 32");
  ASSERT_EQ(e.status, 0) << e.err;
  const auto j = nlohmann::json::parse(e.out);
  const double loss = j.at("loss"), ppl = j.at("perplexity"), bpb = j.at("bits_per_byte");
  EXPECT_GT(loss, 0);
  EXPECT_NEAR(ppl, std::exp(loss), 1e-9 * ppl);
  EXPECT_NEAR(bpb, loss / std::log(2.0), 1e-9 * bpb);  // bytes: one token per byte
  EXPECT_EQ(j.at("tokens").get<std::int64_t>(), static_cast<std::int64_t>(corpus().size()) - 1);

  // The default model is found through TINYMAMBA_DEFAULT_MODEL when -m is not given.
  const Result d = run(f.dir, "eval --data " + f.data + " --json --seq-len 32",
                       "TINYMAMBA_DEFAULT_MODEL=" + (f.dir / "m").string());
  ASSERT_EQ(d.status, 0) << d.err;
  EXPECT_EQ(nlohmann::json::parse(d.out).at("loss").get<double>(), loss);
  const Result txt = run(f.dir, "eval -m " + (f.dir / "m").string() + " --data " + f.data + " --split val");
  ASSERT_EQ(txt.status, 0) << txt.err;
  EXPECT_NE(txt.out.find("perplexity"), std::string::npos);
  EXPECT_NE(txt.out.find("bits per byte"), std::string::npos);

  // A second train into the same folder refuses to overwrite the checkpoint.
  const Result again = run(f.dir, f.train_args("m", "--steps 4"));
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
}

TEST(TrainCli, ThreeStepsThenAResumeToSixIsBitIdenticalToSix) {
  CliFixture f("cli-resume");
  ASSERT_EQ(run(f.dir, f.train_args("six", "--steps 6 --eval-every 0")).status, 0);
  // --schedule-steps 6: the first part uses the 6-update schedule (by default the schedule spans --steps).
  const Result a = run(f.dir, f.train_args("split", "--steps 3 --schedule-steps 6 --eval-every 0"));
  ASSERT_EQ(a.status, 0) << a.err;
  const Result b = run(f.dir, "train --resume " + (f.dir / "split").string() + " --steps 6 --threads 1");
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_NE(b.err.find("resuming at step 3"), std::string::npos) << b.err;
  for (const char* file : {"model.safetensors", "optimizer.safetensors"})
    EXPECT_TRUE(slurp(f.dir / "six" / file) == slurp(f.dir / "split" / file)) << file << " differs";
  const auto s6 = nlohmann::json::parse(slurp(f.dir / "six" / "trainer_state.json"));
  const auto sp = nlohmann::json::parse(slurp(f.dir / "split" / "trainer_state.json"));
  EXPECT_EQ(sp.at("step"), 6);
  EXPECT_EQ(s6.at("data_position"), sp.at("data_position"));
  // The command line the run was started with is accepted by a resume (--config agrees with the checkpoint); a
  // --config that describes another model is an error naming the field.
  const Result same = run(f.dir, f.train_args("split", "--steps 6 --resume " + (f.dir / "split").string()));
  EXPECT_EQ(same.status, 0) << same.err;
  const Result other = run(f.dir, "train --resume " + (f.dir / "split").string() + " --config small --steps 7");
  EXPECT_NE(other.status, 0);
  EXPECT_NE(other.err.find("--config small: d_model = 128 but the checkpoint's model has 64"), std::string::npos)
      << other.err;
  // --steps is the total: below the checkpoint's step is an error (one line, before anything else is printed).
  const Result below = run(f.dir, "train --resume " + (f.dir / "split").string() + " --steps 2 --threads 1");
  EXPECT_NE(below.status, 0);
  EXPECT_EQ(std::count(below.err.begin(), below.err.end(), '\n'), 1) << below.err;
  EXPECT_NE(below.err.find("--steps"), std::string::npos) << below.err;
}

// A Mamba-2 model trains from its preset, saves a checkpoint whose transformers config (time_step_limit with
// Python's Infinity) reads back, resumes to the same bytes as an unbroken run, and evaluates.
TEST(TrainCli, Mamba2TrainsResumesBitIdenticallyAndEvaluates) {
  CliFixture f("cli-train-mamba2");
  const std::string common = "train --data " + f.data + " --bytes --config mamba2-tiny --batch 2 --seq-len 24 "
                             "--lr 3e-3 --warmup 1 --seed 3 --threads 1 --eval-every 0 --out ";
  ASSERT_EQ(run(f.dir, common + (f.dir / "six").string() + " --steps 6").status, 0);
  const Result a = run(f.dir, common + (f.dir / "split").string() + " --steps 3 --schedule-steps 6");
  ASSERT_EQ(a.status, 0) << a.err;
  const Result b = run(f.dir, "train --resume " + (f.dir / "split").string() + " --steps 6 --threads 1");
  ASSERT_EQ(b.status, 0) << b.err;
  for (const char* file : {"model.safetensors", "optimizer.safetensors"})
    EXPECT_TRUE(slurp(f.dir / "six" / file) == slurp(f.dir / "split" / file)) << file << " differs";
  EXPECT_NE(slurp(f.dir / "six" / "config.json").find("\"model_type\": \"mamba2\""), std::string::npos);
  const Result e = run(f.dir, "eval -m " + (f.dir / "six").string() + " --data " + f.data + " --json --seq-len 32");
  ASSERT_EQ(e.status, 0) << e.err;
  const double loss = nlohmann::json::parse(e.out).at("loss");
  EXPECT_GT(loss, 0);
  EXPECT_LT(loss, std::log(256.0));  // six updates on a repetitive text already beat a uniform guess
}

TEST(TrainCli, EvalUsesTheShippedModelWithoutDashM) {
  if (!fs::exists(test::source_dir() / "models" / "tinyshakespeare" / "model.safetensors")) GTEST_SKIP();
  CliFixture f("cli-default");
  const Result e = run(f.dir, "eval --data " + f.data + " --json", "env -u TINYMAMBA_DEFAULT_MODEL");
  ASSERT_EQ(e.status, 0) << e.err;
  const auto j = nlohmann::json::parse(e.out);
  EXPECT_NE(j.at("model").get<std::string>().find("models/tinyshakespeare"), std::string::npos);
  // A trained model: far below the 8 bits/byte of a uniform guess on this Shakespeare-like text.
  EXPECT_LT(j.at("bits_per_byte").get<double>(), 4.0) << e.out;
}

TEST(TrainCli, TrainsThroughABpeTokenizer) {
  const fs::path tok = test::shared_dir() / "tokenizer" / "gpt-neox-20b.json";
  if (!fs::exists(tok)) GTEST_SKIP() << tok << " is not there";
  CliFixture f("cli-bpe");
  const Result t = run(f.dir, "train --data " + f.data + " --tokenizer " + tok.string() +
                                  " --config tiny --steps 2 --batch 1 --seq-len 16 --threads 1 --out " + (f.dir / "m").string());
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_EQ(slurp(f.dir / "m" / "tokenizer.json"), slurp(tok));  // the folder carries its tokenizer
  const auto cfg = nlohmann::json::parse(slurp(f.dir / "m" / "config.json"));
  EXPECT_GE(cfg.at("vocab_size").get<std::int64_t>(), 50277);
  // eval finds the tokenizer in the model folder; a BPE token covers several bytes, so bits/byte < loss/ln 2.
  const Result e = run(f.dir, "eval -m " + (f.dir / "m").string() + " --data " + f.data + " --json");
  ASSERT_EQ(e.status, 0) << e.err;
  const auto j = nlohmann::json::parse(e.out);
  EXPECT_LT(j.at("tokens").get<double>(), j.at("bytes").get<double>());
  EXPECT_NEAR(j.at("bits_per_byte").get<double>(),
              j.at("loss").get<double>() * j.at("tokens").get<double>() / std::log(2.0) / j.at("bytes").get<double>(), 1e-9);
}

TEST(TrainCli, BadFlagsGiveOneLineErrorsNamingTheFlagOrFile) {
  CliFixture f("cli-bad");
  const std::string empty = (f.dir / "empty.txt").string();
  std::ofstream(empty).close();
  const std::string base = "train --bytes --config tiny --out " + (f.dir / "o").string() + " ";
  const std::string ok = "--data " + f.data + " --steps 2 --batch 1 --seq-len 8 ";
  const struct {
    std::string args, must_name;
  } cases[] = {
      {base + "--data " + f.data + " --steps 0 --batch 1 --seq-len 8", "--steps"},
      {base + "--data " + f.data + " --steps -5 --batch 1 --seq-len 8", "--steps"},
      {base + "--data " + f.data + " --steps 2 --batch 0 --seq-len 8", "--batch"},
      {base + "--data " + f.data + " --steps 2 --batch -1 --seq-len 8", "--batch"},
      {base + "--data " + f.data + " --steps 2 --batch 1 --seq-len 0", "--seq-len"},
      {base + "--data " + f.data + " --steps 2 --batch 1 --seq-len -8", "--seq-len"},
      {base + ok + "--lr nan", "--lr"},
      {base + ok + "--lr -1", "--lr"},
      {base + "--data " + f.data + " --steps 2 --batch 1 --seq-len 100000", "--seq-len"},
      {base + "--data " + (f.dir / "missing.txt").string() + " --steps 2 --batch 1 --seq-len 8", "missing.txt"},
      {base + "--data " + empty + " --steps 2 --batch 1 --seq-len 8", "empty.txt"},
      {base + "--steps 2 --batch 1 --seq-len 8", "--data"},
      {"train --data " + f.data + " --bytes --steps 2 --batch 1 --seq-len 8 --out " + (f.dir / "o").string(), "--config"},
      {"train --bytes --config nosuchpreset --out " + (f.dir / "o").string() + " " + ok, "nosuchpreset"},
      {"train --resume " + (f.dir / "nothing").string() + " --out " + (f.dir / "o").string(), "nothing"},
      {"eval -m " + (f.dir / "nothing").string() + " --data " + f.data, "nothing"},
      {"eval -m " + (f.dir / "nothing").string(), "--data"},
  };
  for (const auto& c : cases) {
    const Result r = run(f.dir, c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.must_name), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_FALSE(fs::exists(f.dir / "o" / "model.safetensors")) << c.args;
  }
}

}  // namespace
}  // namespace tinymamba
