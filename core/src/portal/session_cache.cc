#include "portal/session_cache.h"

#include <cstdint>
#include <cstring>
#include <functional>

namespace edgeidp::portal {
namespace {

std::size_t slot_of(std::string_view cookie, std::size_t slots) {
  return std::hash<std::string_view>{}(cookie) % slots;
}

// Constant time in the contents (a cookie guessed byte by byte must not
// find its way in through timing), eight bytes at a time: CRYPTO_memcmp
// goes byte by byte and was the cache's largest cost.
bool same(const std::string &a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  std::uint64_t diff = 0;
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    diff |= x ^ y;
  }
  for (; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace

std::optional<Session> SessionCache::find(std::string_view cookie, std::string_view cookie_name,
                                          std::string_view host) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Entry &e = slots_[slot_of(cookie, kSlots)];
  // The associated data is no secret: only the cookie needs constant time.
  if (e.cookie.empty() || !same(e.cookie, cookie) ||
      !session_aad_matches(e.aad, cookie_name, host)) {
    return std::nullopt;
  }
  return e.session;
}

void SessionCache::put(std::string_view cookie, std::string_view aad, const Session &session) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry &e = slots_[slot_of(cookie, kSlots)];
  e.cookie.assign(cookie);
  e.aad.assign(aad);
  e.session = session;
  e.refreshed.clear();
}

std::optional<std::string> SessionCache::refreshed(std::string_view cookie,
                                                   std::string_view cookie_name,
                                                   std::string_view host,
                                                   std::int64_t since) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Entry &e = slots_[slot_of(cookie, kSlots)];
  if (e.refreshed.empty() || e.refreshed_at < since || !same(e.cookie, cookie) ||
      !session_aad_matches(e.aad, cookie_name, host)) {
    return std::nullopt;
  }
  return e.refreshed;
}

void SessionCache::put_refreshed(std::string_view cookie, std::string sealed, std::int64_t when) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry &e = slots_[slot_of(cookie, kSlots)];
  if (same(e.cookie, cookie)) {  // only next to the entry it refreshes
    e.refreshed = std::move(sealed);
    e.refreshed_at = when;
  }
}

}  // namespace edgeidp::portal
