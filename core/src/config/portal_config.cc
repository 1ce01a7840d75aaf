#include "config/portal_config.h"

#include <algorithm>

#include "common/file.h"

namespace edgeidp::config {
namespace {

bool valid_cookie_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool valid_header_prefix(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

void read_session(TableReader &r, const std::string &origin, bool load_keys, SessionSettings &s) {
  const auto files = r.str_list("keys");
  if (r.ok() && files.empty()) {
    r.fail("keys",
           "needs at least one key file (make one with: edgeidp keygen --session-key "
           "FILE); the first seals new sessions, all open existing ones");
  }
  for (const auto &f : files) {
    s.key_files.push_back(resolve_path(origin, f));
  }
  s.idle_timeout = r.integer("idle_timeout", s.idle_timeout, 60, 30 * 86400);
  s.lifetime = r.integer("lifetime", s.lifetime, 60, 90 * 86400);
  s.cookie_name = r.str("cookie_name", false, s.cookie_name);
  if (r.ok() && !valid_cookie_name(s.cookie_name)) {
    r.fail("cookie_name", "expected 1 to 64 of letters, digits, '_' or '-'");
  }
  const std::string revocations = r.str("revocations");
  if (!revocations.empty()) {
    s.revocations_file = resolve_path(origin, revocations);
  }
  if (!r.ok() || !load_keys) {
    return;
  }
  std::vector<crypto::SealKey> keys;
  for (const auto &f : s.key_files) {
    auto key = crypto::load_seal_key(f);
    if (!key) {
      r.fail("keys", key.error().message);
      return;
    }
    keys.push_back(*key);
  }
  auto sealer = crypto::Sealer::make(std::move(keys));
  if (!sealer) {
    r.fail("keys", sealer.error().message);
    return;
  }
  s.sealer = std::move(*sealer);
}

}  // namespace

void read_portal_config(TableReader &top, const std::string &origin, bool load_keys,
                        PortalConfig &out) {
  if (const toml::table *t = top.table("session")) {
    TableReader r(*t, origin, "session");
    out.present = true;
    read_session(r, origin, load_keys, out.session);
    r.finish();
    top.adopt(r);
  }
  if (const toml::table *t = top.table("portal")) {
    TableReader r(*t, origin, "portal");
    auto &p = out.portal;
    p.max_failures_per_user = r.integer("max_failures_per_user", p.max_failures_per_user, 1, 1000);
    p.max_failures_per_address =
        r.integer("max_failures_per_address", p.max_failures_per_address, 1, 100000);
    p.failure_window = r.integer("failure_window", p.failure_window, 10, 86400);
    p.max_body = r.integer("max_body", p.max_body, 1024, 1 << 20);
    const std::string api = r.str("unauthenticated_api", false, "401");
    if (api != "401" && api != "redirect") {
      r.fail("unauthenticated_api", "expected \"401\" or \"redirect\"");
    }
    p.redirect_api_callers = api == "redirect";
    const std::string tmpl = r.str("login_template");
    if (!tmpl.empty()) {
      p.login_template_file = resolve_path(origin, tmpl);
      if (r.ok() && load_keys) {
        auto text = read_file(p.login_template_file, 256 * 1024);
        if (!text) {
          r.fail("login_template", text.error().message);
        } else if (text->find("{{form}}") == std::string::npos) {
          r.fail("login_template", "the template must contain {{form}} where the login form goes");
        } else {
          p.login_template = std::move(*text);
        }
      }
    }
    r.finish();
    top.adopt(r);
  }
  if (const toml::table *t = top.table("headers")) {
    TableReader r(*t, origin, "headers");
    out.headers.prefix = r.str("prefix", false, out.headers.prefix);
    if (r.ok() && !valid_header_prefix(out.headers.prefix)) {
      r.fail("prefix", "expected 1 to 64 of letters, digits or '-'");
    }
    const std::string key = r.str("jwt_key");
    out.headers.jwt_lifetime = r.integer("jwt_lifetime", out.headers.jwt_lifetime, 10, 3600);
    if (!key.empty()) {
      out.headers.jwt_key_file = resolve_path(origin, key);
      if (r.ok() && load_keys) {
        auto signer = crypto::JwsSigner::load(out.headers.jwt_key_file);
        if (!signer) {
          r.fail("jwt_key", signer.error().message);
        } else {
          out.headers.jwt_signer = std::move(*signer);
        }
      }
    }
    r.finish();
    top.adopt(r);
  }
  const auto links = top.tables("link");
  for (std::size_t i = 0; i < links.size() && top.ok(); ++i) {
    TableReader r(*links[i], origin, "link[" + std::to_string(i) + "]");
    Link l;
    l.name = r.str("name", true);
    l.display_name = r.str("display_name", false, l.name);
    l.url = r.str("url", true);
    if (r.ok() && !(l.url.rfind("https://", 0) == 0 || l.url.rfind("http://", 0) == 0 ||
                    (l.url.size() > 1 && l.url[0] == '/' && l.url[1] != '/'))) {
      r.fail("url", "expected an http(s):// URL or a path starting with one '/'");
    }
    l.groups = r.str_list("groups");
    r.finish();
    top.adopt(r);
    out.links.push_back(std::move(l));
  }
}

}  // namespace edgeidp::config
