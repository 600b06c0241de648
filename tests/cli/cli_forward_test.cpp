// `tinymamba forward`, `info` and `convert` run as a user runs them: outputs against the goldens, and bad
// input → exit status 1 with one line naming the problem.
#include <gtest/gtest.h>

#include <cmath>

#include "run_cli.hpp"
#include "test_paths.hpp"
#include "tinymamba/io/safetensors.hpp"

namespace tinymamba {
namespace {

using test::run_cli;
using test::shell_quote;

std::string golden_model(const std::string& folder) { return (test::golden_dir() / "tiny-mamba" / folder).string(); }

// The expectations' input_ids in a file of their own, as a user would pass them.
std::string write_ids(const std::filesystem::path& dir) {
  const auto exp = read_safetensors((test::golden_dir() / "tiny-mamba" / "expected.safetensors").string());
  const std::string path = (dir / "ids.safetensors").string();
  write_safetensors(path, {{"input_ids", exp.tensors.at("input_ids")}});
  return path;
}

double max_diff(const RawTensor& a, const RawTensor& b) {
  const auto x = to_f32(a, "a"), y = to_f32(b, "b");
  EXPECT_EQ(x.size(), y.size());
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, static_cast<double>(std::fabs(x[i] - y[i])));
  return m;
}

TEST(CliForward, ReproducesTheExpectedLogitsAndWritesLossGradsStates) {
  const auto dir = test::temp_dir("cli-forward");
  const std::string ids = write_ids(dir), out = (dir / "out.safetensors").string();
  const auto r = run_cli("forward -m " + shell_quote(golden_model("hf")) + " --input " + shell_quote(ids) + " --out " +
                         shell_quote(out) + " --loss --grads --states");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto got = read_safetensors(out);
  const auto exp = read_safetensors((test::golden_dir() / "tiny-mamba" / "expected.safetensors").string());
  // 1e-5 of the largest logit (see tests/golden/checkpoint_cases.cpp for why).
  EXPECT_LE(max_diff(got.tensors.at("logits"), exp.tensors.at("logits")), 1e-5);
  EXPECT_EQ(got.tensors.at("loss").shape, (Shape{1}));
  EXPECT_EQ(got.tensors.at("grad.backbone.embedding.weight").shape, (Shape{256, 64}));
  EXPECT_EQ(got.tensors.at("state.layers.1.conv_state").shape, (Shape{2, 128, 4}));
  EXPECT_EQ(got.tensors.at("state.layers.1.ssm_state").shape, (Shape{2, 128, 16}));

  // Recurrent mode and prefill + step give the same logits within float32 rounding.
  for (const std::string mode : {"--mode recurrent", "--prefill 5"}) {
    const std::string out2 = (dir / "rec.safetensors").string();
    const auto r2 = run_cli("forward -m " + shell_quote(golden_model("hf")) + " --input " + shell_quote(ids) +
                            " --out " + shell_quote(out2) + " " + mode);
    ASSERT_EQ(r2.status, 0) << r2.err;
    EXPECT_LE(max_diff(read_safetensors(out2).tensors.at("logits"), exp.tensors.at("logits")), 1e-5) << mode;
  }
}

TEST(CliForward, BadInputsAreOneLineErrors) {
  const auto dir = test::temp_dir("cli-forward-bad");
  const std::string ids = write_ids(dir), out = (dir / "o.safetensors").string();
  write_safetensors((dir / "float_ids.safetensors").string(), {{"input_ids", make_f32({1, 2}, {1, 2})}});
  write_safetensors((dir / "big_ids.safetensors").string(), {{"input_ids", make_i64({1, 2}, {1, 256})}});
  write_safetensors((dir / "flat_ids.safetensors").string(), {{"input_ids", make_i64({2}, {1, 2})}});
  write_safetensors((dir / "no_ids.safetensors").string(), {{"x", make_i64({1, 1}, {1})}});
  const std::string m = shell_quote(golden_model("hf"));
  const std::pair<std::string, std::string> cases[] = {
      {"forward -m /nonexistent --input " + ids + " --out " + out, "not a directory"},
      {"forward -m " + m + " --input /nonexistent.safetensors --out " + out, "cannot open"},
      {"forward -m " + m + " --input " + (dir / "float_ids.safetensors").string() + " --out " + out, "integer tensor"},
      {"forward -m " + m + " --input " + (dir / "big_ids.safetensors").string() + " --out " + out, "outside the vocabulary"},
      {"forward -m " + m + " --input " + (dir / "flat_ids.safetensors").string() + " --out " + out, "shape (b, l)"},
      {"forward -m " + m + " --input " + (dir / "no_ids.safetensors").string() + " --out " + out, "no tensor named input_ids"},
      {"forward -m " + m + " --input " + ids + " --out " + out + " --scan nope", "unknown scan algorithm"},
      {"forward -m " + m + " --input " + ids + " --out " + out + " --mode sideways", "--mode"},
      {"forward -m " + m + " --input " + ids + " --out " + out + " --prefill 99", "--prefill"},
      {"forward -m " + m + " --input " + ids + " --out " + out + " --grads --mode recurrent", "--grads"},
      {"forward -m " + m + " --input " + ids + " --out /nonexistent-dir/o.safetensors", "cannot create"},
      {"info -m " + dir.string(), "config.json"},
  };
  for (const auto& [args, expect] : cases) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.status, 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  }
}

