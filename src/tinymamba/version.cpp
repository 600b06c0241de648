#include "tinymamba/tinymamba.hpp"

namespace tinymamba {

std::string_view version() { return TINYMAMBA_VERSION; }

}  // namespace tinymamba
