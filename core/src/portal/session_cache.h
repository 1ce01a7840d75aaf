// Recently opened session cookies. A browser sends the same cookie with
// every request, and opening it (base64url, AES-256-GCM, JSON) costs more
// than the rest of a protected request (tests/bench/gateway_bench.py), so
// the gateway keeps the last few it opened. Only cookies that opened are
// kept, matched on the whole cookie and its associated data (cookie name,
// host) in constant time; times, the directory and revocations are still
// checked on every request. The cache belongs to one loaded configuration,
// so a reload with other keys starts empty.
#pragma once

#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "portal/session.h"

namespace edgeidp::portal {

class SessionCache {
 public:
  // find: the session of a cookie opened before with the associated data
  // session_aad(cookie_name, host).
  std::optional<Session> find(std::string_view cookie, std::string_view cookie_name,
                              std::string_view host) const;
  void put(std::string_view cookie, std::string_view aad, const Session &session);

  // A session in use is re-sealed with a new last_seen every minute or so.
  // A client that does not store the new cookie (an API client with a
  // fixed Cookie header) would make that happen on every request, so the
  // re-sealed value is kept with the cookie it replaces: refreshed returns
  // it if it was sealed at or after 'since' (for the same name and host).
  std::optional<std::string> refreshed(std::string_view cookie, std::string_view cookie_name,
                                       std::string_view host, std::int64_t since) const;
  void put_refreshed(std::string_view cookie, std::string sealed, std::int64_t when);

 private:
  struct Entry {
    std::string cookie;
    std::string aad;
    Session session;
    std::string refreshed;  // the re-sealed cookie, if any
    std::int64_t refreshed_at = 0;
  };
  static constexpr std::size_t kSlots = 64;

  mutable std::mutex mu_;
  std::array<Entry, kSlots> slots_;
};

}  // namespace edgeidp::portal
