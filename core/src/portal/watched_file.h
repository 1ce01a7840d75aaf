// A value loaded from a file and reloaded when the file changes, checked at
// most once per interval. Reload errors keep the last good value (a typo in
// the directory must not log everyone out), and are reported once.
// Thread-safe: readers get a shared_ptr to an immutable value.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <sys/stat.h>

#include "common/result.h"

namespace edgeidp::portal {

template <class T>
class WatchedFile {
 public:
  using Loader = std::function<Result<std::shared_ptr<const T>>(const std::string &)>;

  WatchedFile(std::string path, Loader loader, std::int64_t interval)
      : path_(std::move(path)), loader_(std::move(loader)), interval_(interval) {}

  // load does the first load; an error here is a configuration error.
  Status load() {
    auto v = loader_(path_);
    if (!v) {
      return v.take_error();
    }
    current_ = std::move(*v);
    stamp_ = stamp();
    return {};
  }

  // get returns the current value, reloading it first if the file changed.
  // 'problem' receives a reload error, once per failed version of the file.
  std::shared_ptr<const T> get(std::int64_t now, std::string *problem = nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    if (now >= next_check_) {
      next_check_ = now + interval_;
      const Stamp s = stamp();
      if (s != stamp_) {
        stamp_ = s;
        auto v = loader_(path_);
        if (v) {
          current_ = std::move(*v);
        } else if (problem != nullptr) {
          *problem = "keeping the previous version: " + v.error().describe();
        }
      }
    }
    return current_;
  }

 private:
  struct Stamp {
    std::int64_t mtime_ns = -1;
    std::int64_t size = -1;
    std::int64_t inode = -1;
    bool operator!=(const Stamp &o) const {
      return mtime_ns != o.mtime_ns || size != o.size || inode != o.inode;
    }
  };

  Stamp stamp() const {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      return {};
    }
    return Stamp{static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                 static_cast<std::int64_t>(st.st_size), static_cast<std::int64_t>(st.st_ino)};
  }

  const std::string path_;
  const Loader loader_;
  const std::int64_t interval_;
  std::mutex mu_;
  std::shared_ptr<const T> current_;
  Stamp stamp_;
  std::int64_t next_check_ = 0;
};

}  // namespace edgeidp::portal
