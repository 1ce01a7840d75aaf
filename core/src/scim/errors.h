// SCIM error bodies as AWS sends them: "status" is a string, there is a
// non-standard "schema" key next to "schemas", and older responses have only
// "schema". Parsed leniently: an error body must never cause a second error.
#pragma once

#include <string>
#include <string_view>

namespace edgeidp::scim {

struct ScimError {
  int status = 0;          // from the body; 0 if absent or not a number
  std::string detail;      // human text, truncated
  std::string type;        // scimType, or AWS's exception name when present
  std::string request_id;  // exceptionRequestId, for AWS support
};

// parse_error_body reads any JSON (or non-JSON) body; unknown shapes give an
// empty ScimError.
ScimError parse_error_body(std::string_view body);

// describe_failure: "HTTP 409 (ConflictException): User already exists
// [request 1234]", for logs and the status table. The request body and
// headers are never part of it, so neither is the token.
std::string describe_failure(long http_status, std::string_view body);

}  // namespace edgeidp::scim
