// The world of a build without MPI: this process alone.
#include "tinymamba/train/communicator.hpp"

namespace tinymamba::train {

Communicator& world() { return single_process(); }

void end_job_after_error() {}

}  // namespace tinymamba::train
