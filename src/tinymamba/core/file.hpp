// Reading and writing whole files safely: read-only mmap for big inputs, bounded reads for small ones, and
// atomic writes (temp file in the same directory, flushed and fsynced, then renamed) so that a crash or an
// interrupted save never leaves a half-written file under the final name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace tinymamba {

// A whole file mapped read-only. Empty files map to an empty span.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws Error naming the path
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  [[nodiscard]] std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// What is at `path` (symlinks followed), found without throwing. A path that cannot be examined (a symlink
// loop, a parent that is not a directory or not searchable, a name too long) is `unreadable`, with the reason in
// `*why` if given.
enum class PathKind { missing, regular, directory, other, unreadable };
[[nodiscard]] PathKind path_kind(const std::string& path, std::string* why = nullptr);

// Reads a whole (small) file; throws Error naming the path if it is missing, unreadable or larger than max_bytes.
[[nodiscard]] std::string read_text_file(const std::string& path, std::size_t max_bytes = std::size_t{64} << 20);

// Opening never blocks: a FIFO, socket or device where a file is expected is refused ("not a regular file")
// instead of waiting for a writer.

// Calls write(sink) with a sink that appends bytes to a temp file next to `path`; on success flushes, fsyncs and
// renames it to `path` (then fsyncs the directory). On any failure the temp file is removed, `path` is untouched,
// and Error is thrown naming the path.
using ByteSink = std::function<void(const void* data, std::size_t size)>;
void write_file_atomic(const std::string& path, const std::function<void(const ByteSink&)>& write);

// The first half of write_file_atomic, for saving several files that belong together: the constructor writes,
// flushes and fsyncs the temp file (throwing Error, with the temp file removed, on failure); commit() renames it
// onto `path` and fsyncs the directory. A StagedFile destroyed without commit() removes its temp file, so an
// exception between staging and committing leaves every final name untouched.
class StagedFile {
 public:
  StagedFile(const std::string& path, const std::function<void(const ByteSink&)>& write);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  void commit();

 private:
  std::string path_, tmp_;
  bool committed_ = false;
};

// Removes `path` if it exists (Error naming it on any other failure) and fsyncs its directory.
void remove_file_durably(const std::string& path);

// Test hook: when set, write_file_atomic (and StagedFile) calls it after `bytes` bytes have been written and before the rename;
// it may throw to simulate a crash mid-save.
void set_write_interrupt_for_testing(std::function<void(std::size_t bytes)> hook);

}  // namespace tinymamba
