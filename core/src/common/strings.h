#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace edgeidp {

std::string hex_encode(std::string_view bytes);

// base64 without line breaks (RFC 4648 section 4).
std::string base64_encode(std::string_view bytes);
// base64_decode accepts RFC 4648 base64 with optional padding and ignores
// ASCII white space (SAML bindings allow line breaks); anything else fails.
Result<std::string> base64_decode(std::string_view text, std::size_t max_out);
// base64url without padding (RFC 4648 section 5), for cookies and JWS.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// html_escape makes text safe inside an HTML element or a quoted attribute.
std::string html_escape(std::string_view text);

// iso8601 formats a UTC time as SAML wants it: 2026-11-23T12:00:00Z.
std::string iso8601(std::int64_t unix_seconds);

bool is_valid_utf8(std::string_view text);

}  // namespace edgeidp
