// The processes of a data-parallel run (`mpirun -np N tinymamba train ...`) and the few collectives the trainer
// needs: in-place sums over all ranks. One implementation is compiled in: backend/communicator_mpi.cc (MPI's
// own collectives: MPI_Iallreduce, MPI_Allreduce) when CMake finds MPI, else backend/communicator_single.cc (one
// process; every sum is the identity). Nothing else in tinymamba sees MPI.
//
// Every rank must start the same sums, of the same sizes, in the same order (MPI's collective rule).
#pragma once

#include <cstdint>
#include <span>

namespace tinymamba::train {

class Communicator {
 public:
  virtual ~Communicator() = default;
  [[nodiscard]] virtual int rank() const = 0;
  [[nodiscard]] virtual int size() const = 0;
  // Starts summing data[0, n) over all ranks, in place (non-blocking). The data must not be read or written
  // until wait_sums() returns. Also lets the sums started earlier progress.
  virtual void start_sum(float* data, std::int64_t n) = 0;
  // Completes every started sum.
  virtual void wait_sums() = 0;
  // Sums over all ranks, in place, and returns when done.
  virtual void sum(std::span<double> data) = 0;
  // Returns when every rank has called it.
  virtual void barrier() = 0;
};

// This process alone: every sum over the ranks is the identity.
class SingleProcess final : public Communicator {
 public:
  [[nodiscard]] int rank() const override { return 0; }
  [[nodiscard]] int size() const override { return 1; }
  void start_sum(float*, std::int64_t) override {}
  void wait_sums() override {}
  void sum(std::span<double>) override {}
  void barrier() override {}
};

// A SingleProcess shared by whoever needs one.
[[nodiscard]] Communicator& single_process();

// This process's place in the job: the MPI world when mpirun (or another MPI launcher) started it, else a
// communicator of size 1. MPI is initialized on the first call and finalized at exit.
[[nodiscard]] Communicator& world();

// A process of a job of several ranks that cannot go on (an error) ends the whole job, so that no rank waits
// forever for it (MPI_Abort). Does nothing in a single process. Call after reporting the error.
void end_job_after_error();

}  // namespace tinymamba::train
