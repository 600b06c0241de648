#include "tinymamba/train/communicator.hpp"

namespace tinymamba::train {

Communicator& single_process() {
  static SingleProcess one;
  return one;
}

}  // namespace tinymamba::train
