#include "tinymamba/core/file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "tinymamba/core/error.hpp"

namespace tinymamba {
namespace {

std::string errno_text() { return std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. It changes nothing for a
// regular file, and anything else is refused right after.
Fd open_regular_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  TM_CHECK(fd.get() >= 0, path, ": cannot open: ", errno_text());
  struct stat st {};
  TM_CHECK(::fstat(fd.get(), &st) == 0, path, ": cannot stat: ", errno_text());
  TM_CHECK(S_ISREG(st.st_mode), path, ": not a regular file");
  return fd;
}

std::function<void(std::size_t)>& interrupt_hook() {
  static std::function<void(std::size_t)> hook;
  return hook;
}

std::string parent_dir(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

void fsync_dir(const std::string& dir) {
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) ::fsync(dfd.get());  // make a rename or unlink durable; best effort on odd filesystems
}

}  // namespace

PathKind path_kind(const std::string& path, std::string* why) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return PathKind::missing;
    if (why) *why = errno_text();
    return PathKind::unreadable;
  }
  if (S_ISREG(st.st_mode)) return PathKind::regular;
  if (S_ISDIR(st.st_mode)) return PathKind::directory;
  return PathKind::other;
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  Fd fd = open_regular_file(path);
  struct stat st {};
  TM_CHECK(::fstat(fd.get(), &st) == 0, path, ": cannot stat: ", errno_text());
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ == 0) return;
  data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (data_ == MAP_FAILED) {
    data_ = nullptr;
    fail(path, ": cannot map into memory: ", errno_text());
  }
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

std::string read_text_file(const std::string& path, std::size_t max_bytes) {
  Fd fd = open_regular_file(path);
  struct stat st {};
  TM_CHECK(::fstat(fd.get(), &st) == 0, path, ": cannot stat: ", errno_text());
  TM_CHECK(static_cast<std::uint64_t>(st.st_size) <= max_bytes, path, ": file is ", st.st_size,
           " bytes, more than the limit of ", max_bytes);
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = ::read(fd.get(), out.data() + done, out.size() - done);
    if (r < 0 && errno == EINTR) continue;
    TM_CHECK(r >= 0, path, ": read failed: ", errno_text());
    if (r == 0) break;  // the file shrank while we read it
    done += static_cast<std::size_t>(r);
  }
  out.resize(done);
  return out;
}

void set_write_interrupt_for_testing(std::function<void(std::size_t)> hook) { interrupt_hook() = std::move(hook); }

StagedFile::StagedFile(const std::string& path, const std::function<void(const ByteSink&)>& write) : path_(path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::random_device rd;
  std::string name = ".";  // appended piece by piece: GCC 12 warns (-Wrestrict, falsely) about "." + string
  name += target.filename().string();
  name += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
  tmp_ = (fs::path(parent_dir(path)) / name).string();
  Fd fd(::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  TM_CHECK(fd.get() >= 0, path, ": cannot create temp file ", tmp_, ": ", errno_text());
  std::size_t written = 0;
  try {
    const ByteSink sink = [&](const void* data, std::size_t size) {
      const char* p = static_cast<const char*>(data);
      while (size > 0) {
        const ssize_t r = ::write(fd.get(), p, size);
        if (r < 0 && errno == EINTR) continue;
        TM_CHECK(r > 0, path, ": write failed: ", errno_text());
        p += r;
        size -= static_cast<std::size_t>(r);
        written += static_cast<std::size_t>(r);
      }
    };
    write(sink);
    if (interrupt_hook()) interrupt_hook()(written);
    TM_CHECK(::fsync(fd.get()) == 0, path, ": fsync failed: ", errno_text());
    TM_CHECK(::close(fd.release()) == 0, path, ": close failed: ", errno_text());
  } catch (...) {
    ::unlink(tmp_.c_str());
    throw;
  }
}

StagedFile::~StagedFile() {
  if (!committed_) ::unlink(tmp_.c_str());
}

void StagedFile::commit() {
  TM_CHECK(!committed_, path_, ": committed twice");
  TM_CHECK(::rename(tmp_.c_str(), path_.c_str()) == 0, path_, ": cannot rename temp file into place: ", errno_text());
  committed_ = true;
  fsync_dir(parent_dir(path_));
}

void write_file_atomic(const std::string& path, const std::function<void(const ByteSink&)>& write) {
  StagedFile(path, write).commit();
}

void remove_file_durably(const std::string& path) {
  TM_CHECK(::unlink(path.c_str()) == 0 || errno == ENOENT, path, ": cannot remove: ", errno_text());
  fsync_dir(parent_dir(path));
}

}  // namespace tinymamba
