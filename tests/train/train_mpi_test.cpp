// `mpirun -np 2 tinymamba train` and `eval` as a user runs them (Open MPI on localhost): a 2-rank run computes
// bit for bit what one process computes on the same windows with the same pairwise gradient sum, resumes on
// another number of ranks, writes from rank 0 only, and eval under mpirun reports one process's numbers; a rank
// that dies ends the job, rank 0 names the last complete checkpoint, and it resumes.
// The reference is the single-process trainer, whose updates the golden tests check against PyTorch.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "run_cli.hpp"
#include "test_paths.hpp"

namespace tinymamba {
namespace {
namespace fs = std::filesystem;

using Result = test::CliResult;  // the exit status (-1 when killed by a signal), stdout, stderr
using test::slurp;

// `ranks` = 0: the program alone; else under mpirun. --oversubscribe: 2 ranks on a machine that may show fewer
// free cores; --allow-run-as-root: CI runs as root, which Open MPI refuses unless told.
Result run(const fs::path& dir, int ranks, const std::string& args) {
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  std::string cmd = "OMP_NUM_THREADS=1 ";
  if (ranks > 0)
    cmd += std::string(TINYMAMBA_MPIEXEC) + " --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) + " ";
  cmd += test::cli_path() + " " + args + " </dev/null >" + out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

// log.csv without its tok_s column (a timing), and without val_loss for a run split in two (the first part's
// last update validates on the whole split, the unsplit run on --eval-tokens).
std::string log_columns(const fs::path& file, bool with_val) {
  std::istringstream in(slurp(file));
  std::string line, kept;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    cells.resize(6);
    kept += cells[0] + "," + cells[1] + "," + (with_val ? cells[2] : "") + "," + cells[3] + "," + cells[4] + "\n";
  }
  return kept;
}

struct MpiFixture {
  fs::path dir = test::temp_dir("mpi");
  std::string data = (dir / "corpus.txt").string();
  MpiFixture() {
    std::string text;
    const char* lines[] = {"ROMEO:\nBut soft, what light through yonder window breaks?\n",
                           "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n", "\n"};
    for (int i = 0; i < 60; ++i) text += lines[i % 3];
    std::ofstream(data, std::ios::binary) << text;
  }
  ~MpiFixture() { fs::remove_all(dir); }
  // The run's flags but the batch shape and the step count.
  [[nodiscard]] std::string train(const std::string& out, const std::string& extra) const {
    return "train --data " + data + " --bytes --config tiny --seq-len 24 --lr 3e-3 --warmup 1 --seed 3 --threads 1 "
           "--schedule-steps 4 --eval-every 2 --eval-tokens 64 --quiet --out " + (dir / out).string() + " " + extra;
  }
  void expect_same_run(const std::string& a, const std::string& b, bool split = false) const {
    for (const char* file : {"model.safetensors", "optimizer.safetensors"})
      EXPECT_TRUE(slurp(dir / a / file) == slurp(dir / b / file)) << file << " of " << a << " and " << b << " differ";
    EXPECT_EQ(log_columns(dir / a / "log.csv", !split), log_columns(dir / b / "log.csv", !split));
  }
};

TEST(TrainMpi, TwoRanksEqualOneProcessBitForBitAndResumeOnAnyNumberOfRanks) {
  if (std::string(TINYMAMBA_MPIEXEC).empty()) GTEST_SKIP() << "built without MPI";
  MpiFixture f;
  // The reference: one process, micro-batches of 2 windows, 4 per update (summed pairwise: (g0+g1)+(g2+g3)).
  ASSERT_EQ(run(f.dir, 0, f.train("one", "--steps 4 --batch 2 --accum 4")).status, 0);
  // 2 ranks, --batch 4 (the global micro-batch, 2 windows each) x --accum 2: rank 0 sums g0+g1, rank 1 g2+g3, and
  // the all-reduce adds the two. Twice, to see it is the same from run to run.
  for (const char* out : {"two", "two-again"}) {
    const Result r = run(f.dir, 2, f.train(out, "--steps 4 --batch 4 --accum 2"));
    ASSERT_EQ(r.status, 0) << r.err;
    // Rank 0 alone reports.
    EXPECT_EQ(r.out.find("trained to step 4"), r.out.rfind("trained to step 4")) << r.out;
    EXPECT_NE(r.out.find("2 processes"), std::string::npos) << r.out;
    f.expect_same_run("one", out);
  }

  // Two updates on 2 ranks, resumed alone to four with the command line the run was started with (--config
  // included) and the single-process shape of the same windows.
  ASSERT_EQ(run(f.dir, 2, f.train("split", "--steps 2 --batch 4 --accum 2")).status, 0);
  const Result resumed = run(f.dir, 0, f.train("split", "--steps 4 --batch 2 --accum 4 --resume " +
                                                            (f.dir / "split").string()));
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  f.expect_same_run("one", "split", /*split=*/true);
  // And the other way: one process first, 2 ranks after.
  ASSERT_EQ(run(f.dir, 0, f.train("split2", "--steps 2 --batch 2 --accum 4")).status, 0);
  ASSERT_EQ(run(f.dir, 2, "train --quiet --steps 4 --batch 4 --accum 2 --threads 1 --resume " +
                              (f.dir / "split2").string()).status, 0);
  f.expect_same_run("one", "split2", /*split=*/true);

  // A --batch the ranks cannot share is an error naming it.
  const Result odd = run(f.dir, 2, f.train("odd", "--steps 1 --batch 3"));
  EXPECT_NE(odd.status, 0);
  EXPECT_NE(odd.err.find("--batch = 3 must be a multiple of the number of processes (2)"), std::string::npos) << odd.err;
  EXPECT_FALSE(fs::exists(f.dir / "odd" / "model.safetensors"));

  // eval under mpirun shares out the batches and reports exactly one process's numbers.
  const std::string eval = "eval -m " + (f.dir / "one").string() + " --data " + f.data + " --json --seq-len 32 --batch 2 --threads 1";
  const Result e1 = run(f.dir, 0, eval), e2 = run(f.dir, 2, eval);
  ASSERT_EQ(e1.status, 0) << e1.err;
  ASSERT_EQ(e2.status, 0) << e2.err;
  EXPECT_EQ(nlohmann::json::parse(e1.out), nlohmann::json::parse(e2.out)) << e1.out << e2.out;
}

// Waits up to a minute for `done`.
bool wait_for(const std::function<bool()>& done) {
  for (int i = 0; i < 600; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// The child of `parent` whose environment says it is MPI rank `rank` (Open MPI: OMPI_COMM_WORLD_RANK), or -1.
pid_t rank_process(pid_t parent, int rank) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::istringstream stat(slurp(entry.path() / "stat"));
    std::string pid, comm, state;
    pid_t ppid = 0;
    stat >> pid >> comm >> state >> ppid;
    if (ppid != parent) continue;
    const std::string env = slurp(entry.path() / "environ");
    if (env.find(std::string("OMPI_COMM_WORLD_RANK=") + std::to_string(rank) + '\0') != std::string::npos)
      return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}

TEST(TrainMpi, ARankThatDiesEndsTheJobAndRankZeroNamesTheCheckpointToResume) {
  if (std::string(TINYMAMBA_MPIEXEC).empty()) GTEST_SKIP() << "built without MPI";
  MpiFixture f;
  // A long run that saves after every update, in the background (its mpirun's pid, then its exit status, in files).
  const fs::path pid_file = f.dir / "pid", rc_file = f.dir / "rc", err = f.dir / "err.txt";
  const std::string job = "OMP_NUM_THREADS=1 " + std::string(TINYMAMBA_MPIEXEC) +
                          " --allow-run-as-root --oversubscribe -np 2 " + test::cli_path() + " " +
                          f.train("run", "--steps 1000000 --batch 4 --save-every 1") + " </dev/null >/dev/null 2>" +
                          err.string();
  ASSERT_EQ(std::system(("(" + job + " & echo $! >" + pid_file.string() + "; wait $!; echo $? >" + rc_file.string() +
                         ") &").c_str()),
            0);
  ASSERT_TRUE(wait_for([&] { return fs::exists(pid_file) && fs::exists(f.dir / "run" / "trainer_state.json"); }))
      << "no checkpoint: " << slurp(err);
  const pid_t mpirun = static_cast<pid_t>(std::stol(slurp(pid_file)));
  const pid_t rank1 = rank_process(mpirun, 1);
  if (rank1 < 0) ::kill(mpirun, SIGTERM);
  ASSERT_GT(rank1, 0) << "rank 1 of mpirun " << mpirun << " not found";
  ASSERT_EQ(::kill(rank1, SIGKILL), 0);
  ASSERT_TRUE(wait_for([&] { return fs::exists(rc_file) && !slurp(rc_file).empty(); })) << "the job did not end";
  EXPECT_NE(std::stoi(slurp(rc_file)), 0);
  const std::string message = slurp(err);
  EXPECT_NE(message.find("tinymamba train: error: mpirun stopped the job"), std::string::npos) << message;
  EXPECT_NE(message.find("continue with --resume " + (f.dir / "run").string()), std::string::npos) << message;

  // The checkpoint it names is complete: it resumes (here on one process) for two more updates.
  const auto saved = nlohmann::json::parse(slurp(f.dir / "run" / "trainer_state.json"));
  const std::int64_t step = saved.at("step");
  // (The step it names is this one, or the one before should the stop land between a save and its report.)
  EXPECT_NE(message.find("The last checkpoint, step "), std::string::npos) << message;
  const Result resumed = run(f.dir, 0, "train --quiet --threads 1 --resume " + (f.dir / "run").string() +
                                           " --steps " + std::to_string(step + 2));
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("trained to step " + std::to_string(step + 2)), std::string::npos) << resumed.out;
}

}  // namespace
}  // namespace tinymamba
