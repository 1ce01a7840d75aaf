// The session cookie and the login-state cookie, sealed with the key ring.
// The identity is only the username and times: groups, email and name are
// read from the directory on every request, so a change there (a user
// removed from a group, deactivated) applies on their next request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/portal_config.h"

namespace edgeidp::portal {

struct Session {
  std::string username;
  std::int64_t auth_time = 0;  // when the password was checked
  std::int64_t last_seen = 0;  // refreshed while in use (idle timeout)
};

// Pending login: the CSRF token the form must echo, where to go after, and
// (SP-initiated SSO) the request to answer.
struct LoginState {
  std::string csrf;
  std::string return_to;
  std::int64_t expires = 0;
  std::string saml_request;  // reserved for SP-initiated SSO
};

// The cookie names: "__Host-" + name over https (the browser then insists
// on Secure, Path=/ and no Domain), the plain name over http.
std::string session_cookie_name(const config::SessionSettings &s, bool https);
std::string login_cookie_name(const config::SessionSettings &s, bool https);

// Associated data binding a sealed cookie to its purpose and host, so a
// cookie from one vhost is refused by another using the same keys.
std::string session_aad(std::string_view cookie_name, std::string_view host);
// session_aad_matches is aad == session_aad(cookie_name, host), without
// building the string (the per-request cache lookup).
bool session_aad_matches(std::string_view aad, std::string_view cookie_name, std::string_view host);

std::string seal_session(const config::SessionSettings &s, const Session &session,
                         std::string_view aad);
// decode_session opens a session cookie (any time): nullopt unless it was
// sealed by this key ring with the same associated data.
std::optional<Session> decode_session(const config::SessionSettings &s, std::string_view cookie,
                                      std::string_view aad);
// session_current: inside both the idle timeout and the absolute lifetime.
bool session_current(const config::SessionSettings &s, const Session &session, std::int64_t now);
// open_session is decode_session then session_current.
std::optional<Session> open_session(const config::SessionSettings &s, std::string_view cookie,
                                    std::string_view aad, std::int64_t now);

std::string seal_login_state(const config::SessionSettings &s, const LoginState &state,
                             std::string_view aad);
std::optional<LoginState> open_login_state(const config::SessionSettings &s,
                                           std::string_view cookie, std::string_view aad,
                                           std::int64_t now);

}  // namespace edgeidp::portal
