// The world of a build without MPI: this process alone. Started by an MPI launcher as one of several processes,
// it refuses to run (each would train alone and write the same files).
#include <cstdlib>
#include <string>

#include "tinymamba/core/error.hpp"
#include "tinymamba/train/communicator.hpp"

namespace tinymamba::train {

Communicator& world() {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (size == nullptr) size = std::getenv("PMI_SIZE");
  TM_CHECK(size == nullptr || std::string(size) == "1", "started as one of ", size,
           " MPI processes, but this tinymamba was built without MPI (install libopenmpi-dev and rebuild)");
  return single_process();
}

void end_job_after_error() {}

}  // namespace tinymamba::train
