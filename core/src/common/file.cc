#include "common/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace edgeidp {
namespace {

Error io_error(const std::string &path, const char *what, int err) {
  return make_error(Errc::io, path + ": " + what + ": " + std::strerror(err));
}

Result<std::string> read_fd(int fd, const std::string &path, std::size_t max_bytes) {
  std::string data;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return io_error(path, "cannot read", errno);
    }
    if (n == 0) {
      break;
    }
    if (data.size() + static_cast<std::size_t>(n) > max_bytes) {
      return make_error(Errc::limit,
                        path + ": file is larger than " + std::to_string(max_bytes) + " bytes");
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  return data;
}

Result<std::string> read_checked(const std::string &path, std::size_t max_bytes, bool secret) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return io_error(path, "cannot open", errno);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return io_error(path, "cannot stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(Errc::io, path + ": not a regular file");
  }
  if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(Errc::permission, path + ": secret file has mode " + mode +
                                            "; it must not be accessible by group or others "
                                            "(chmod 600)");
  }
  auto data = read_fd(fd, path, max_bytes);
  ::close(fd);
  return data;
}

}  // namespace

Result<std::string> read_file(const std::string &path, std::size_t max_bytes) {
  return read_checked(path, max_bytes, false);
}

Result<std::string> read_secret_file(const std::string &path, std::size_t max_bytes) {
  return read_checked(path, max_bytes, true);
}

std::string resolve_path(const std::string &base_file, const std::string &path) {
  if (path.empty() || path.front() == '/') {
    return path;
  }
  const auto slash = base_file.rfind('/');
  if (slash == std::string::npos) {
    return path;
  }
  return base_file.substr(0, slash + 1) + path;
}

Status write_file_atomic(const std::string &path, const std::string &data, unsigned mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return io_error(tmp, "cannot create", errno);
  }
  // The umask may have widened nothing, but an existing file keeps its mode.
  ::fchmod(fd, mode);
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return io_error(tmp, "cannot write", err);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error(tmp, "cannot flush", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error(path, "cannot rename into place", err);
  }
  return {};
}

}  // namespace edgeidp
