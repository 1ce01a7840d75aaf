#include "config/scim_config.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/file.h"
#include "common/toml_reader.h"

namespace edgeidp::config {
namespace {

// Plain http is only for a test server on this host: a token must never
// cross a network in clear text.
bool valid_endpoint(std::string_view url) {
  const bool bad_char = std::any_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == 0x7f || c == '?' || c == '#';
  });
  if (bad_char) {
    return false;
  }
  if (url.substr(0, 8) == "https://" && url.size() > 8) {
    return true;
  }
  return url.substr(0, 17) == "http://127.0.0.1:" || url.substr(0, 17) == "http://localhost:";
}

bool valid_target_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

mapping::Template read_template(TableReader &r, std::string_view key, const char *fallback) {
  std::string text = r.str(key, false, fallback);
  auto t = mapping::Template::parse(text);
  if (!t) {
    r.fail(key, t.error().message);
    return {};
  }
  return std::move(*t);
}

// A group is rendered as a pseudo-user whose name is the group's name and
// whose only group is itself, so "{group.name}" is spelled "{user.name}"
// internally and "{group.KEY}" reads the group's own attributes.
mapping::Template read_group_template(TableReader &r, std::string_view key) {
  std::string text = r.str(key, false, "{group.name}");
  for (std::size_t at = text.find("{group.name"); at != std::string::npos;
       at = text.find("{group.name", at)) {
    const char next = at + 11 < text.size() ? text[at + 11] : '\0';
    if (next == '}' || next == '|') {
      text.replace(at, 11, "{user.name");
    }
    ++at;
  }
  auto t = mapping::Template::parse(text);
  if (!t) {
    r.fail(key, t.error().message);
    return {};
  }
  return std::move(*t);
}

// "YYYY-MM-DD" as UTC midnight.
std::int64_t parse_date(std::string_view s) {
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || std::sscanf(std::string(s).c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3 ||
      m < 1 || m > 12 || d < 1 || d > 31) {
    return 0;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

ScimTarget read_scim_target(const toml::table &table, const std::string &origin, std::size_t index,
                            const std::vector<std::string> &app_names, TableReader &parent) {
  const std::string path = "scim[" + std::to_string(index) + "]";
  TableReader r(table, origin, path);
  ScimTarget t;
  t.line = r.line();
  t.name = r.str("name", true);
  if (r.ok() && !valid_target_name(t.name)) {
    r.fail("name", "expected 1 to 64 of a-z, 0-9, '-' or '_'");
  }
  t.endpoint = r.str("endpoint", true);
  if (r.ok() && !valid_endpoint(t.endpoint)) {
    r.fail("endpoint",
           "expected an https:// URL such as https://scim.eu-west-1.amazonaws.com/TENANT/scim/v2 "
           "(plain http only to 127.0.0.1 or localhost)");
  }
  while (!t.endpoint.empty() && t.endpoint.back() == '/') {
    t.endpoint.pop_back();
  }
  if (r.node("token") != nullptr) {
    r.fail("token",
           "a token never goes in the config: put it in a mode 0600 file and set "
           "token_file");
  }
  t.token_file = resolve_path(origin, r.str("token_file", true));
  const std::string ca = r.str("ca_file");
  t.ca_file = ca.empty() ? ca : resolve_path(origin, ca);
  t.app = r.str("app");
  if (r.ok() && !t.app.empty() &&
      std::find(app_names.begin(), app_names.end(), t.app) == app_names.end()) {
    r.fail("app", "no [[app]] is named \"" + t.app + "\"");
  }
  t.filter_group = r.str("filter_group");
  t.exclude_service_accounts = r.boolean("exclude_service_accounts", true);
  const std::string deprovision = r.str("deprovision", false, "deactivate");
  if (deprovision == "deactivate") {
    t.deprovision = Deprovision::deactivate;
  } else if (deprovision == "delete") {
    t.deprovision = Deprovision::remove;
  } else {
    r.fail("deprovision", "expected \"deactivate\" or \"delete\"");
  }
  t.adopt_existing = r.boolean("adopt_existing", false);
  t.groups = r.str_list("groups");
  t.state_file =
      resolve_path(origin, r.str("state", false, "/var/lib/edgeidp/scim-" + t.name + ".db"));
  t.max_in_flight = r.integer("max_in_flight", 8, 1, 64);
  t.timeout = r.integer("timeout", 30, 1, 600);
  t.max_attempts = r.integer("max_attempts", 6, 1, 20);
  t.reconcile_interval = r.integer("reconcile_interval", 3600, 10, 7 * 86400);
  const std::string expires = r.str("token_expires");
  if (!expires.empty()) {
    t.token_expires = parse_date(expires);
    if (t.token_expires == 0) {
      r.fail("token_expires", "expected a date \"YYYY-MM-DD\" (AWS shows it next to the token)");
    }
  }

  const toml::table *user = r.table("user");
  const toml::table empty;
  TableReader u(user != nullptr ? *user : empty, origin, path + ".user");
  t.user.user_name = read_template(u, "user_name", "{user.username}");
  t.user.external_id = read_template(u, "external_id", "{user.uid}");
  t.user.display_name = read_template(u, "display_name", "{user.name}");
  t.user.given_name = read_template(u, "given_name", "{user.name|given_name}");
  t.user.family_name = read_template(u, "family_name", "{user.name|family_name}");
  t.user.email = read_template(u, "email", "{user.email}");
  t.user.locale = read_template(u, "locale", "{user.attributes.locale}");
  u.finish();
  r.adopt(u);

  const toml::table *group = r.table("group");
  TableReader g(group != nullptr ? *group : empty, origin, path + ".group");
  t.group_display_name = read_group_template(g, "display_name");
  g.finish();
  r.adopt(g);

  r.finish();
  parent.adopt(r);
  return t;
}

Result<std::string> read_scim_token(const ScimTarget &target) {
  auto text = read_secret_file(target.token_file, 64u << 10);
  if (!text) {
    Error e = text.take_error();
    e.key = "scim token_file";
    return e;
  }
  std::string token = std::move(*text);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' ||
                            token.back() == '\t')) {
    token.pop_back();
  }
  const bool printable = std::all_of(token.begin(), token.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (token.empty() || !printable) {
    return make_error(Errc::invalid,
                      target.token_file + ": expected one line holding the SCIM access token");
  }
  return token;
}

}  // namespace edgeidp::config
