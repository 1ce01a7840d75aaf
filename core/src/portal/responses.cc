#include "portal/responses.h"

#include <algorithm>

#include "common/random.h"
#include "common/strings.h"
#include "portal/http.h"

namespace edgeidp::portal {

// Never cache portal pages; never let another site frame them.
void page(Decision &d, int status, const Page &p) {
  d.status = status;
  d.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  d.headers.emplace_back("Cache-Control", "no-store");
  d.headers.emplace_back("Content-Security-Policy", p.csp);
  d.headers.emplace_back("X-Frame-Options", "DENY");
  d.headers.emplace_back("X-Content-Type-Options", "nosniff");
  d.headers.emplace_back("Referrer-Policy", "same-origin");
  d.body = p.html;
}

void message(Decision &d, int status, std::string_view title, std::string_view text) {
  page(d, status, message_page(title, text));
}

void redirect(Decision &d, const std::string &location) {
  d.status = 302;
  d.headers.emplace_back("Location", location);
  d.headers.emplace_back("Cache-Control", "no-store");
}

void log_line(Decision &d, int level, std::string text) {
  d.log_level = level;
  d.log = std::move(text);
}

std::string portal_path(const config::Config &cfg, const Location &loc) {
  if (!loc.portal_path.empty()) {
    std::string p = loc.portal_path;
    while (p.size() > 1 && p.back() == '/') {
      p.pop_back();
    }
    return p;
  }
  // The path part of [idp].base_url.
  const std::string &base = cfg.idp.base_url;
  const std::size_t scheme = base.find("://");
  const std::size_t slash =
      scheme == std::string::npos ? std::string::npos : base.find('/', scheme + 3);
  return slash == std::string::npos ? std::string() : base.substr(slash);
}

std::string random_token() {
  SystemRandom rng;
  unsigned char b[18];
  if (!rng.fill(b, sizeof b)) {
    return {};
  }
  return base64url_encode(std::string_view(reinterpret_cast<char *>(b), sizeof b));
}

bool in_any(const std::vector<std::string> &wanted, const directory::User &u) {
  return wanted.empty() || std::any_of(wanted.begin(), wanted.end(), [&](const std::string &g) {
           return std::binary_search(u.groups.begin(), u.groups.end(), g);
         });
}

std::string cookie_header(const std::string &name, const std::string &value, bool https,
                          std::int64_t max_age) {
  CookieOptions o;
  o.secure = https;
  o.max_age = max_age;
  return set_cookie(name, value, o);
}

}  // namespace edgeidp::portal
