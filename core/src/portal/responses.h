// The pieces every portal page and answer is made of. Internal to portal/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "directory/directory.h"
#include "portal/gateway.h"
#include "portal/pages.h"

namespace edgeidp::portal {

// page answers with an HTML page: never cached, never framed.
void page(Decision &d, int status, const Page &p);
// message answers with a short page: a title and one sentence.
void message(Decision &d, int status, std::string_view title, std::string_view text);
void redirect(Decision &d, const std::string &location);
// log_line sets the decision's error-log line (syslog level numbering).
void log_line(Decision &d, int level, std::string text);
// portal_path is where the portal is mounted for this location.
std::string portal_path(const config::Config &cfg, const Location &loc);
// random_token is 144 random bits, base64url; empty if the RNG failed.
std::string random_token();
// in_any: the user is in one of 'wanted' (or 'wanted' is empty).
bool in_any(const std::vector<std::string> &wanted, const directory::User &u);
// cookie_header is a Set-Cookie value: Secure over https, HttpOnly, Lax.
std::string cookie_header(const std::string &name, const std::string &value, bool https,
                          std::int64_t max_age);

}  // namespace edgeidp::portal
