#include "portal/session.h"

#include <nlohmann/json.hpp>

namespace edgeidp::portal {
namespace {

using nlohmann::json;

// Bounds what a client can make us parse after a cookie opens (it opened,
// so we sealed it, but keep the parser's work small regardless).
constexpr std::size_t kMaxPlain = 8192;

std::optional<json> open_json(const config::SessionSettings &s, std::string_view cookie,
                              std::string_view aad) {
  auto plain = s.sealer.open(cookie, aad, kMaxPlain);
  if (!plain) {
    return std::nullopt;
  }
  json j = json::parse(*plain, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  return j;
}

template <class T>
bool get(const json &j, const char *key, T &out) {
  const auto it = j.find(key);
  if (it == j.end()) {
    return false;
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) {
      return false;
    }
  } else {
    if (!it->is_number_integer()) {
      return false;
    }
  }
  out = it->get<T>();
  return true;
}

}  // namespace

std::string session_cookie_name(const config::SessionSettings &s, bool https) {
  return https ? "__Host-" + s.cookie_name : s.cookie_name;
}

std::string login_cookie_name(const config::SessionSettings &s, bool https) {
  return session_cookie_name(s, https) + "_login";
}

namespace {
constexpr std::string_view kAadTag = "edgeidp/v1|";

char lower(char c) {  // host names are case-insensitive
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}
}  // namespace

std::string session_aad(std::string_view cookie_name, std::string_view host) {
  std::string aad;
  aad.reserve(kAadTag.size() + cookie_name.size() + 1 + host.size());
  aad.append(kAadTag).append(cookie_name).append("|");
  for (const char c : host) {
    aad.push_back(lower(c));
  }
  return aad;
}

bool session_aad_matches(std::string_view aad, std::string_view cookie_name,
                         std::string_view host) {
  if (aad.size() != kAadTag.size() + cookie_name.size() + 1 + host.size() ||
      aad.substr(0, kAadTag.size()) != kAadTag) {
    return false;
  }
  aad.remove_prefix(kAadTag.size());
  if (aad.substr(0, cookie_name.size()) != cookie_name || aad[cookie_name.size()] != '|') {
    return false;
  }
  aad.remove_prefix(cookie_name.size() + 1);
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (aad[i] != lower(host[i])) {
      return false;
    }
  }
  return true;
}

std::string seal_session(const config::SessionSettings &s, const Session &session,
                         std::string_view aad) {
  const json j = {{"u", session.username}, {"at", session.auth_time}, {"ls", session.last_seen}};
  return s.sealer.seal(j.dump(), aad);
}

std::optional<Session> decode_session(const config::SessionSettings &s, std::string_view cookie,
                                      std::string_view aad) {
  const auto j = open_json(s, cookie, aad);
  Session out;
  if (!j || !get(*j, "u", out.username) || !get(*j, "at", out.auth_time) ||
      !get(*j, "ls", out.last_seen) || out.username.empty()) {
    return std::nullopt;
  }
  return out;
}

bool session_current(const config::SessionSettings &s, const Session &session, std::int64_t now) {
  return now - session.auth_time < s.lifetime && now - session.last_seen < s.idle_timeout &&
         session.auth_time <= now + 60;
}

std::optional<Session> open_session(const config::SessionSettings &s, std::string_view cookie,
                                    std::string_view aad, std::int64_t now) {
  auto out = decode_session(s, cookie, aad);
  if (!out || !session_current(s, *out, now)) {
    return std::nullopt;
  }
  return out;
}

std::string seal_login_state(const config::SessionSettings &s, const LoginState &state,
                             std::string_view aad) {
  const json j = {
      {"c", state.csrf}, {"r", state.return_to}, {"e", state.expires}, {"q", state.saml_request}};
  return s.sealer.seal(j.dump(), std::string(aad) + "|login");
}

std::optional<LoginState> open_login_state(const config::SessionSettings &s,
                                           std::string_view cookie, std::string_view aad,
                                           std::int64_t now) {
  const auto j = open_json(s, cookie, std::string(aad) + "|login");
  LoginState out;
  if (!j || !get(*j, "c", out.csrf) || !get(*j, "r", out.return_to) || !get(*j, "e", out.expires) ||
      !get(*j, "q", out.saml_request) || out.expires <= now) {
    return std::nullopt;
  }
  return out;
}

}  // namespace edgeidp::portal
