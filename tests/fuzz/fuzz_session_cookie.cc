// Opening session, login-state cookies from a Cookie header with a fixed
// key ring (a forged cookie must never open, and nothing may crash), and
// the Cookie header for upstreams (never one of the gateway's cookies).
#include <cstdlib>
#include <string>
#include <vector>

#include "config/portal_config.h"
#include "fuzz.h"
#include "portal/http.h"
#include "portal/session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static const edgeidp::config::SessionSettings settings = [] {
    edgeidp::config::SessionSettings s;
    edgeidp::crypto::SealKey key;
    key.bytes.fill(7);
    key.id = 7;
    auto sealer = edgeidp::crypto::Sealer::make({key});
    if (sealer) {
      s.sealer = std::move(*sealer);
    }
    return s;
  }();
  const std::string_view header = as_text(data, size);
  const std::string aad = edgeidp::portal::session_aad("edgeidp", "fuzz.example");
  if (auto c = edgeidp::portal::cookie_value(header, "edgeidp")) {
    (void)edgeidp::portal::open_session(settings, *c, aad, 1800000000);
    (void)edgeidp::portal::open_login_state(settings, *c, aad, 1800000000);
  }
  (void)edgeidp::portal::open_session(settings, header, aad, 1800000000);
  // What upstreams get instead of Cookie: never one of the gateway's own.
  static const std::vector<std::string> ours = {"edgeidp", "edgeidp_login", "edgeidp_sso"};
  std::string storage;
  if (auto kept = edgeidp::portal::without_cookies(header, ours, storage)) {
    for (const auto &name : ours) {
      if (edgeidp::portal::cookie_value(*kept, name)) {
        std::abort();
      }
    }
  }
  return 0;
}