TEST(CliInfoConvert, ReportsAndConvertsTheTinyModel) {
  const auto r = run_cli("info -m " + shell_quote(golden_model("hf")));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("parameters:   81,856"), std::string::npos) << r.out;
  const auto dir = test::temp_dir("cli-convert");
  const auto c = run_cli("convert -m " + shell_quote(golden_model("hf")) + " --out " + shell_quote((dir / "m").string()));
  ASSERT_EQ(c.status, 0) << c.err;
  const auto a = read_safetensors((dir / "m" / "model.safetensors").string());
  const auto b = read_safetensors((test::golden_dir() / "tiny-mamba" / "hf" / "model.safetensors").string());
  EXPECT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : b.tensors) EXPECT_EQ(max_diff(a.tensors.at(name), t), 0.0) << name;
}

// The same commands on the Mamba-2 checkpoints: forward (parallel with either SSD algorithm, recurrent, prefill +
// step) reproduces the expected logits of the official code, states come in the official shapes, info names
// the mixer, convert round-trips, and Mamba-1's logspace scan is refused by name.
TEST(CliForward, Mamba2ForwardInfoConvert) {
  const auto dir = test::temp_dir("cli-forward-mamba2");
  const auto exp = read_safetensors((test::golden_dir() / "tiny-mamba2" / "expected.safetensors").string());
  const std::string ids = (dir / "ids.safetensors").string(), out = (dir / "out.safetensors").string();
  write_safetensors(ids, {{"input_ids", exp.tensors.at("input_ids")}});
  const std::string m = shell_quote((test::golden_dir() / "tiny-mamba2" / "official").string());
  for (const std::string flags : {"--loss --grads --states --scan chunked", "--scan sequential", "--mode recurrent",
                                  "--prefill 7 --states"}) {
    const auto r = run_cli("forward -m " + m + " --input " + shell_quote(ids) + " --out " + shell_quote(out) + " " + flags);
    ASSERT_EQ(r.status, 0) << flags << ": " << r.err;
    const auto got = read_safetensors(out);
    // 1e-5 of the largest logit, as for Mamba-1 (tests/golden/checkpoint_cases.cpp says why).
    EXPECT_LE(max_diff(got.tensors.at("logits"), exp.tensors.at("logits")), 1e-5) << flags;
    if (flags.find("--states") != std::string::npos) {
      EXPECT_EQ(got.tensors.at("state.layers.1.conv_state").shape, (Shape{2, 160, 4}));
      EXPECT_EQ(got.tensors.at("state.layers.1.ssm_state").shape, (Shape{2, 8, 16, 16}));
    }
  }
  const auto bad = run_cli("forward -m " + m + " --input " + shell_quote(ids) + " --out " + shell_quote(out) +
                           " --scan logspace");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("does not apply to a Mamba-2 model"), std::string::npos) << bad.err;
  const auto info = run_cli("info -m " + m);
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.out.find("mixer:        Mamba2"), std::string::npos) << info.out;
  const auto c = run_cli("convert -m " + m + " --out " + shell_quote((dir / "m").string()));
  ASSERT_EQ(c.status, 0) << c.err;
  const auto r = run_cli("forward -m " + shell_quote((dir / "m").string()) + " --input " + shell_quote(ids) + " --out " +
                         shell_quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_LE(max_diff(read_safetensors(out).tensors.at("logits"), exp.tensors.at("logits")), 1e-5);
}

}  // namespace
}  // namespace tinymamba
