// The communicator of an MPI build: MPI_COMM_WORLD when an MPI launcher (mpirun) started this process, else this
// process alone without initializing MPI (a plain `tinymamba train` starts no MPI runtime).
//
// Sums use MPI's own collectives with MPI_SUM: MPI_Iallreduce (non-blocking, so that a layer's gradients travel
// while the backward of the layers below runs) and MPI_Allreduce. Open MPI progresses a non-blocking collective
// only inside MPI calls, so start_sum also tests the sums in flight (MPI_Testall) — the backward calls it once
// per layer. The reduction order is MPI's; for 2 ranks each element is one addition a + b, which is commutative,
// so the result does not depend on it (docs/training.md, "Several processes").
// The C API only: the deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "tinymamba/core/error.hpp"
#include "tinymamba/train/communicator.hpp"

namespace tinymamba::train {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail("MPI: ", what, " failed: ", std::string(text, static_cast<std::size_t>(len)));
}

bool started_by_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    if (!started_by_launcher()) return;
    int provided = 0;
    // FUNNELED: only the main thread calls MPI (the OpenMP workers never do).
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    initialized_ = true;
    // Errors come back as codes (turned into Error) instead of MPI's default of aborting without a word.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiWorld() override {
    if (initialized_) MPI_Finalize();
  }
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return size_; }
  [[nodiscard]] bool initialized() const { return initialized_; }

  void start_sum(float* data, std::int64_t n) override {
    if (size_ == 1) return;
    // MPI counts are int: a larger range travels in pieces.
    constexpr std::int64_t kMaxCount = std::int64_t{1} << 30;
    for (std::int64_t at = 0; at < n; at += kMaxCount) {
      MPI_Request r;
      check(MPI_Iallreduce(MPI_IN_PLACE, data + at, static_cast<int>(std::min(kMaxCount, n - at)), MPI_FLOAT, MPI_SUM,
                           MPI_COMM_WORLD, &r),
            "MPI_Iallreduce");
      requests_.push_back(r);
    }
    int done = 0;
    check(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    if (done) requests_.clear();
  }

  void wait_sums() override {
    if (requests_.empty()) return;
    const int rc = MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    requests_.clear();
    check(rc, "MPI_Waitall");
  }

  void sum(std::span<double> data) override {
    if (size_ == 1) return;
    check(MPI_Allreduce(MPI_IN_PLACE, data.data(), static_cast<int>(data.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce");
  }

  void barrier() override {
    if (size_ > 1) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  }

 private:
  bool initialized_ = false;
  int rank_ = 0, size_ = 1;
  std::vector<MPI_Request> requests_;
};

const MpiWorld* started = nullptr;  // set once world() has run

}  // namespace

Communicator& world() {
  static MpiWorld w;
  started = &w;
  return w;
}

// Before world() no rank has entered a collective: exiting with status 1 is enough (mpirun then stops the job).
// After it, the others may be waiting in one for this rank, and MPI_Finalize could wait for them.
void end_job_after_error() {
  if (started != nullptr && started->initialized() && started->size() > 1) MPI_Abort(MPI_COMM_WORLD, 1);
}

}  // namespace tinymamba::train
