// SCIM server answers: AWS-style error bodies (string status, "schema").
#include "fuzz.h"
#include "scim/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view body = as_text(data, size);
  (void)edgeidp::scim::parse_error_body(body);
  (void)edgeidp::scim::describe_failure(400, body);
  return 0;
}
