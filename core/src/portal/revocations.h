// "Log this user out everywhere": a file of "username unix-time" lines.
// Sessions of that user that began before that time are refused. Written
// by `edgeidp revoke`, read by the modules (reloaded when it changes).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace edgeidp::portal {

class Revocations {
 public:
  static Result<std::shared_ptr<const Revocations>> load(const std::string &path);
  static Result<std::shared_ptr<const Revocations>> parse(std::string_view text,
                                                          const std::string &origin);
  // revoked: the session of 'username' that started at auth_time is void.
  bool revoked(std::string_view username, std::int64_t auth_time) const;
  // text renders the list back (for `edgeidp revoke`).
  std::string text() const;
  void set(const std::string &username, std::int64_t not_before) {
    not_before_[username] = not_before;
  }

 private:
  std::map<std::string, std::int64_t, std::less<>> not_before_;
};

}  // namespace edgeidp::portal
