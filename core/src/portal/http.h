// Small, bounded parsers for what a browser sends the portal: cookies,
// query strings and urlencoded forms. Every count and size is capped, and a
// malformed input is "not there", never a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgeidp::portal {

// cookie_value returns the value of the first cookie called 'name' in a
// Cookie header ("a=1; b=2"), or nullopt.
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name);

// without_cookies returns a Cookie header without the cookies called one
// of 'names' (what upstreams get: they have no use for the gateway's own
// cookies, and a compromised upstream must not be able to replay them), or
// nullopt when none of them is there. The result is a view into 'header'
// when the kept cookies are contiguous there (ours first or last: the
// common case), else into 'storage'.
std::optional<std::string_view> without_cookies(std::string_view header,
                                                const std::vector<std::string> &names,
                                                std::string &storage);

// percent_decode decodes %XX (and '+' as space when 'plus'); nullopt on a
// bad escape or a decoded NUL byte.
std::optional<std::string> percent_decode(std::string_view in, bool plus);

// percent_encode escapes everything but unreserved characters (RFC 3986).
std::string percent_encode(std::string_view in);

// parse_form parses "a=1&b=2" (query strings and urlencoded bodies). Fails
// (nullopt) on bad escapes, more than max_fields fields, or a repeated name
// (a second "username" could smuggle a value past a check on the first).
using Fields = std::vector<std::pair<std::string, std::string>>;
std::optional<Fields> parse_form(std::string_view in, std::size_t max_fields = 16);

const std::string *field(const Fields &fields, std::string_view name);

struct CookieOptions {
  bool secure = false;
  bool http_only = true;
  std::int64_t max_age = -1;  // -1: a browser-session cookie; 0: delete
  std::string path = "/";
};

// set_cookie builds a Set-Cookie value with SameSite=Lax.
std::string set_cookie(std::string_view name, std::string_view value, const CookieOptions &opts);

// is_api_request tells a script's request from a person's navigation:
// XHR/fetch markers, or an Accept without text/html.
bool is_api_request(std::string_view accept, std::string_view sec_fetch_mode,
                    std::string_view x_requested_with);

// same_header_name compares header names case-insensitively with '_' and
// '-' equal (nginx and CGI turn one into the other).
bool header_has_prefix(std::string_view name, std::string_view prefix);

}  // namespace edgeidp::portal
